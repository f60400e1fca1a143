#!/usr/bin/env bash
# Installs the pinned tools that tests and `make dev` need into .tools/ (idempotent).
# Only the Go module proxy and the npm registry are used; python-tools only checks.
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
  python-tools)
    # make validate: cfn-lint and aws-sam-translator, Python packages that come with the machine
    # image's python3. Neither is in Debian 12's apt (checked: no cfn-lint, python3-cfnlint or
    # samtranslator package), and PyPI is not an allowed source here, so a missing one fails with
    # what to install rather than a skip.
    if ! command -v cfn-lint >/dev/null || ! python3 -c 'import cfnlint, samtranslator' 2>/dev/null; then
      echo "tools: make validate needs cfn-lint (>= 1.51) and aws-sam-translator (>= 1.110) for python3;" >&2
      echo "tools: install them with: python3 -m pip install 'cfn-lint>=1.51' 'aws-sam-translator>=1.110'" >&2
      exit 1
    fi ;;
  *) echo "usage: tools.sh [all|staticcheck|python-tools]" >&2; exit 2 ;;
esac
