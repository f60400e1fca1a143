// Package wirewebhook builds IngestWebhookFunction (webhook.Ingest) from its configuration (see
// package wiring).
package wirewebhook
