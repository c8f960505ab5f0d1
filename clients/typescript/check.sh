#!/usr/bin/env bash
# Proves openapi.yaml serves client generators other than ours: generates
# TypeScript types from it with openapi-typescript, type-checks and builds an
# openapi-fetch program against them, and runs it against a fresh zest-api
# server (its own SQLite database, tenant, signing key and SPV). The program
# authenticates with an access token it gets for a JWT it signs (RFC 7523).
#
#   clients/typescript/check.sh PATH_TO_ZEST_API_BINARY
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 PATH_TO_ZEST_API_BINARY" >&2
  exit 2
fi
if [[ ! -f "$1" || ! -x "$1" ]]; then
  echo "check.sh: $1 is not an executable file" >&2
  exit 2
fi
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
cd "$(dirname "${BASH_SOURCE[0]}")"

echo "== npm ci"
npm ci --no-audit --no-fund --loglevel=error >/dev/null
echo "== openapi-typescript ../../openapi.yaml -> src/schema.d.ts"
npx --no-install openapi-typescript ../../openapi.yaml --output src/schema.d.ts
echo "== tsc --noEmit (strict)"
npx --no-install tsc --noEmit
echo "== tsc (build to dist/)"
rm -rf dist
npx --no-install tsc

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

. ../serve.sh
echo "   serving on $ADDR"

echo "== node dist/check.js"
status=0
ZEST_URL="http://$ADDR" ZEST_CLIENT_ID="$CLIENT_ID" ZEST_KID="$KID" ZEST_PRIVATE_KEY="$PRIVATE_KEY" \
  ZEST_SPV_SLUG="$SPV_SLUG" ZEST_SHARE_CLASS="$SHARE_CLASS" ZEST_CURRENCY="$CURRENCY" \
  node dist/check.js || status=$?
if [[ $status -ne 0 ]]; then
  echo "--- server log" >&2
  cat "$TMP/server.log" >&2
fi
exit "$status"
