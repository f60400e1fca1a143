#!/usr/bin/env bash
# Runs a command with the local test services up on loopback, then stops them:
#   dynalite (DynamoDB API)  -> DYNAMODB_ENDPOINT
#   local-kms (KMS API)      -> KMS_ENDPOINT
# Also exports WCBRIDGE_RIE (the Lambda runtime interface emulator) for the end-to-end tests.
# Usage: scripts/with-services.sh go test ./...
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/tools.sh" all

DYNAMODB_PORT=${DYNAMODB_PORT:-18000}
KMS_PORT=${KMS_PORT:-18001}
state=$(mktemp -d "${TMPDIR:-/tmp}/wcbridge-services.XXXXXX")
pids=()

stop() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$state"
}
trap stop EXIT INT TERM

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # name port pid log
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; then return 0; fi
    if ! kill -0 "$3" 2>/dev/null; then echo "services: $1 exited at start; its log:" >&2; cat "$4" >&2; return 1; fi
    sleep 0.1
  done
  echo "services: $1 not listening on 127.0.0.1:$2 after 10 s; its log:" >&2; cat "$4" >&2; return 1
}

for p in "$DYNAMODB_PORT" "$KMS_PORT"; do
  port_free "$p" || { echo "services: port $p is in use (set DYNAMODB_PORT / KMS_PORT)" >&2; exit 1; }
done

node "$root/scripts/node_modules/dynalite/cli.js" --host 127.0.0.1 --port "$DYNAMODB_PORT" \
  --createTableMs 0 --deleteTableMs 0 --updateTableMs 0 \
  >"$state/dynalite.log" 2>&1 &
pids+=($!)
wait_port dynalite "$DYNAMODB_PORT" "${pids[-1]}" "$state/dynalite.log"

mkdir -p "$state/kms"
PORT=$KMS_PORT KMS_DATA_PATH="$state/kms" KMS_REGION=us-east-1 KMS_ACCOUNT_ID=111122223333 \
  KMS_SEED_PATH="$state/kms/none.yaml" "$root/.tools/bin/local-kms" >"$state/local-kms.log" 2>&1 &
pids+=($!)
wait_port local-kms "$KMS_PORT" "${pids[-1]}" "$state/local-kms.log"

export DYNAMODB_ENDPOINT="http://127.0.0.1:$DYNAMODB_PORT"
export KMS_ENDPOINT="http://127.0.0.1:$KMS_PORT"
export WCBRIDGE_RIE="$root/.tools/bin/aws-lambda-rie"
export AWS_REGION=${AWS_REGION:-us-east-1}
echo "services: dynalite on $DYNAMODB_ENDPOINT, local-kms on $KMS_ENDPOINT" >&2
"$@"
