#!/usr/bin/env bash
# NSS (Debian's libnss3-tools: modutil, certutil, tstclnt) against our module
# and a fresh simulated card: a fresh NSS database in a temp dir, the module
# added with modutil, both tokens with their pkcs11: URIs, the certificates and
# keys under clear names, and TLS 1.2 client authentication with tstclnt
# (PKCS#1 v1.5 signature schemes) against openssl s_server -Verify 1 -www on
# 127.0.0.1, which trusts only the card's auth CA.
. "$(dirname "$0")/../lib.sh"

for tool in modutil certutil tstclnt; do
  command -v "$tool" >/dev/null || { fail "$tool is installed" "apt-get install libnss3-tools"; finish; }
done
need_module
card_init
server_pki

DB="sql:$T/nssdb"
MODNAME="My Number Card (myna-pkcs11)"
mkdir -p "$T/nssdb"
printf '%s\n' "$AUTH_PIN" >"$T/auth.pin"
printf '%s\n' "$SIGN_PIN" >"$T/sign.pin"
chmod 600 "$T/auth.pin" "$T/sign.pin"

# --- the database and the module -------------------------------------------------
check "certutil -N creates a fresh NSS database" certutil -N --empty-password -d "$DB" || finish
check "certutil -A trusts the test server CA" \
  certutil -A -d "$DB" -n "myna test server CA" -t "C,," -a -i "$SERVER_CA" || finish

# -force: no "close your browser" question.
if check "modutil -add registers the module" modutil -dbdir "$DB" -add "$MODNAME" -libfile "$MOD" -force; then
  expect_in "modutil -add reports the module added" "$CHECK_LOG" 'added to database' || finish
else
  finish
fi

run_to "$T/modlist-all.log" modutil -dbdir "$DB" -list
# our module's section of the listing: from "N. <name>" to the next module.
awk -v m="$MODNAME" '
  /^[[:space:]]*[0-9]+\. / { sub(/^[[:space:]]*[0-9]+\. /, ""); on = ($0 == m); if (on) print "module: " $0; next }
  /^-----/ { on = 0 }
  on' "$T/modlist-all.log" >"$T/modlist.log"
mapfile -t TOKENS < <(sed -n 's/^[[:space:]]*token: \(..*\)$/\1/p' "$T/modlist.log")
if grep -qF "library name: $MOD" "$T/modlist.log" && grep -q 'status: loaded' "$T/modlist.log" &&
  [ "${#TOKENS[@]}" -eq 2 ]; then
  pass "modutil -list shows the module loaded with 2 tokens"
  for t in "${TOKENS[@]}"; do info "token: $t"; done
else
  fail "modutil -list shows the module loaded with 2 tokens" "$(cat "$T/modlist-all.log")"
fi
for t in "$AUTH_TOKEN_LABEL" "$SIGN_TOKEN_LABEL"; do
  grep -qxF -- "$t" <<<"$(printf '%s\n' "${TOKENS[@]}")" ||
    fail "NSS sees token \"$t\"" "modutil -list tokens: ${TOKENS[*]}"
done

