// Package wiring is what every function's cold start shares: the configuration, the logger, and the
// clients every function uses (the table's DynamoDB, KMS, the envelope encryptor and the record
// tagger). Its subpackages build each function's handler from configuration, once per cold start,
// reading the settings and secrets it needs and building only the AWS clients it uses.
//
// Each function links only the SDK service packages it calls, because each one costs its binary
// hundreds of KB and its cold start the package's initialisation: the builders are split so that no
// function imports a builder that needs another service (wirewebhook, wireoutbox and wiresamples for
// package webhook's three functions; wireactions; wirereport and wiregetreport; wirereplay;
// wireaudit, the one that links S3), clients other than DynamoDB and KMS are built where they are
// used, and a secret is read through package secrets, the one that links Secrets Manager. The access
// policy (shared/access: Cedar, and the parameters it is read from) is linked by the IAM routes only,
// whose builders start through wireiam (wireactions, whose settings and secret come first, on its own).
//
// The builders are a package, not code in each main, because the local stack (shared/local/devstack)
// must build every function exactly as Lambda does: functions/<name>/main.go and the stack's registry
// call the same builder. Handler packages take their dependencies and never read the environment or
// a secret; only config and these packages do. A main is two lines:
//
//	h := wiring.Must(wirewebhook.IngestWebhook(wiring.ColdStart()))
//	lambda.Start(h.Handle)
package wiring
