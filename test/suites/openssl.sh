#!/usr/bin/env bash
# OpenSSL 3 + the libp11 engine (libengine-pkcs11-openssl) against our module
# and a fresh simulated card:
#   - sign a file with each card key through pkcs11: URIs, verify with openssl;
#   - TLS 1.2 client authentication with the auth key (PKCS#1 v1.5 signature
#     algorithms only), and the negative cases: RSA-PSS chosen by default, and
#     TLS 1.3 (whose CertificateVerify must be RSA-PSS) both fail cleanly;
#   - whether pkcs11-provider is installable from the configured apt sources.
# The PIN always comes through -passin / pin-value=: libp11 0.4.12 segfaults
# when it has to prompt without a terminal.
. "$(dirname "$0")/../lib.sh"

need_module
card_init
server_pki
engine_conf "$T/engine.cnf" "$MOD"
export OPENSSL_CONF="$T/engine.cnf"
info "auth key: $AUTH_KEY_URI"
info "sign key: $SIGN_KEY_URI"

# --- file signatures -------------------------------------------------------
printf 'myna-pkcs11 openssl suite %s\n' "$(date -u +%FT%TZ)" >"$T/data.txt"

check "sign a file with the auth key (pkcs11: URI, -passin auth PIN)" \
  openssl dgst -sha256 -engine pkcs11 -keyform engine -sign "$AUTH_KEY_URI" \
  -passin "pass:$AUTH_PIN" -out "$T/auth.sig" "$T/data.txt"
check "verify the auth signature with the card's auth certificate (openssl dgst -verify)" \
  openssl dgst -sha256 -verify "$AUTH_PUB" -signature "$T/auth.sig" "$T/data.txt"

check "sign a file with the auth key, SHA-512, PIN as pin-value= in the URI" \
  openssl dgst -sha512 -engine pkcs11 -keyform engine -sign "$AUTH_KEY_URI;pin-value=$AUTH_PIN" \
  -out "$T/auth512.sig" "$T/data.txt"
check "verify the auth SHA-512 signature" \
  openssl dgst -sha512 -verify "$AUTH_PUB" -signature "$T/auth512.sig" "$T/data.txt"

check "sign a file with the sign key (pkcs11: URI, -passin sign PIN)" \
  openssl dgst -sha256 -engine pkcs11 -keyform engine -sign "$SIGN_KEY_URI" \
  -passin "pass:$SIGN_PIN" -out "$T/sign.sig" "$T/data.txt"
if sign_pub_from_card; then
  check "verify the sign signature with the card's sign certificate (openssl dgst -verify)" \
    openssl dgst -sha256 -verify "$T/sign-pub.pem" -signature "$T/sign.sig" "$T/data.txt"
else
  fail "read the sign certificate with the sign PIN (pkcs11-tool)" "$(tail "$T/sign-cert.log")"
fi

# The wrong key's certificate must not verify a signature (the check above is meaningful).
if run_to "$T/crossverify.log" openssl dgst -sha256 -verify "$AUTH_PUB" -signature "$T/sign.sig" "$T/data.txt"; then
  fail "the auth certificate rejects the sign key's signature" "$(cat "$T/crossverify.log")"
else
  pass "the auth certificate rejects the sign key's signature"
fi

# --- TLS 1.2 client authentication --------------------------------------------
printf 'GET / HTTP/1.0\r\n\r\n' >"$T/get.txt"

# tls_client LOG ARGS...: s_client with the auth key from the card; the server page goes to LOG.
tls_client() {
  local log=$1; shift
  RUN_STDIN="$T/get.txt" run_to "$log" openssl s_client -connect "127.0.0.1:$PORT" \
    -CAfile "$SERVER_CA" -verify_return_error -engine pkcs11 -keyform engine \
    -key "$AUTH_KEY_URI;pin-value=$AUTH_PIN" -cert "$AUTH_CERT" -ign_eof "$@"
}

# page_ok LOG WHAT: the s_server -www page shows our client certificate and an
# RSA PKCS#1 v1.5 CertificateVerify (test/lib.sh server_saw_card_cert).
page_ok() { server_saw_card_cert "$1" "$2"; }

# no_page LOG RC WHAT WHY: a handshake that must fail: no page served, no hang,
# no crash, and the client's output matches WHY (the expected reason).
no_page() {
  local log=$1 rc=$2 what=$3 why=$4
  if crashed "$rc"; then
    fail "$what" "the client crashed or hung (exit $rc):"$'\n'"$(tail -n 15 "$log")"
  elif page_has_client_cert "$log"; then
    fail "$what" "the handshake succeeded:"$'\n'"$(sed -n '/HTTP\/1.0 200 ok/,$p' "$log" | grep -E 'Protocol|Peer signature')"
  elif ! grep -Eq "$why" "$log"; then
    fail "$what" "it failed, but not with /$why/ (exit $rc):"$'\n'"$(grep -Ei 'error|alert' "$log" | sed -n 1,10p)"
  else
    pass "$what"
    info "client exit $rc: $(grep -m1 -E "$why" "$log" | cut -c1-150)"
  fi
}

