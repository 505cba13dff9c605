#!/usr/bin/env bash
# p11-kit: our module registered through build/myna-pkcs11.module.
#   - p11-kit list-modules shows the module and its two tokens;
#   - pkcs11-tool through p11-kit-proxy.so lists them;
#   - the RFC 7512 URIs of the tokens (from p11tool and p11-kit) are printed,
#     and consumers that reach the module only through p11-kit accept them:
#     p11tool (GnuTLS), the OpenSSL libp11 engine without MODULE_PATH,
#     gnutls-cli client authentication, ssh-keygen -D on the proxy.
# p11-kit ignores user configuration for root, so the registration is a
# temporary file in /etc/pkcs11/modules/ (a copy of build/myna-pkcs11.module
# with the absolute path of the built library), removed on exit.
. "$(dirname "$0")/../lib.sh"

need_module
card_init
MODFILE_SRC="$ROOT/build/myna-pkcs11.module"
[ -f "$MODFILE_SRC" ] || { fail "build/myna-pkcs11.module exists"; finish; }

# --- registration ------------------------------------------------------------------
CONFDIR=/etc/pkcs11/modules
CREATED_DIRS=()   # directories this script made, removed (when empty) on exit
for d in /etc/pkcs11 "$CONFDIR"; do
  [ -d "$d" ] && continue
  mkdir "$d" || { fail "create $d" "needs root"; finish; }
  CREATED_DIRS=("$d" "${CREATED_DIRS[@]}")
done
NAME="myna-pkcs11-test-$$"
REG="$CONFDIR/$NAME.module"
CLEANUP_FILES+=("$REG")
# shellcheck disable=SC2317  # called on exit (on_exit)
remove_created_dirs() { local d; rm -f -- "$REG"; for d in "${CREATED_DIRS[@]}"; do rmdir "$d" 2>/dev/null; done; true; }
on_exit remove_created_dirs
sed "s|^module:.*|module: $MOD|" "$MODFILE_SRC" >"$REG"
if grep -qx "module: $MOD" "$REG" && grep -qx 'critical: no' "$REG"; then
  pass "registered build/myna-pkcs11.module as $REG (module: $MOD)"
else
  fail "registered build/myna-pkcs11.module" "$(cat "$REG")"
fi

# --- p11-kit list-modules -----------------------------------------------------------
run_to "$T/list-modules.log" p11-kit list-modules
p11kit_module "$T/list-modules.log" "$NAME" >"$T/ours.log"
if [ -s "$T/ours.log" ]; then
  pass "p11-kit list-modules shows our module: $(head -n 1 "$T/ours.log")"
  sed 's/^/    /' "$T/ours.log"
else
  fail "p11-kit list-modules shows our module" "$(cat "$T/list-modules.log")"
fi
for tok in "$AUTH_TOKEN_LABEL" "$SIGN_TOKEN_LABEL"; do
  if grep -qxF "    token: $tok" "$T/ours.log"; then
    pass "p11-kit list-modules shows token '$tok' under our module"
  else
    fail "p11-kit list-modules shows token '$tok' under our module" "$(grep 'token:' "$T/ours.log")"
  fi
done

# --- pkcs11-tool through p11-kit-proxy.so ---------------------------------------------
run_to "$T/proxy-L.log" pkcs11-tool --module "$P11KIT_PROXY" -L
for tok in "$AUTH_TOKEN_LABEL" "$SIGN_TOKEN_LABEL"; do
  if grep -Eq "token label +: $(printf '%s' "$tok" | sed 's/[][().*^$+?{}|\\]/\\&/g') *$" "$T/proxy-L.log"; then
    pass "pkcs11-tool --module p11-kit-proxy.so -L shows token '$tok'"
  else
    fail "pkcs11-tool --module p11-kit-proxy.so -L shows token '$tok'" "$(grep -E 'Slot|label' "$T/proxy-L.log")"
  fi
done

# --- RFC 7512 URIs ------------------------------------------------------------------
# p11tool without --provider uses the modules registered with p11-kit.
run_to "$T/urls.log" p11tool --list-token-urls
for uri in "$AUTH_TOKEN_URI" "$SIGN_TOKEN_URI"; do
  if grep -qxF "$uri" "$T/urls.log"; then
    pass "p11tool (through p11-kit) lists the token URI $uri"
  else
    fail "p11tool (through p11-kit) lists the token URI $uri" "$(cat "$T/urls.log")"
  fi
done
# p11-kit's own view of the same tokens (p11-kit list-modules prints no URI in
# 0.24; `p11-kit list-tokens` exists from 0.25 on).
p11kit_help=$(p11-kit help 2>&1)
if grep -q 'list-tokens' <<<"$p11kit_help"; then
  run_to "$T/p11kit-tokens.log" p11-kit list-tokens
  sed 's/^/    /' "$T/p11kit-tokens.log"
fi

