#!/usr/bin/env bash
# GnuTLS (gnutls-bin: p11tool, gnutls-cli) against our module and a fresh
# simulated card: tokens and objects with their pkcs11: URIs, and TLS 1.2
# client authentication with the auth key (PKCS#1 v1.5 signatures only)
# against openssl s_server on 127.0.0.1.
. "$(dirname "$0")/../lib.sh"

need_module
card_init
server_pki

# has_obj WHAT FILE ID TYPE: PASS when p11tool output FILE lists an object URL with id=ID and type=TYPE.
has_obj() {
  local urls
  urls=$(grep -E '^\s+URL: pkcs11:' "$2" | grep -E "[:;]id=$3(;|\$)")
  if grep -Eq "[:;]type=$4(;|\$)" <<<"$urls"; then
    pass "$1"
  else
    fail "$1" "no object with id=$3 and type=$4 in $2:"$'\n'"$(grep URL "$2")"
  fi
}

# --- p11tool ----------------------------------------------------------------------
if check "p11tool --list-tokens" p11tool --provider "$MOD" --list-tokens; then
  cp "$CHECK_LOG" "$T/tokens.log"
  n=$(grep -c '^Token [0-9]*:' "$T/tokens.log")
  if [ "$n" -eq 2 ]; then pass "p11tool lists 2 tokens"; else fail "p11tool lists 2 tokens" "$(cat "$T/tokens.log")"; fi
  grep -E '^\s+URL:' "$T/tokens.log" | sed 's/^\s*URL: /    token URL: /'
fi

run_to "$T/auth-all.log" p11tool --provider "$MOD" --list-all "$AUTH_TOKEN_URI"
has_obj "p11tool --list-all on the auth token shows the auth certificate (CKA_ID 01)" \
  "$T/auth-all.log" %01 cert
has_obj "p11tool --list-all on the auth token shows the auth public key (CKA_ID 01)" \
  "$T/auth-all.log" %01 public
grep -E '^\s+URL:' "$T/auth-all.log" | sed 's/^\s*URL: /    object URL: /'

GNUTLS_PIN=$AUTH_PIN run_to "$T/auth-priv.log" p11tool --provider "$MOD" --login \
  --list-all-privkeys "$AUTH_TOKEN_URI"
has_obj "p11tool --login --list-all-privkeys shows the auth private key (CKA_ID 01)" \
  "$T/auth-priv.log" %01 private

run_to "$T/sign-all.log" p11tool --provider "$MOD" --list-all "$SIGN_TOKEN_URI"
if grep -Eq 'id=%02;type=(cert|public)' "$T/sign-all.log"; then
  fail "the sign certificate and public key are hidden before login" "$(grep URL "$T/sign-all.log")"
else
  pass "the sign certificate and public key are hidden before login"
fi
GNUTLS_PIN=$SIGN_PIN run_to "$T/sign-login.log" p11tool --provider "$MOD" --login --list-all "$SIGN_TOKEN_URI"
has_obj "p11tool --login --list-all on the sign token shows the sign certificate (CKA_ID 02)" \
  "$T/sign-login.log" %02 cert
has_obj "p11tool --login --list-all on the sign token shows the sign private key (CKA_ID 02)" \
  "$T/sign-login.log" %02 private

# The certificate exported by p11tool equals the card's auth certificate.
if run_to "$T/export.log" p11tool --provider "$MOD" --export "$AUTH_TOKEN_URI;id=%01;type=cert" &&
  [ "$(openssl x509 -in "$T/export.log" -noout -fingerprint -sha256)" = \
    "$(openssl x509 -in "$AUTH_CERT" -noout -fingerprint -sha256)" ]; then
  pass "p11tool --export of the auth certificate matches the card's"
else
  fail "p11tool --export of the auth certificate matches the card's" "$(tail "$T/export.log")"
fi

# --- gnutls-cli TLS 1.2 client authentication -------------------------------------
printf 'GET / HTTP/1.0\r\n\r\n' >"$T/get.txt"
PRIO='NORMAL:-VERS-ALL:+VERS-TLS1.2:-SIGN-ALL:+SIGN-RSA-SHA256:+SIGN-RSA-SHA384:+SIGN-RSA-SHA512'

# cli LOG CERT ARGS...: gnutls-cli client auth with the card's auth key.
cli() {
  local log=$1 cert=$2; shift 2
  GNUTLS_PIN=$AUTH_PIN RUN_STDIN="$T/get.txt" run_to "$log" gnutls-cli --provider "$MOD" \
    --x509cafile "$SERVER_CA" --x509keyfile "$AUTH_KEY_URI" --x509certfile "$cert" \
    -p "$PORT" "$@" 127.0.0.1
}

# saw_cert LOG WHAT: the s_server page shows the card's auth cert and a
# PKCS#1 v1.5 signature (test/lib.sh server_saw_card_cert).
saw_cert() {
  server_saw_card_cert "$1" "$2" || return 1
  info "client: $(grep -m1 -o '(TLS1.2[^ ]*)' "$1")"
}

PORT=$(free_port)
if start_s_server "$PORT" s_server -tls1_2; then
  cli "$T/cli-uri.log" "$AUTH_TOKEN_URI;id=%01;type=cert" --priority "$PRIO"
  saw_cert "$T/cli-uri.log" "gnutls-cli TLS 1.2 client auth, key and certificate as pkcs11: URIs, --priority '$PRIO'"
  cli "$T/cli-file.log" "$AUTH_CERT" --priority "$PRIO"
  saw_cert "$T/cli-file.log" "gnutls-cli TLS 1.2 client auth, pkcs11: key URI + certificate file"
  # GnuTLS prefers RSA-PSS too, but it checks the token's mechanism list: with
  # no CKM_RSA_PKCS_PSS it signs PKCS#1 v1.5 by itself, no priority string needed.
  cli "$T/cli-default.log" "$AUTH_CERT" --priority 'NORMAL:-VERS-ALL:+VERS-TLS1.2'
  saw_cert "$T/cli-default.log" "gnutls-cli TLS 1.2 client auth with --priority 'NORMAL:-VERS-ALL:+VERS-TLS1.2' (GnuTLS falls back to PKCS#1 v1.5 itself)"
fi

# Negative: TLS 1.3 CertificateVerify must be RSA-PSS (RFC 8446 4.4.3), which the card cannot make.
PORT=$(free_port)
if start_s_server "$PORT" s_server13 -tls1_3; then
  rc=0; cli "$T/cli13.log" "$AUTH_CERT" --priority 'NORMAL:-VERS-ALL:+VERS-TLS1.3' || rc=$?
  if crashed "$rc"; then
    fail "gnutls-cli TLS 1.3 client auth fails cleanly" "exit $rc:"$'\n'"$(tail "$T/cli13.log")"
  elif page_has_client_cert "$T/cli13.log"; then
    fail "gnutls-cli TLS 1.3 client auth fails cleanly" "the server accepted a client certificate"
  elif ! grep -Eq 'Certificate is required|fatal alert' "$T/cli13.log"; then
    fail "gnutls-cli TLS 1.3 client auth fails cleanly" "failed for another reason (exit $rc):"$'\n'"$(tail "$T/cli13.log")"
  else
    pass "gnutls-cli TLS 1.3 client auth fails cleanly (CertificateVerify needs RSA-PSS)"
    info "client exit $rc: $(grep -E 'Fatal error|Received alert' "$T/cli13.log" | tr '\n' ' ' | cut -c1-150)"
  fi
fi

check_tries
finish
