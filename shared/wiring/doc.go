// Package wiring is what every function's cold start shares: the configuration, the logger, secrets
// and the envelope encryptor. Its subpackages build each function's handler from configuration,
// once per cold start, reading the settings and secrets it needs and building only the AWS clients
// it uses: wirewebhook, wireactions and wirereport, one per handler package, so that a function
// links (and initialises) only its own.
//
// The builders are a package, not code in each main, because the local stack (shared/local/devstack)
// must build every function exactly as Lambda does: functions/<name>/main.go and the stack's registry
// call the same builder. Handler packages take their dependencies and never read the environment or
// a secret; only config and these packages do. A main is two lines:
//
//	h := wiring.Must(wirewebhook.IngestWebhook(wiring.ColdStart()))
//	lambda.Start(h.Handle)
package wiring
