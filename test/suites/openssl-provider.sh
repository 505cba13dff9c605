#!/usr/bin/env bash
# OpenSSL 3's pkcs11-provider (1.0, from bookworm-backports via
# test/install-deps.sh) on our module, and README.md's TLS configuration:
#   - openssl dgst / pkeyutl sign with both keys through pkcs11: URIs (no
#     engine), verified with the certificates;
#   - what the module says: CKA_ALLOWED_MECHANISMS of the private key and the
#     mechanism list hold no RSA-PSS mechanism, and still TLS 1.2 client
#     authentication without a sigalgs restriction fails (engine, provider and
#     curl alike): OpenSSL picks RSA-PSS by itself;
#   - README's tls-conf recipe (ClientSignatureAlgorithms, MaxProtocol in an
#     OPENSSL_CONF, the module path replaced by the built one) and its curl
#     recipe, run verbatim: curl client auth, s_client through the engine and
#     through the provider (the recipe's ssl_conf lines), each against
#     `openssl s_server -Verify 1` that also offers TLS 1.3.
. "$(dirname "$0")/../lib.sh"

command -v curl >/dev/null || { fail "curl is installed" "apt-get install curl"; finish; }
need_module
need_provider
card_init
server_pki
provider_conf "$T/provider.cnf" "$MOD"
W="$T/work"; mkdir -p "$W"
printf '%s\n' "$AUTH_PIN" >"$W/auth-pin.txt"; printf '%s\n' "$SIGN_PIN" >"$T/sign-pin.txt"
chmod 600 "$W/auth-pin.txt" "$T/sign-pin.txt"
cp "$AUTH_CERT" "$W/auth.pem"; cp "$SERVER_CA" "$W/server-ca.pem"
printf 'myna-pkcs11 provider suite %s\n' "$(date -u +%FT%TZ)" >"$T/data.txt"
PROV=(env OPENSSL_CONF="$T/provider.cnf")

# --- signatures through the provider -----------------------------------------------------
check "openssl dgst -sha256 -sign with the auth key (pkcs11-provider, pkcs11: URI)" \
  "${PROV[@]}" openssl dgst -sha256 -sign "$AUTH_KEY_URI" -passin "file:$W/auth-pin.txt" -out "$T/auth.sig" "$T/data.txt"
check "verify it with the auth certificate" openssl dgst -sha256 -verify "$AUTH_PUB" -signature "$T/auth.sig" "$T/data.txt"
check "openssl pkeyutl -sign -digest sha384 with the auth key (provider)" \
  "${PROV[@]}" openssl pkeyutl -sign -inkey "$AUTH_KEY_URI" -passin "file:$W/auth-pin.txt" -rawin -digest sha384 \
  -in "$T/data.txt" -out "$T/auth384.sig"
check "verify it (openssl pkeyutl -verify)" openssl pkeyutl -verify -pubin -inkey "$AUTH_PUB" -rawin -digest sha384 \
  -in "$T/data.txt" -sigfile "$T/auth384.sig"
check "openssl dgst -sha256 -sign with the sign key (provider, sign password)" \
  "${PROV[@]}" openssl dgst -sha256 -sign "$SIGN_KEY_URI" -passin "file:$T/sign-pin.txt" -out "$T/sign.sig" "$T/data.txt"
if sign_pub_from_card; then
  check "verify it with the sign certificate" openssl dgst -sha256 -verify "$T/sign-pub.pem" -signature "$T/sign.sig" "$T/data.txt"
else
  fail "read the sign certificate (pkcs11-tool, sign password)" "$(tail "$T/sign-cert.log")"
fi
if run_to "$T/cross.log" openssl dgst -sha256 -verify "$AUTH_PUB" -signature "$T/sign.sig" "$T/data.txt"; then
  fail "the auth certificate refuses the sign key's signature" "$(cat "$T/cross.log")"
else
  pass "the auth certificate refuses the sign key's signature"
fi

# --- what the module says about RSA-PSS ---------------------------------------------------
run_to "$T/mechs.log" pkcs11-tool --module "$MOD" --token-label "$AUTH_TOKEN_LABEL" -M
run_to "$T/privkey.log" pkcs11-tool --module "$MOD" --token-label "$AUTH_TOKEN_LABEL" --login --pin "$AUTH_PIN" \
  --list-objects --type privkey
if grep -q 'SHA256-RSA-PKCS' "$T/mechs.log" && ! grep -q 'PSS' "$T/mechs.log"; then
  pass "the mechanism list has PKCS#1 v1.5 and no RSA-PSS mechanism"
else
  fail "the mechanism list has PKCS#1 v1.5 and no RSA-PSS mechanism" "$(cat "$T/mechs.log")"
fi
allowed=$(grep -i 'Allowed mechanisms' "$T/privkey.log")
if grep -q 'SHA256-RSA-PKCS' <<<"$allowed" && ! grep -q 'PSS' <<<"$allowed"; then
  pass "the auth private key's CKA_ALLOWED_MECHANISMS has PKCS#1 v1.5 only"; info "$allowed"
else
  fail "the auth private key's CKA_ALLOWED_MECHANISMS has PKCS#1 v1.5 only" "$(cat "$T/privkey.log")"
fi

