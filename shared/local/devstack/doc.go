// Package devstack is the whole wcbridge stack on one machine, with no AWS account and no Docker:
// what `make dev` runs (scripts/dev) and what the stack's tests and the end-to-end suite start in
// process, on free ports.
//
// Start brings up, on loopback:
//
//   - the functions of template.yaml, each built by the same builder its functions/<name>/main.go
//     calls (registry.go), from the same configuration loader as in AWS (config.FromMap over Env);
//   - the REST API (apigateway.Gateway) with the template's routes, SigV4 checked on the AWS_IAM
//     routes against one local access key, and Lambda's Invoke API (apigateway.InvokeAPI);
//   - the bus, captured in memory (eventbus) and listed at GET /_local/bus on the API port, with the
//     template's EventBridge rules evaluated on it (rules: the workflows that parameter overrides
//     turn on, their functions invoked in process, their queues at GET /_local/queues);
//   - the WhatConverts simulator (wcsim.NewSeeded: profiles 1001 and 1002), whose webhooks go to the
//     local ingest route, unless a real WhatConverts is configured;
//   - the audit table (table.Create) and a symmetric data key and an HMAC digest key, in whatever
//     DynamoDB and KMS the endpoints name (dynalite and local-kms under `make dev`);
//   - with a Logs endpoint (moto under `make dev` and `make test`), every function's log group: what
//     a function logs goes to stderr as before and also, line by line, to its own group there (see
//     "Logs" below);
//   - the template's rate() schedules (PublishOutboxFunction every minute), run in process so the
//     outbox drains locally as it does in AWS. cron() schedules (the daily report) are not run:
//     invoke them.
//
// StartBackends is the part without the functions (table, keys, simulator, bus) and Env the
// environment a function gets: the end-to-end suite runs the real bootstrap binaries under the Lambda
// runtime interface emulator against them, with exactly the variables the in-process stack loads.
//
// # One configuration path
//
// A function's environment is the template's Environment.Variables for it (values only a deployment
// knows, such as a key ARN, come out as "") overlaid with the local values, but only for variables
// the template gives that function: a function the template forgets to give EVENT_BUS_NAME fails
// here as it would in AWS. Secrets swap their Secrets Manager ARN for the local variable that
// config.Secret reads instead (WCBRIDGE_WEBHOOK_TOKENS, WHATCONVERTS_CREDENTIALS). Endpoints
// (DYNAMODB_ENDPOINT, KMS_ENDPOINT, S3_ENDPOINT, LOGS_ENDPOINT, EVENTBRIDGE_ENDPOINT) and AWS_REGION
// are set for every function, as Lambda sets its reserved variables.
//
// # Logs
//
// In AWS, Lambda delivers each function's output to its log group, where the verifier reads the
// audit writers' "audit record stored" lines back (shared/writelog). The stack plays that part
// (shared/local/logship): each function's logger, wiring.Logger's JSON lines, also writes each line
// synchronously to the group /aws/lambda/local-<LogicalID> (Options.LogGroupPrefix), a new stream
// per start; LogDelivery does the same for output captured elsewhere (the end-to-end suite's
// emulated processes). AUDIT_WRITER_LOG_GROUPS, which the template builds from !Refs of the writers'
// log groups, becomes the local groups of the functions whose LoggingConfig names those groups
// (WriterLogGroups), and `make verify-audit` gives the verifier the same list when LOGS_ENDPOINT is
// set.
//
// Nothing here logs a request, a payload or a lead: the local routes answer with IDs and statuses.
// The start-up banner prints the default credentials whole and any the user supplied (webhook
// tokens, the local access key) by their first four characters only.
package devstack