PORT=$(free_port)
if start_s_server "$PORT" s_server12 -tls1_2; then
  S12=$BG_PID
  tls_client "$T/tls12-sigalgs.log" -tls1_2 -sigalgs 'RSA+SHA256:RSA+SHA384:RSA+SHA512'
  page_ok "$T/tls12-sigalgs.log" \
    "TLS 1.2 client auth with the auth key, s_client -sigalgs 'RSA+SHA256:RSA+SHA384:RSA+SHA512'"
  tls_client "$T/tls12-client-sigalgs.log" -tls1_2 -client_sigalgs 'RSA+SHA256:RSA+SHA384:RSA+SHA512'
  page_ok "$T/tls12-client-sigalgs.log" \
    "TLS 1.2 client auth with the auth key, s_client -client_sigalgs 'RSA+SHA256:RSA+SHA384:RSA+SHA512'"

  # Negative: OpenSSL's default choice for TLS 1.2 CertificateVerify is RSA-PSS,
  # which the card cannot do (the module offers no CKM_RSA_PKCS_PSS).
  rc=0; tls_client "$T/tls12-pss.log" -tls1_2 || rc=$?
  no_page "$T/tls12-pss.log" "$rc" \
    "TLS 1.2 without a sigalgs restriction fails cleanly (OpenSSL picks RSA-PSS; the card has PKCS#1 v1.5 only)" \
    'Mechanism invalid'
  if kill -0 "$S12" 2>/dev/null; then pass "s_server is still serving after the failed handshake"
  else fail "s_server is still serving after the failed handshake" "$(tail "$T/s_server12.log")"; fi
fi

# The server may restrict the CertificateRequest instead of the client.
PORT=$(free_port)
if start_s_server "$PORT" s_server12c -tls1_2 -client_sigalgs 'RSA+SHA256:RSA+SHA384:RSA+SHA512'; then
  tls_client "$T/tls12-server-restrict.log" -tls1_2
  page_ok "$T/tls12-server-restrict.log" \
    "TLS 1.2 client auth when the server sends -client_sigalgs 'RSA+SHA256:RSA+SHA384:RSA+SHA512' (no client option)"
fi

# Negative: TLS 1.3 CertificateVerify must use RSA-PSS (RFC 8446 4.4.3); the
# card signs PKCS#1 v1.5 only, so client authentication cannot succeed.
PORT=$(free_port)
if start_s_server "$PORT" s_server13 -tls1_3; then
  rc=0; tls_client "$T/tls13.log" -tls1_3 || rc=$?
  no_page "$T/tls13.log" "$rc" "TLS 1.3 client auth fails cleanly (CertificateVerify needs RSA-PSS)" \
    'Mechanism invalid'
  rc=0; tls_client "$T/tls13-pkcs1.log" -tls1_3 -sigalgs 'RSA+SHA256:RSA+SHA384:RSA+SHA512' || rc=$?
  no_page "$T/tls13-pkcs1.log" "$rc" "TLS 1.3 client auth with PKCS#1 v1.5 sigalgs only fails cleanly" \
    'alert handshake failure|no suitable signature algorithm|certificate required'
fi

# --- pkcs11-provider --------------------------------------------------------------
cand=$(apt-cache policy pkcs11-provider 2>/dev/null | sed -n 's/^ *Candidate: *//p')
if [ -z "$cand" ] || [ "$cand" = "(none)" ]; then
  skip "pkcs11-provider" "not available from the configured apt sources (Debian 12 has it only in bookworm-backports); the libp11 engine is used instead"
elif [ ! -f /usr/lib/x86_64-linux-gnu/ossl-modules/pkcs11.so ]; then
  skip "pkcs11-provider" "available ($cand) but not installed"
else
  {
    printf 'openssl_conf = openssl_init\n[openssl_init]\nproviders = provider_sect\n'
    printf '[provider_sect]\ndefault = default_sect\npkcs11 = pkcs11_sect\n[default_sect]\nactivate = 1\n'
    printf '[pkcs11_sect]\nmodule = /usr/lib/x86_64-linux-gnu/ossl-modules/pkcs11.so\n'
    printf 'pkcs11-module-path = %s\npkcs11-module-token-pin = %s\nactivate = 1\n' "$MOD" "$AUTH_PIN"
  } >"$T/provider.cnf"
  check "sign with the auth key through pkcs11-provider" \
    env OPENSSL_CONF="$T/provider.cnf" openssl pkeyutl -sign -inkey "$AUTH_KEY_URI" \
    -in "$T/data.txt" -rawin -digest sha256 -out "$T/prov.sig"
fi

check_tries
finish
