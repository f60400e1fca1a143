#!/usr/bin/env bash
# Installs the pinned tools that tests and `make dev` need into .tools/ (idempotent).
# Only the Go module proxy and the npm registry are used.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.tools/bin"
mkdir -p "$bin"

# Pinned versions: change them here and nowhere else.
LOCAL_KMS="github.com/nsmithuk/local-kms@v0.0.0-20260228092603-2a5e92d09ab6"
RIE="github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d"
STATICCHECK="honnef.co/go/tools/cmd/staticcheck@v0.8.2"

install_go_tool() { # name module@version
  local name=$1 mod=$2 stamp="$bin/.$1.version"
  if [[ -x "$bin/$name" && -f "$stamp" && "$(cat "$stamp")" == "$mod" ]]; then return 0; fi
  echo "tools: installing $name ($mod)" >&2
  GOBIN="$bin" go install "$mod"
  echo "$mod" >"$stamp"
}

case "${1:-all}" in
  all)
    install_go_tool local-kms "$LOCAL_KMS"
    install_go_tool aws-lambda-rie "$RIE"
    if [[ ! -d "$root/scripts/node_modules/dynalite" ]]; then
      echo "tools: installing dynalite (npm ci)" >&2
      (cd "$root/scripts" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    fi
    ;;
  staticcheck)
    # make lint fails when it cannot install.
    install_go_tool staticcheck "$STATICCHECK" ;;
  *) echo "usage: tools.sh [all|staticcheck]" >&2; exit 2 ;;
esac
