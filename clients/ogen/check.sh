#!/usr/bin/env bash
# Proves openapi.yaml serves ogen with its default settings: generates a Go
# client with ogen (pinned in go.mod) into a temporary copy of this module,
# fails on any generator warning, builds main.go against
# the client, and runs it against a fresh zest-api server (its own SQLite
# database and tenant).
#
#   clients/ogen/check.sh PATH_TO_ZEST_API_BINARY
set -euo pipefail

if [[ $# -ne 1 || ! -x "$1" ]]; then
  echo "usage: $0 PATH_TO_ZEST_API_BINARY" >&2
  exit 2
fi
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SPEC=$HERE/../../openapi.yaml

TMP=$(mktemp -d)
SERVER_PID=
cleanup() {
  if [[ -n "$SERVER_PID" ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

cp "$HERE/go.mod" "$HERE/go.sum" "$HERE/main.go" "$TMP/"
cd "$TMP"
echo "== ogen $(go list -m -f '{{.Version}}' github.com/ogen-go/ogen) ../../openapi.yaml -> api/"
go tool ogen -package api -target api -clean "$SPEC" 2>ogen.log || {
  cat ogen.log >&2
  exit 1
}
if grep -E '^(WARN|ERROR)' ogen.log; then
  echo "check.sh: ogen warned about openapi.yaml (above)" >&2
  exit 1
fi
echo "== go build"
go build -o check .

. "$HERE/../serve.sh"

echo "== ./check against $ADDR"
status=0
ZEST_URL="http://$ADDR" ZEST_TOKEN="$TOKEN" ./check || status=$?
if [[ $status -ne 0 ]]; then
  echo "--- server log" >&2
  cat "$TMP/server.log" >&2
fi
exit "$status"
