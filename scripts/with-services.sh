#!/usr/bin/env bash
# Runs a command with the local test services up on loopback, then stops them:
#   dynalite (DynamoDB API)  -> DYNAMODB_ENDPOINT
#   local-kms (KMS API)      -> KMS_ENDPOINT
#   moto_server (S3 API)     -> S3_ENDPOINT: the audit digest anchor, with Object Lock (python3's moto,
#                               MOTO_VERSION below; skipped with a notice when it is missing)
#   the same moto_server     -> LOGS_ENDPOINT: CloudWatch Logs, where Lambda delivers the writers'
#                               "audit record stored" lines
# Also exports WCBRIDGE_RIE (the Lambda runtime interface emulator) for the end-to-end tests.
# Usage: scripts/with-services.sh go test ./...
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/tools.sh" all

DYNAMODB_PORT=${DYNAMODB_PORT:-18000}
KMS_PORT=${KMS_PORT:-18001}
S3_PORT=${S3_PORT:-$((DYNAMODB_PORT + 2))}
MOTO_VERSION=5.2.1 # the S3 server the tests were checked against: refuses to delete a locked version
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

for p in "$DYNAMODB_PORT" "$KMS_PORT" "$S3_PORT"; do
  port_free "$p" || { echo "services: port $p is in use (set DYNAMODB_PORT / KMS_PORT / S3_PORT)" >&2; exit 1; }
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

if have=$(python3 -c 'import moto; print(moto.__version__)' 2>/dev/null) && [[ "$have" == "$MOTO_VERSION" ]]; then
  python3 -m moto.server -H 127.0.0.1 -p "$S3_PORT" >"$state/moto.log" 2>&1 &
  pids+=($!)
  wait_port moto_server "$S3_PORT" "${pids[-1]}" "$state/moto.log"
  export S3_ENDPOINT="http://127.0.0.1:$S3_PORT" LOGS_ENDPOINT="http://127.0.0.1:$S3_PORT"
else
  echo "services: moto $MOTO_VERSION not in python3 (found: ${have:-none}); S3 tests will skip (pip install moto[server]==$MOTO_VERSION)" >&2
fi

export DYNAMODB_ENDPOINT="http://127.0.0.1:$DYNAMODB_PORT"
export KMS_ENDPOINT="http://127.0.0.1:$KMS_PORT"
export WCBRIDGE_RIE="$root/.tools/bin/aws-lambda-rie"
export AWS_REGION=${AWS_REGION:-us-east-1}
echo "services: dynalite on $DYNAMODB_ENDPOINT, local-kms on $KMS_ENDPOINT, S3 on ${S3_ENDPOINT:-(none)}" >&2
"$@"