# --- certutil -U: the tokens with their URIs ---------------------------------------
run_to "$T/U.log" certutil -U -d "$DB"
uri_of() { # the uri: line that follows "token: $1"
  awk -v t="$1" '
    /^[[:space:]]*token: / { sub(/^[[:space:]]*token: /, ""); cur = $0; next }
    cur == t && /^[[:space:]]*uri: / { sub(/^[[:space:]]*uri: /, ""); print; exit }' "$T/U.log"
}
for pair in "auth:$AUTH_TOKEN_LABEL" "sign:$SIGN_TOKEN_LABEL"; do
  which=${pair%%:*} label=${pair#*:}
  uri=$(uri_of "$label")
  if [ "$(uri_attr "$uri" token)" = "$label" ]; then
    pass "certutil -U lists the $which token with its URI"
    info "$uri"
  else
    fail "certutil -U lists the $which token with its URI" "$(cat "$T/U.log")"
  fi
done

# --- certutil -L: certificates under "<token>:<label>" -----------------------------
# Without a PIN (no TTY, stdin /dev/null): NSS cannot log in, nothing is sent
# to the card's PIN counters. The auth certificate is a user certificate
# (u,u,u: NSS found its private key) and the auth CA certificate is listed.
run_to "$T/L-all.log" certutil -L -d "$DB" -h all
AUTH_NICK=$(grep -F "$AUTH_TOKEN_LABEL:" "$T/L-all.log" | grep -E 'u,u,u[[:space:]]*$' | sed -n 1p |
  sed -E 's/[[:space:]]+u,u,u[[:space:]]*$//')
n_auth=$(grep -cF "$AUTH_TOKEN_LABEL:" "$T/L-all.log")
if [ -n "$AUTH_NICK" ] && [ "$n_auth" -ge 2 ]; then
  pass "certutil -L -h all lists the auth certificate (with its key) and the auth CA certificate"
  grep -F "$AUTH_TOKEN_LABEL:" "$T/L-all.log" | sed 's/[[:space:]]*$//; s/^/    /'
else
  fail "certutil -L -h all lists the auth certificate (with its key) and the auth CA certificate" "$(cat "$T/L-all.log")"
fi
# Before login the sign token shows only its CA certificate (public).
SIGN_CA_NICK="$SIGN_TOKEN_LABEL:Digital Signature CA Certificate"
sign_other=$(grep -F "$SIGN_TOKEN_LABEL:" "$T/L-all.log" | grep -vF "$SIGN_CA_NICK")
if [ -n "$sign_other" ]; then
  fail "the sign certificate is hidden before login" "$sign_other"
else
  pass "the sign certificate is hidden before login"
fi
expect_in "certutil -L -h all lists the sign CA certificate before login" "$T/L-all.log" "^$(printf '%s' "$SIGN_CA_NICK" | sed 's/[][().*+?^$|{}\\]/\\&/g')"

# With the sign PIN the sign certificate appears (its nickname only: the
# sign certificate carries personal data and is never printed).
run_to "$T/L-sign.log" certutil -L -d "$DB" -h "$SIGN_TOKEN_LABEL" -f "$T/sign.pin"
sign_certs=$(grep -F "$SIGN_TOKEN_LABEL:" "$T/L-sign.log")
if grep -qE 'u,u,u[[:space:]]*$' <<<"$sign_certs"; then
  pass "certutil -L -h <sign token> -f <PIN file> lists the sign certificate after login"
  grep -F "$SIGN_TOKEN_LABEL:" "$T/L-sign.log" | sed 's/[[:space:]]*$//; s/^/    /'
else
  fail "certutil -L -h <sign token> -f <PIN file> lists the sign certificate after login" "$(cat "$T/L-sign.log")"
fi

# --- certutil -K: the private keys --------------------------------------------------
key_listed() { # key_listed WHAT TOKEN PINFILE ID
  run_to "$T/K.log" certutil -K -d "$DB" -h "$2" -f "$3"
  if grep -qE "^<[[:space:]]*[0-9]+> rsa[[:space:]]+$4([[:space:]]|\$)" "$T/K.log"; then
    pass "$1"
    grep -E '^<' "$T/K.log" | sed 's/[[:space:]]*$//; s/^/    /'
  else
    fail "$1" "$(cat "$T/K.log")"
  fi
}
key_listed "certutil -K -h <auth token> -f <PIN file> lists the RSA auth key (CKA_ID 01)" \
  "$AUTH_TOKEN_LABEL" "$T/auth.pin" 01
key_listed "certutil -K -h <sign token> -f <PIN file> lists the RSA sign key (CKA_ID 02)" \
  "$SIGN_TOKEN_LABEL" "$T/sign.pin" 02

# --- TLS client authentication with tstclnt ------------------------------------------
printf 'GET / HTTP/1.0\r\n\r\n' >"$T/req.txt"

# tstclnt_run LOG VERSIONS [ARGS...]: one handshake and GET with the auth key.
# (-A file with stdin /dev/null: tstclnt hangs when the request comes on a pipe.)
tstclnt_run() {
  local log=$1 versions=$2; shift 2
  run_to "$log" tstclnt -4 -h 127.0.0.1 -p "$PORT" -d "$DB" -n "$AUTH_NICK" \
    -W "$T/auth.pin" -V "$versions" -A "$T/req.txt" "$@"
}

# page_ok LOG WHAT: the -www page shows the card's auth certificate and a
# PKCS#1 v1.5 CertificateVerify (test/lib.sh server_saw_card_cert).
page_ok() { server_saw_card_cert "$1" "$2"; }

if [ -z "${AUTH_NICK:-}" ]; then
  fail "TLS 1.2 client authentication with tstclnt" "no nickname for the auth certificate (see certutil -L)"
  finish
fi

PORT=$(free_port)
if start_s_server "$PORT" s_server12 -tls1_2; then
  S12=$BG_PID
  rc=0; tstclnt_run "$T/tls12-pkcs1.log" tls1.2:tls1.2 -J rsa_pkcs1_sha256,rsa_pkcs1_sha384,rsa_pkcs1_sha512 || rc=$?
  page_ok "$T/tls12-pkcs1.log" \
    "TLS 1.2 client auth: tstclnt -n '$AUTH_NICK' -J rsa_pkcs1_sha256,... (exit $rc)"

  # NSS's own choice: it offers RSA-PSS only for keys whose token does
  # CKM_RSA_PKCS_PSS, so with the card it must fall back to PKCS#1 v1.5.
  rc=0; tstclnt_run "$T/tls12-default.log" tls1.2:tls1.2 || rc=$?
  page_ok "$T/tls12-default.log" \
    "TLS 1.2 client auth: tstclnt with NSS's default signature schemes picks PKCS#1 v1.5 (exit $rc)"
  kill -0 "$S12" 2>/dev/null && stop_pid "$S12"
fi

# TLS 1.3 CertificateVerify must be RSA-PSS (RFC 8446 4.4.3): a PKCS#1 v1.5-only
# card cannot authenticate; the handshake must fail cleanly (no crash, no hang).
PORT=$(free_port)
if start_s_server "$PORT" s_server13 -tls1_3; then
  rc=0; tstclnt_run "$T/tls13.log" tls1.3:tls1.3 || rc=$?
  if crashed "$rc"; then
    fail "TLS 1.3 client auth fails cleanly (CertificateVerify needs RSA-PSS)" "tstclnt crashed or hung (exit $rc):"$'\n'"$(tail "$T/tls13.log")"
  elif grep -q '^Client certificate' "$T/tls13.log"; then
    fail "TLS 1.3 client auth fails cleanly (CertificateVerify needs RSA-PSS)" "the handshake succeeded: $(grep -m1 'Peer signature type' "$T/tls13.log")"
  else
    pass "TLS 1.3 client auth fails cleanly (CertificateVerify needs RSA-PSS)"
    info "tstclnt exit $rc: $(grep -m1 -E 'SSL_ERROR|SEC_ERROR|error' "$T/tls13.log" | cut -c1-160)"
  fi
fi

check_tries
finish
