# Sourced by the client checks: creates a tenant on a fresh SQLite file in
# $TMP, provisions what a partner is given (an Ed25519 key registered for the
# tenant, an SPV with a share class), and starts $BIN serve on a free port.
# It sets:
#   ADDR, SERVER_PID  the server (the caller's EXIT trap stops it)
#   TOKEN             the tenant's static token (development only)
#   CLIENT_ID, KID, PRIVATE_KEY
#                     the tenant's client id, and the id and PEM file
#                     (PKCS #8) of the key that signs its token assertions,
#                     which name http://$ADDR/v1/oauth2/tokens as their aud
#   SPV_SLUG, SHARE_CLASS, CURRENCY
#                     the SPV the tenant's investors may subscribe to
export DATABASE_URL="sqlite:$TMP/zest.db"
CLIENT_ID=acme
KID=acme-check-1
PRIVATE_KEY=$TMP/keys/private.pem
SPV_SLUG=acme-growth-i
SHARE_CLASS=class-a
CURRENCY=USD

# provision NAME COMMAND...: runs an operator command, its output in $TMP/NAME.log.
provision() {
  local name=$1
  shift
  echo "== zest-api $*"
  "$BIN" "$@" >"$TMP/$name.log" 2>&1 || {
    echo "check.sh: zest-api $* failed:" >&2
    cat "$TMP/$name.log" >&2
    exit 1
  }
}

echo "== zest-api tenants create $CLIENT_ID"
TOKEN=$("$BIN" tenants create "$CLIENT_ID" 2>"$TMP/tenants.log") || {
  echo "check.sh: tenants create failed:" >&2
  cat "$TMP/tenants.log" >&2
  exit 1
}
provision keys-generate keys generate --out "$TMP/keys"
provision keys-add keys add "$CLIENT_ID" --kid "$KID" --public-key "$TMP/keys/public.pem"
provision spvs-create spvs create "$CLIENT_ID" "$SPV_SLUG" --name "Acme Growth I" --currency "$CURRENCY" \
  --share-class "$SHARE_CLASS=Class A" --min-amount 1000.00

echo "== zest-api serve"
# Unset, the token endpoint's audience is the origin the client reached,
# http://$ADDR/v1/oauth2/tokens; a caller's own settings must not move it.
ZEST_ADDR=127.0.0.1:0 env -u ZEST_PUBLIC_URL -u ZEST_TOKEN_AUDIENCE "$BIN" serve 2>"$TMP/server.log" >/dev/null &
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
