#!/usr/bin/env bash
# Firefox ESR (Debian's firefox-esr) against our module and a fresh simulated
# card: a throwaway profile; the module registered by an enterprise policy
# (SecurityDevices in policies.json, in Firefox's distribution directory for
# the length of the run: removed, or the previous file put back, on exit);
# a local HTTPS server (openssl s_server -www -Verify 1 on 127.0.0.1) that
# requires a client certificate from the card's auth CA. Firefox runs under
# Xvfb with Marionette; test/firefox/fxdriver checks that Firefox loaded the
# module and sees the token, opens the page, and types the PIN into Firefox's
# password dialog with xdotool (see test/firefox/README-snippet.md for why).
# Installs firefox-esr, xvfb and xdotool from Debian when they are missing.
# MYNA_FIREFOX_TIMEOUT: seconds the driver may take (default 200; a hang guard).
. "$(dirname "$0")/common.sh"

MODNAME="My Number Card (myna-pkcs11)"
FXDIR="$ROOT/test/firefox"

# --- packages ---------------------------------------------------------------------
missing=()
for pkg in firefox-esr xvfb xdotool libnss3-tools; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    fail "install ${missing[*]}" "not root: run apt-get install -y ${missing[*]}"; finish
  fi
  info "installing ${missing[*]} from Debian"
  if run_to "$T/apt-update.log" apt-get update -q &&
    TMO=900 DEBIAN_FRONTEND=noninteractive run_to "$T/apt-install.log" apt-get install -y -q "${missing[@]}"; then
    pass "apt-get install ${missing[*]}"
  else
    fail "apt-get install ${missing[*]}" "$(tail -n 15 "$T/apt-install.log" 2>/dev/null || tail -n 15 "$T/apt-update.log")"; finish
  fi
fi
FIREFOX=$(readlink -f "$(command -v firefox-esr)")
DISTDIR="$(dirname "$FIREFOX")/distribution"
info "$("$FIREFOX" --version 2>/dev/null) at $FIREFOX"

need_module
card_init
server_pki

# --- the driver ----------------------------------------------------------------------
check "build test/firefox/fxdriver (Marionette client)" \
  go -C "$ROOT" build -o "$T/fxdriver" ./test/firefox/fxdriver || finish

# --- enterprise policy: SecurityDevices -------------------------------------------------
# One run at a time may own Firefox's policies.json.
exec 9>/tmp/myna-pkcs11-firefox-policy.lock
if ! flock -w 600 9; then fail "lock $DISTDIR/policies.json" "another firefox.sh has held it for 10 minutes"; finish; fi
POLICY="$DISTDIR/policies.json"
POLICY_BACKUP=""
restore_policy() {
  [ -n "${POLICY_INSTALLED:-}" ] || return 0
  if [ -n "$POLICY_BACKUP" ]; then cp -p -- "$POLICY_BACKUP" "$POLICY"; else rm -f -- "$POLICY"; fi
  POLICY_INSTALLED=""
}
trap 'restore_policy; _cleanup' EXIT
for sys in /etc/firefox/policies/policies.json /etc/firefox-esr/policies/policies.json; do
  # A system-wide policy file there takes precedence over the distribution one.
  [ ! -e "$sys" ] || info "note: $sys exists and may override the test policy"
done
mkdir -p "$DISTDIR"
if [ -e "$POLICY" ] && ! grep -q 'written by myna-pkcs11 test/suites/firefox.sh' "$POLICY"; then
  POLICY_BACKUP="$T/policies.json.orig"
  cp -p -- "$POLICY" "$POLICY_BACKUP"
fi
sed -e "s|@MODULE_NAME@|$MODNAME|" -e "s|@MODULE_PATH@|$MOD|" "$FXDIR/policies.json.in" >"$T/policies.json"
POLICY_INSTALLED=1
cp -- "$T/policies.json" "$POLICY"
info "policy $POLICY: SecurityDevices.Add {\"$MODNAME\": \"$MOD\"}"

# --- profile ---------------------------------------------------------------------------------
PROFILE="$T/profile"
mkdir -p "$PROFILE" "$T/home"
check "certutil -N creates the profile's NSS database" certutil -N --empty-password -d "sql:$PROFILE" || finish
check "the profile trusts the test server CA (certutil -A -t C,,)" \
  certutil -A -d "sql:$PROFILE" -n "myna test server CA" -t "C,," -a -i "$SERVER_CA" || finish
cp "$FXDIR/user.js" "$PROFILE/user.js"
if grep -q "$MOD" "$PROFILE/pkcs11.txt" 2>/dev/null; then
  fail "the profile does not list the module before Firefox starts" "$(cat "$PROFILE/pkcs11.txt")"
fi
printf '%s\n' "$AUTH_PIN" >"$T/auth.pin"
chmod 600 "$T/auth.pin"

# --- the HTTPS server -------------------------------------------------------------------------
PORT=$(free_port)
start_s_server "$PORT" s_server -tls1_2 || finish
URL="https://127.0.0.1:$PORT/"
# TLS 1.3 only: the client's CertificateVerify must be RSA-PSS, which the card cannot make.
PORT13=$(free_port)
start_s_server "$PORT13" s_server13 -tls1_3 || finish
URL13="https://127.0.0.1:$PORT13/"

# --- Xvfb and Firefox -------------------------------------------------------------------------
# Xvfb picks a free display and writes its number to fd 3 when it is ready.
start_bg xvfb bash -c 'exec Xvfb -displayfd 3 -screen 0 1280x1024x24 -nolisten tcp 3>"$1"' _ "$T/display"
XVFB=$BG_PID
for i in $(seq $((TMO * 10))); do [ -s "$T/display" ] && break; kill -0 "$XVFB" 2>/dev/null || break; sleep 0.1; done
if [ ! -s "$T/display" ]; then fail "Xvfb starts" "$(tail "$T/xvfb.log")"; finish; fi
export DISPLAY=":$(tr -dc 0-9 <"$T/display")"
pass "Xvfb runs on display $DISPLAY"

