// Package secrets reads the secrets a function's cold start needs (config.Secret chooses where
// from): from Secrets Manager when the secret's ARN variable is set, else from its local variable.
//
// It is a package of its own so that only the functions that read a secret (the webhook's ingest,
// the actions, the daily report) link the Secrets Manager client: every SDK service package a
// binary imports costs its size and its package initialisation at every cold start.
package secrets
