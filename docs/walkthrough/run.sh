#!/usr/bin/env bash
# Runs the README's Walkthrough as written: starts `zest-api serve --demo`
# on a fresh SQLite file in a temporary directory (as `make run` does, with
# the binary at ./bin/zest-api there), sets TOKEN from what it prints, then
# runs each ```sh block of the section in order, in one shell, so that
# variables such as ID carry over. A block passes if it exits 0 and every
# HTTP answer it received is 2xx.
#
# The one change to the blocks: the server listens on a free port, which
# replaces 127.0.0.1:8080, so that a server already there does not matter.
#
#   docs/walkthrough/run.sh PATH_TO_ZEST_API_BINARY
set -euo pipefail

if [[ $# -ne 1 || ! -x "$1" ]]; then
  echo "usage: $0 PATH_TO_ZEST_API_BINARY" >&2
  exit 2
fi
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
README=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/README.md
command -v jq >/dev/null || { echo "run.sh: the walkthrough needs jq" >&2; exit 2; }

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
mkdir "$TMP/bin" "$TMP/blocks"
ln -s "$BIN" "$TMP/bin/zest-api"
cd "$TMP"

# The ```sh blocks between "## Walkthrough" and the next "## " heading, one
# file each.
awk -v dir="$TMP/blocks" '
  /^## / { inside = ($0 == "## Walkthrough") }
  inside && /^```sh$/ { n++; file = sprintf("%s/%02d.sh", dir, n); block = 1; next }
  block && /^```$/ { block = 0; close(file); next }
  block { print > file }
' "$README"
blocks=("$TMP"/blocks/*.sh)
[[ -e "${blocks[0]}" ]] || { echo "run.sh: no sh blocks under ## Walkthrough in $README" >&2; exit 1; }

# As `make run` does, on ./zest.db.
DATABASE_URL= ZEST_ADDR=127.0.0.1:0 ./bin/zest-api serve --demo >serve.out 2>serve.log &
SERVER_PID=$!
ADDR=
for _ in $(seq 150); do # 15 s
  ADDR=$(sed -n 's/.*"msg":"serving".*"addr":"\([^"]*\)".*/\1/p' serve.log | head -n 1)
  [[ -n "$ADDR" ]] && break
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.1
done
if [[ -z "$ADDR" ]]; then
  echo "run.sh: the server did not start:" >&2
  cat serve.out serve.log >&2
  exit 1
fi
TOKEN=$(sed -n 's/^  \(zest_[A-Za-z0-9_]*\)$/\1/p' serve.out | head -n 1)
[[ -n "$TOKEN" ]] || { echo "run.sh: no token in the output of serve --demo:" >&2; cat serve.out >&2; exit 1; }

# One shell runs every block, so that variables such as ID carry over; each
# curl also writes its status code to codes, which end_block checks.
{
  cat <<PRELUDE
set -euo pipefail
TOKEN='$TOKEN'
curl() { command curl --write-out '%{stderr}%{http_code}\n' "\$@" 2>>"$TMP/codes"; }
begin_block() { : >"$TMP/codes"; echo "== README walkthrough, block \$1"; }
end_block() {
  if grep -qv '^2[0-9][0-9]\$' "$TMP/codes"; then
    echo "run.sh: block \$1 received an answer other than 2xx (status codes: \$(tr '\n' ' ' <"$TMP/codes"))" >&2
    exit 1
  fi
  echo
}
PRELUDE
  for block in "${blocks[@]}"; do
    n=$(basename "$block" .sh)
    echo "begin_block $n"
    sed "s#127\.0\.0\.1:8080#$ADDR#g" "$block"
    echo "end_block $n"
  done
} >walkthrough.sh

status=0
bash walkthrough.sh || status=$?
if [[ $status -ne 0 ]]; then
  echo "run.sh: the walkthrough failed (the block above); server log:" >&2
  cat serve.log >&2
  exit "$status"
fi
echo "run.sh: all ${#blocks[@]} blocks of the README walkthrough answered 2xx"
