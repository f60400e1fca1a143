// Package e2e is the end-to-end suite: what ships is what is tested. It builds every function's
// bootstrap exactly as `make build` does (static, -tags lambda.norpc, -trimpath, stripped), for the
// host's architecture so that it runs here, and runs each one under the Lambda runtime interface
// emulator (aws-lambda-rie, $WCBRIDGE_RIE, set by scripts/with-services.sh), invoked with the sample
// events of events/ against dynalite, local-kms, the WhatConverts simulator and the local bus
// (shared/local/devstack's backends), with the environment the local stack gives that function.
//
// Without WCBRIDGE_RIE (or the services) the suite skips with the reason; under CI=true it fails.
package e2e