# GnuTLS through p11-kit accepts the URIs.
run_to "$T/auth-objs.log" p11tool --list-all "$AUTH_TOKEN_URI"
obj_urls=$(grep -E '^\s+URL: pkcs11:' "$T/auth-objs.log" | grep -F "$AUTH_TOKEN_URI;")
if grep -q 'id=%01' <<<"$obj_urls"; then
  pass "p11tool --list-all '$AUTH_TOKEN_URI' (through p11-kit) shows the auth objects"
else
  fail "p11tool --list-all on the auth token URI (through p11-kit)" "$(tail "$T/auth-objs.log")"
fi
GNUTLS_PIN=$SIGN_PIN run_to "$T/sign-objs.log" p11tool --login --list-all "$SIGN_TOKEN_URI"
obj_urls=$(grep -E '^\s+URL: pkcs11:' "$T/sign-objs.log" | grep -F "$SIGN_TOKEN_URI;")
if grep -q 'id=%02' <<<"$obj_urls"; then
  pass "p11tool --login --list-all '$SIGN_TOKEN_URI' (through p11-kit) shows the sign objects"
else
  fail "p11tool --login --list-all on the sign token URI (through p11-kit)" "$(tail "$T/sign-objs.log")"
fi

# The OpenSSL libp11 engine without MODULE_PATH loads p11-kit-proxy.so.
engine_conf "$T/engine-proxy.cnf" ""
printf 'myna-pkcs11 p11-kit suite %s\n' "$(date -u +%FT%TZ)" >"$T/data.txt"
if check "openssl (libp11 engine via p11-kit-proxy) signs with $AUTH_KEY_URI" \
  env OPENSSL_CONF="$T/engine-proxy.cnf" openssl dgst -sha256 -engine pkcs11 -keyform engine \
  -sign "$AUTH_KEY_URI" -passin "pass:$AUTH_PIN" -out "$T/auth.sig" "$T/data.txt"; then
  check "the auth signature made through p11-kit verifies with the card's auth certificate" \
    openssl dgst -sha256 -verify "$AUTH_PUB" -signature "$T/auth.sig" "$T/data.txt"
fi
if check "openssl (libp11 engine via p11-kit-proxy) signs with $SIGN_KEY_URI" \
  env OPENSSL_CONF="$T/engine-proxy.cnf" openssl dgst -sha256 -engine pkcs11 -keyform engine \
  -sign "$SIGN_KEY_URI" -passin "pass:$SIGN_PIN" -out "$T/sign.sig" "$T/data.txt"; then
  if sign_pub_from_card; then
    check "the sign signature made through p11-kit verifies with the card's sign certificate" \
      openssl dgst -sha256 -verify "$T/sign-pub.pem" -signature "$T/sign.sig" "$T/data.txt"
  else
    fail "read the sign certificate with the sign PIN (pkcs11-tool)" "$(tail "$T/sign-cert.log")"
  fi
fi

# gnutls-cli TLS 1.2 client authentication with the URIs, module found through p11-kit.
server_pki
printf 'GET / HTTP/1.0\r\n\r\n' >"$T/get.txt"
PORT=$(free_port)
if start_s_server "$PORT" s_server -tls1_2; then
  GNUTLS_PIN=$AUTH_PIN RUN_STDIN="$T/get.txt" run_to "$T/cli.log" gnutls-cli \
    --x509cafile "$SERVER_CA" --x509keyfile "$AUTH_KEY_URI" \
    --x509certfile "$AUTH_TOKEN_URI;id=%01;type=cert" \
    --priority 'NORMAL:-VERS-ALL:+VERS-TLS1.2:-SIGN-ALL:+SIGN-RSA-SHA256:+SIGN-RSA-SHA384:+SIGN-RSA-SHA512' \
    -p "$PORT" 127.0.0.1
  want=$(openssl x509 -in "$AUTH_CERT" -noout -fingerprint -sha256 | cut -d= -f2)
  got=$(sed -n '/HTTP\/1.0 200 ok/,$p' "$T/cli.log" | sed -n '/^Client certificate/,/END CERTIFICATE/p' |
    openssl x509 -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2)
  if [ -n "$got" ] && [ "$got" = "$want" ]; then
    pass "gnutls-cli (through p11-kit) TLS 1.2 client auth with $AUTH_KEY_URI; the server saw the card's certificate"
  else
    fail "gnutls-cli (through p11-kit) TLS 1.2 client auth with the auth key URI" "$(grep -Ei 'error|fail|Peer sig' "$T/cli.log" | sed -n 1,10p)"
  fi
fi

# OpenSSH through the proxy.
run_to "$T/keygen-D.log" ssh-keygen -D "$P11KIT_PROXY"
blob=$(ssh-keygen -i -m PKCS8 -f "$AUTH_PUB" | awk '{print $2}')
if grep -qF "$blob" "$T/keygen-D.log"; then
  pass "ssh-keygen -D p11-kit-proxy.so prints the card's auth public key"
else
  fail "ssh-keygen -D p11-kit-proxy.so prints the card's auth public key" "$(tail "$T/keygen-D.log")"
fi

check_tries
finish