# --- TLS 1.2 client authentication ----------------------------------------------------------
printf 'GET / HTTP/1.0\r\n\r\n' >"$T/get.txt"
PORT=$(free_port)
start_s_server "$PORT" s_server || finish   # TLS 1.2 and 1.3 offered, client certificate required

# s_client_to LOG CONF KEYARGS...: s_client with the card's auth key (OPENSSL_CONF=CONF).
s_client_to() {
  local log=$1 conf=$2; shift 2
  RUN_STDIN="$T/get.txt" run_to "$log" env OPENSSL_CONF="$conf" openssl s_client -connect "127.0.0.1:$PORT" \
    -CAfile "$SERVER_CA" -verify_return_error -cert "$AUTH_CERT" -ign_eof "$@"
}

# refused LOG RC WHAT WHY: the handshake failed cleanly (no crash, no page) with WHY.
refused() {
  if crashed "$2"; then fail "$3" "crashed or hung (exit $2): $(tail -n 8 "$1")"
  elif page_has_client_cert "$1"; then fail "$3" "the handshake succeeded"
  elif ! grep -Eq "$4" "$1"; then fail "$3" "failed (exit $2), but not with /$4/: $(grep -Ei 'error' "$1" | sed -n 1,5p)"
  else pass "$3"; info "exit $2: $(grep -m1 -E "$4" "$1" | cut -c1-160)"; fi
}

PKEY=(-key "$AUTH_KEY_URI;pin-value=$AUTH_PIN")
rc=0; s_client_to "$T/prov-plain.log" "$T/provider.cnf" -tls1_2 "${PKEY[@]}" || rc=$?
refused "$T/prov-plain.log" "$rc" "provider, TLS 1.2, no sigalgs: OpenSSL still picks RSA-PSS and fails cleanly" \
  'CKM_RSA_PKCS_PSS unavailable'
s_client_to "$T/prov-sigalgs.log" "$T/provider.cnf" -tls1_2 -sigalgs 'RSA+SHA256:RSA+SHA384:RSA+SHA512' "${PKEY[@]}"
server_saw_card_cert "$T/prov-sigalgs.log" "provider, TLS 1.2 client auth with s_client -sigalgs 'RSA+SHA256:RSA+SHA384:RSA+SHA512'"

engine_conf "$T/engine.cnf" "$MOD"
CURL=(curl -sS --engine pkcs11 --key-type ENG --key "$AUTH_KEY_URI" --pass "$AUTH_PIN" --cert "$AUTH_CERT"
  --cacert "$SERVER_CA" --tls-max 1.2 "https://127.0.0.1:$PORT/")
rc=0; run_to "$T/curl-plain.log" env OPENSSL_CONF="$T/engine.cnf" "${CURL[@]}" || rc=$?
refused "$T/curl-plain.log" "$rc" "curl (libp11 engine) without the configuration fails cleanly (RSA-PSS: Mechanism invalid)" \
  'Mechanism invalid'

# --- README's configuration ------------------------------------------------------------------
readme_recipe tls-conf "$T/tls-conf.recipe" 'ClientSignatureAlgorithms'
sed "s|/usr/lib/x86_64-linux-gnu/pkcs11/libmyna-pkcs11.so|$MOD|" "$T/tls-conf.recipe" >"$W/myna-tls.cnf"
expect_in "the configuration points at the built module" "$W/myna-tls.cnf" "^MODULE_PATH = $MOD\$"
# shellcheck disable=SC2016  # the literal text of the recipe
readme_recipe curl "$T/curl.recipe" 'OPENSSL_CONF=$PWD/myna-tls.cnf curl'
# The recipe names server.example: run it with that name pointing at our server instead.
sed "s|https://server.example/|https://127.0.0.1:$PORT/|" "$T/curl.recipe" >"$T/curl-local.sh"
rc=0; (cd "$W" && AUTH=$AUTH_TOKEN_URI timeout -k 5 "$TMO" bash -e "$T/curl-local.sh") >"$T/curl-recipe.log" 2>&1 || rc=$?
if [ "$rc" -eq 0 ]; then pass "README's curl recipe with README's myna-tls.cnf: curl exits 0"
else fail "README's curl recipe with README's myna-tls.cnf: curl exits 0" "exit $rc: $(tail -n 8 "$T/curl-recipe.log")"; fi
server_saw_card_cert "$T/curl-recipe.log" "curl client auth (TLS 1.2, PKCS#1 v1.5) with README's configuration and no sigalgs option"

s_client_to "$T/eng-conf.log" "$W/myna-tls.cnf" -engine pkcs11 -keyform engine "${PKEY[@]}"
server_saw_card_cert "$T/eng-conf.log" "s_client (engine) with README's configuration, no -sigalgs, no -tls1_2"
# The provider with the recipe's ssl_conf lines (from [ssl_sect] on).
sed -n '/^\[ssl_sect\]/,$p' "$T/tls-conf.recipe" >"$T/ssl-sections"
provider_conf "$T/provider-tls.cnf" "$MOD" 'ssl_conf = ssl_sect' "$(cat "$T/ssl-sections")"
s_client_to "$T/prov-conf.log" "$T/provider-tls.cnf" "${PKEY[@]}"
server_saw_card_cert "$T/prov-conf.log" "s_client (pkcs11-provider) with README's ssl_conf lines, no -sigalgs, no -tls1_2"

check_tries
finish