start_bg firefox env HOME="$T/home" "$FIREFOX" --no-remote --marionette -remote-allow-system-access \
  --profile "$PROFILE"
FXPID=$BG_PID

# Steps the driver reports ("OK <step>: ..."), in order, with what each shows.
steps=(session policy module token navigate pin-prompt pin-entered page refused)
declare -A what=(
  [session]="Firefox ESR starts under Xvfb and accepts a Marionette session"
  [policy]="the enterprise policy SecurityDevices is active (policies.json)"
  [module]="Firefox loaded the module as security device \"$MODNAME\""
  [token]="Firefox sees the token \"$AUTH_TOKEN_LABEL\""
  [navigate]="Firefox opens $URL"
  [pin-prompt]="Firefox asks for the PIN of \"$AUTH_TOKEN_LABEL\" in its password dialog"
  [pin-entered]="the PIN is typed into the dialog (xdotool) and accepted"
  [page]="the page loads: the TLS handshake with the card's client certificate completed"
  [refused]="a TLS 1.3-only server gets no client authentication: Firefox shows an error page (RSA-PSS needed)"
)
rc=0
timeout -k 5 $((${MYNA_FIREFOX_TIMEOUT:-200} + 40)) "$T/fxdriver" -profile "$PROFILE" -log "$T/firefox.log" -pid "$FXPID" -url "$URL" \
  -module "$MODNAME" -lib "$MOD" -token "$AUTH_TOKEN_LABEL" -pin-file "$T/auth.pin" \
  -out "$T/page.txt" -refuse-url "$URL13" -timeout ${MYNA_FIREFOX_TIMEOUT:-200}s >"$T/driver.log" 2>&1 || rc=$?
failed_step=""
for s in "${steps[@]}"; do
  line=$(grep -m1 "^OK $s: " "$T/driver.log")
  if [ -n "$line" ]; then
    pass "${what[$s]}"
    info "${line#OK $s: }"
  elif [ -z "$failed_step" ]; then
    failed_step=$s
    fail "${what[$s]}" "$(grep -E '^(FAIL|OK) ' "$T/driver.log" | tail -n 3; [ "$rc" -eq 0 ] || echo "fxdriver exit $rc")"$'\n'"firefox log: $(grep -vE 'RemoteAgent|^\s' "$T/firefox.log" | tail -n 8)"
  else
    skip "${what[$s]}" "not reached: step $failed_step failed"
  fi
done
grep '^OK other-prompt: ' "$T/driver.log" | sed 's/^OK other-prompt: /    other dialog: /'
[ "$rc" -eq 0 ] || [ -n "$failed_step" ] || fail "fxdriver exits 0" "exit $rc: $(tail -n 5 "$T/driver.log")"

# --- what the servers saw ---------------------------------------------------------------------------
if [ -z "$failed_step" ]; then
  if grep -q 'peer did not return a certificate' "$T/s_server13.log"; then
    pass "the TLS 1.3 server ended the handshake because Firefox sent no client certificate"
    info "s_server (TLS 1.3): $(grep -m1 'peer did not return a certificate' "$T/s_server13.log" | cut -c1-160)"
  else
    fail "the TLS 1.3 server ended the handshake because Firefox sent no client certificate" "$(tail -n 8 "$T/s_server13.log")"
  fi

  AUTH_FP=$(openssl x509 -in "$AUTH_CERT" -noout -fingerprint -sha256 | cut -d= -f2)
  fp=$(sed -n '/^Client certificate/,/END CERTIFICATE/p' "$T/page.txt" | openssl x509 -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2)
  if [ -n "$fp" ] && [ "$fp" = "$AUTH_FP" ] && grep -q '^Peer signature type: RSA$' "$T/page.txt"; then
    pass "the server saw the card's auth certificate and a PKCS#1 v1.5 signature from Firefox"
    info "server page: $(grep -m1 'Protocol  *:' "$T/page.txt" | sed 's/^ *//;s/  */ /g'); $(grep -m1 '^Peer signature type' "$T/page.txt"); client $(sed -n '/^Client certificate/,$p' "$T/page.txt" | grep -m1 'Subject:' | sed 's/^ *//')"
  else
    fail "the server saw the card's auth certificate and a PKCS#1 v1.5 signature from Firefox" \
      "client cert $fp (card: $AUTH_FP); $(grep -m1 'Peer signature type' "$T/page.txt")"
  fi
fi

# Firefox was asked to quit; give it a moment, then stop it by PID.
for i in $(seq 100); do kill -0 "$FXPID" 2>/dev/null || break; sleep 0.1; done
stop_pid "$FXPID"
if grep -qF "library=$MOD" "$PROFILE/pkcs11.txt" 2>/dev/null; then
  pass "the policy registered the module in the profile (pkcs11.txt)"
else
  fail "the policy registered the module in the profile (pkcs11.txt)" "$(cat "$PROFILE/pkcs11.txt" 2>/dev/null)"
fi

restore_policy
if [ -n "$POLICY_BACKUP" ] && cmp -s "$POLICY_BACKUP" "$POLICY"; then
  pass "the previous $POLICY is restored"
elif [ -z "$POLICY_BACKUP" ] && [ ! -e "$POLICY" ]; then
  pass "the test policy is removed from $DISTDIR"
else
  fail "the system's Firefox policy is left as it was" "$(ls -l "$POLICY" 2>&1)"
fi

check_tries
finish
