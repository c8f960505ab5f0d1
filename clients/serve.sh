# Sourced by the client checks: creates a tenant on a fresh SQLite file in
# $TMP and starts $BIN serve on a free port, setting TOKEN, SERVER_PID and
# ADDR. The caller's EXIT trap stops the server.
export DATABASE_URL="sqlite:$TMP/zest.db"
echo "== zest-api tenants create acme"
TOKEN=$("$BIN" tenants create acme 2>"$TMP/tenants.log") || {
  echo "check.sh: tenants create failed:" >&2
  cat "$TMP/tenants.log" >&2
  exit 1
}

echo "== zest-api serve"
ZEST_ADDR=127.0.0.1:0 "$BIN" serve 2>"$TMP/server.log" >/dev/null &
SERVER_PID=$!

ADDR=
for _ in $(seq 150); do # 15 s
  ADDR=$(sed -n 's/.*"msg":"serving".*"addr":"\([^"]*\)".*/\1/p' "$TMP/server.log" | head -n 1)
  [[ -n "$ADDR" ]] && break
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "check.sh: the server exited before serving:" >&2
    cat "$TMP/server.log" >&2
    exit 1
  fi
  sleep 0.1
done
if [[ -z "$ADDR" ]]; then
  echo "check.sh: no 'serving' log line within 15 s:" >&2
  cat "$TMP/server.log" >&2
  exit 1
fi
