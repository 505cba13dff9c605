#!/usr/bin/env bash
# Firefox ESR (Debian's firefox-esr) against our module and a fresh simulated
# card: a throwaway profile; the module registered by an enterprise policy
# (SecurityDevices in policies.json, in Firefox's distribution directory for
# the length of the run: removed, or the previous file put back, on exit);
# a local HTTPS server (openssl s_server -www -Verify 1 on 127.0.0.1) that
# requires a client certificate from the card's auth CA. Firefox runs under
# Xvfb with Marionette; test/firefox/fxdriver checks that Firefox loaded the
# module and sees the token, opens the page, and types the PIN into Firefox's
# password dialog with xdotool (see test/firefox/README.md for why).
# Runs: the module from an enterprise policy; from modutil with FRIENDLY; a
# wrong PIN, then the right one; each kind of malformed PIN (too short, too
# long, letters, empty), then the right one; `myna-pkcs11 register` on a home
# where Firefox made its first profile (~/.config/mozilla/firefox); each smartphone credential in that profile; the last
# try and a locked PIN, with the card behind pcscd and vpcd (myna-sim counts
# the VERIFYs) and the module's notifications on a private session bus.
# Installs firefox-esr, xvfb and xdotool from Debian when they are missing.
# MYNA_FIREFOX_TIMEOUT: seconds the driver may take (default 200; a hang guard).
. "$(dirname "$0")/../lib.sh"

MODNAME="My Number Card (myna-pkcs11)"
FXDIR="$ROOT/test/firefox"

# --- packages ---------------------------------------------------------------------
need_packages firefox-esr xvfb xdotool libnss3-tools
COMPANION=${MYNA_COMPANION:-$ROOT/build/out/myna-pkcs11}
[ -x "$COMPANION" ] || { fail "the companion command is built" "make build/out/myna-pkcs11"; finish; }
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
on_exit restore_policy
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

# --- profiles ------------------------------------------------------------------------------
# new_profile DIR: an empty profile whose NSS database trusts the test server CA.
new_profile() {
  mkdir -p "$1"
  check "certutil -N creates the profile's NSS database ($(basename "$1"))" certutil -N --empty-password -d "sql:$1" &&
    check "the profile trusts the test server CA (certutil -A -t C,,)" \
      certutil -A -d "sql:$1" -n "myna test server CA" -t "C,," -a -i "$SERVER_CA" &&
    cp "$FXDIR/user.js" "$1/user.js"
}
PROFILE="$T/profile-policy"
new_profile "$PROFILE" || finish
if grep -qF "$MOD" "$PROFILE/pkcs11.txt" 2>/dev/null; then
  fail "the profile does not list the module before Firefox starts" "$(cat "$PROFILE/pkcs11.txt")"
fi
mkdir -p "$T/home"
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
start_xvfb xvfb || { fail "Xvfb starts" "$(tail "$T/xvfb.log")"; finish; }
export DISPLAY=$XDISPLAY
pass "Xvfb runs on display $DISPLAY"

# firefox_run NAME PROFILE STEPS DRIVER-ARGS...: starts Firefox on PROFILE, runs
# the driver, prints a PASS/FAIL/SKIP line per step in STEPS (the driver's
# "OK <step>:" lines), checks what the servers saw and stops Firefox by PID.
# Sets RUN_FAILED to the first failed step (empty when all passed). With
# FX_ERROR_PAGE=1 the run is to end on an error page: fxdriver's exit 1 (its
# "FAIL page:" line, which the caller checks) is expected, the servers unchecked.
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
firefox_run() {
  local name=$1 profile=$2 steps=$3 rc=0 fxpid i
  shift 3
  local dlog="$T/$name-driver.log" flog="$T/$name-firefox.log" page="$T/$name-page.txt"
  start_bg "$name-firefox" env HOME="$T/home" "$FIREFOX" --no-remote --marionette -remote-allow-system-access \
    --profile "$profile"
  fxpid=$BG_PID
  timeout -k 5 $((${MYNA_FIREFOX_TIMEOUT:-200} + 40)) "$T/fxdriver" -profile "$profile" -log "$flog" -pid "$fxpid" \
    -url "$URL" -module "$MODNAME" -lib "$MOD" -token "$AUTH_TOKEN_LABEL" -pin-file "$T/auth.pin" \
    -out "$page" -refuse-url "$URL13" -timeout "${MYNA_FIREFOX_TIMEOUT:-200}s" "$@" >"$dlog" 2>&1 || rc=$?
  # shellcheck disable=SC2086  # steps is a list of words
  driver_steps "$name" "$dlog" "$rc" "$flog" firefox $steps
  grep '^OK other-prompt: ' "$dlog" | sed 's/^OK other-prompt: /    other dialog: /'
  if [ "$rc" -ne 0 ] && [ -z "$RUN_FAILED" ] && [ -z "${FX_ERROR_PAGE:-}" ]; then
    RUN_FAILED=driver
    fail "[$name] fxdriver exits 0" "exit $rc: $(tail -n 5 "$dlog")"
  fi

  if [ -z "$RUN_FAILED" ] && [ -z "${FX_ERROR_PAGE:-}" ]; then
    server_saw_card_cert "$page" "[$name] the server saw the card's auth certificate and a PKCS#1 v1.5 signature from Firefox"
    local n13
    n13=$(grep -c 'peer did not return a certificate' "$T/s_server13.log")
    if [ "$n13" -gt "${N13:-0}" ]; then
      pass "[$name] the TLS 1.3 server ended the handshake because Firefox sent no client certificate"
    else
      fail "[$name] the TLS 1.3 server ended the handshake because Firefox sent no client certificate" "$(tail -n 8 "$T/s_server13.log")"
    fi
    N13=$n13
  fi

  # Firefox was asked to quit; give it a moment, then stop it by PID.
  for i in $(seq 100); do kill -0 "$fxpid" 2>/dev/null || break; sleep 0.1; done
  stop_pid "$fxpid"
}

# 1. The module from the enterprise policy.
# No dialog for another token may appear (the module shows a browser only the
# auth token): -other-prompts 0, so nothing is ever cancelled.
firefox_run policy "$PROFILE" "session policy module token navigate pin-prompt pin-entered page refused" -other-prompts 0
if grep -qF "library=$MOD" "$PROFILE/pkcs11.txt" 2>/dev/null; then
  pass "[policy] the policy registered the module in the profile (pkcs11.txt)"
else
  fail "[policy] the policy registered the module in the profile (pkcs11.txt)" "$(cat "$PROFILE/pkcs11.txt" 2>/dev/null)"
fi

restore_policy
if [ -n "$POLICY_BACKUP" ] && cmp -s "$POLICY_BACKUP" "$POLICY"; then
  pass "the previous $POLICY is restored"
elif [ -z "$POLICY_BACKUP" ] && [ ! -e "$POLICY" ]; then
  pass "the test policy is removed from $DISTDIR"
else
  fail "the system's Firefox policy is left as it was" "$(ls -l "$POLICY" 2>&1)"
fi

# 2. The module added to the profile with modutil and NSS's FRIENDLY flag
# (slotFlags=PublicCerts: certificates are readable without login), no
# policy: Firefox must not ask for the sign token's password at all.
PROFILE2="$T/profile-modutil"
if new_profile "$PROFILE2" &&
  check "[modutil] modutil -add -mechanisms FRIENDLY adds the module to the profile" \
    modutil -dbdir "sql:$PROFILE2" -add "$MODNAME" -libfile "$MOD" -mechanisms FRIENDLY -force; then
  expect_in "[modutil] the profile's pkcs11.txt marks the card's slots PublicCerts" "$PROFILE2/pkcs11.txt" 'slotFlags=PublicCerts'
  firefox_run modutil "$PROFILE2" "session module token navigate pin-prompt pin-entered page refused" \
    -policy=false -other-prompts 0
  if [ -z "$RUN_FAILED" ] && ! grep -q '^OK other-prompt' "$T/modutil-driver.log"; then
    pass "[modutil] Firefox never asked for the sign token's password (FRIENDLY: no login to look for certificates)"
  fi
fi

# 3. A wrong PIN first, then the right one, typed into successive dialogs of
# the auth token (module added with plain modutil): Firefox asks again, one
# try is spent, the page loads; a third dialog would fail the run.
PROFILE3="$T/profile-wrong-first"
printf '9999\n%s\n' "$AUTH_PIN" >"$T/wrong-first.pins"
if new_profile "$PROFILE3" &&
  check "[wrong-first] modutil -add adds the module to the profile" \
    modutil -dbdir "sql:$PROFILE3" -add "$MODNAME" -libfile "$MOD" -force; then
  MYNA_PKCS11_DEBUG=1 firefox_run wrong-first "$PROFILE3" "session module token navigate pin-prompt pin-entered page refused" \
    -policy=false -other-prompts 0 -pin-file "$T/wrong-first.pins"
  expect_in "[wrong-first] the wrong PIN spent one try and Firefox asked again" "$T/wrong-first-firefox.log" \
    'C_Login \(auth token\): CKR_PIN_INCORRECT: .*wrong PIN, 2 tries left'
  expect_in "[wrong-first] two PIN dialogs, the second one took the right PIN" "$T/wrong-first-driver.log" '^OK pin-entered: typed PIN 2 of 2 '
fi

check_tries   # the right PIN restored the counter

# 4. Each kind of malformed PIN, then the right one (module added with plain
# modutil): the module answers CKR_PIN_INCORRECT without asking the card (NSS
# asks again only after that code), Firefox asks again, the page loads, and
# no try is spent.
for kind in 'short|123|has 3 characters' 'long|12345|has 5 characters' 'letters|12a4|must be 4 digits 0-9' 'empty||has 0 characters'; do
  IFS='|' read -r name pin why <<<"$kind"
  prof="$T/profile-malformed-$name"
  printf '%s\n%s\n' "$pin" "$AUTH_PIN" >"$T/malformed-$name.pins"
  if new_profile "$prof" &&
    check "[malformed-$name] modutil -add adds the module to the profile" \
      modutil -dbdir "sql:$prof" -add "$MODNAME" -libfile "$MOD" -force; then
    MYNA_PKCS11_DEBUG=1 firefox_run "malformed-$name" "$prof" "session module token navigate pin-prompt pin-entered page refused" \
      -policy=false -other-prompts 0 -pin-file "$T/malformed-$name.pins"
    expect_in "[malformed-$name] the PIN was refused before the card as a wrong PIN (CKR_PIN_INCORRECT), and the log says why" \
      "$T/malformed-$name-firefox.log" \
      "C_Login \(auth token\): the authentication PIN ${why}[^(]* \(not sent to the card, no try spent.*: CKR_PIN_INCORRECT\$"
    expect_in "[malformed-$name] Firefox asked again: two PIN dialogs, the second one took the right PIN" \
      "$T/malformed-$name-driver.log" '^OK pin-entered: typed PIN 2 of 2 '
  fi
  check_tries
done

# 5. The way README says: Firefox started once on a fresh home makes its own
# profile (Firefox 147 and later: in ~/.config/mozilla/firefox when there is
# no ~/.mozilla/firefox), then `myna-pkcs11 register` adds the module to it
# and says so; Firefox then loads the module and logs in.
RHOME="$T/home-register"
mkdir -p "$RHOME"
if run_to "$T/first-start.log" env -i HOME="$RHOME" PATH=/usr/bin:/bin "$FIREFOX" --headless --screenshot "$T/first-start.png" about:blank &&
  RPROF=$(sed -n 's/^Default=//p' "$RHOME/.config/mozilla/firefox/installs.ini" 2>/dev/null | sed -n 1p) && [ -n "$RPROF" ] &&
  [ -f "$RHOME/.config/mozilla/firefox/$RPROF/cert9.db" ] && [ ! -e "$RHOME/.mozilla" ]; then
  pass "[register] Firefox's first start on a fresh home makes its profile in ~/.config/mozilla/firefox ($RPROF; no ~/.mozilla)"
  RPROF="$RHOME/.config/mozilla/firefox/$RPROF"
  check "[register] myna-pkcs11 register" env HOME="$RHOME" XDG_CONFIG_HOME= "$COMPANION" register --module "$MOD"
  expect_in "[register] register says it added the module to that profile" "$CHECK_LOG" "^added +Firefox profile \"[^\"]*\" \($RPROF\)"
  expect_in "[register] register says Thunderbird was not found, and where it looked" "$CHECK_LOG" \
    '^not found +Thunderbird: no profile found in ~/.thunderbird, ~/.mozilla-thunderbird or ~/.config/thunderbird$'
  if check "[register] the profile trusts the test server CA (certutil -A -t C,,)" \
    certutil -A -d "sql:$RPROF" -n "myna test server CA" -t "C,," -a -i "$SERVER_CA" && cp "$FXDIR/user.js" "$RPROF/user.js"; then
    firefox_run register "$RPROF" "session module token navigate pin-prompt pin-entered page refused" -policy=false -other-prompts 0
  fi
else
  fail "[register] Firefox's first start on a fresh home makes its profile in ~/.config/mozilla/firefox" \
    "$(find "$RHOME" -maxdepth 4 -name '*.ini' -o -name cert9.db 2>&1 | sed -n 1,10p; tail -n 5 "$T/first-start.log")"
fi
check_tries

# --- smartphone credentials -------------------------------------------------------------
# 6. The main job on each phone (スマホ用電子証明書: myna-sim --device, the card's
# keys), in the profile `myna-pkcs11 register` set up in 5., in-process
# (MYNA_PKCS11_SIM_DEVICE) and through pcscd + vpcd: a phone shows its auth
# certificate only after the PIN, so Firefox must log in before it finds it.
# One PIN dialog (none for the sign token), the server sees the certificate
# the simulator holds, no try spent; then a wrong PIN, then the right one.
phone_run() { # phone_run DEVICE VIA NAME [DRIVER-ARGS...]
  local d=$1 via=$2 name=$3 sim=$STATE; shift 3
  if [ "$via" = pcsc ]; then
    sim=""
    if ! { { [ -n "$PCSCD_PID" ] || start_pcscd; } && start_sim "$STATE" 35963 --device "$d"; }; then fail "[$name] serve the $d to vpcd"; return 1; fi
  fi
  MYNA_PKCS11_DEBUG=1 MYNA_PKCS11_SIM=$sim MYNA_PKCS11_SIM_DEVICE=$d firefox_run "$name" "$RPROF" \
    "session module token navigate pin-prompt pin-entered page refused" -policy=false -other-prompts 0 "$@"
  expect_in "[$name] the module served the phone (its log: smartphone certificate found)" "$T/$name-firefox.log" \
    "smartphone certificate \\($(kind_of "$d")\\) found"
  stop_sim
  check_tries
}
if grep -qF "library=$MOD" "${RPROF:-/nonexistent}/pkcs11.txt" 2>/dev/null; then
  printf '9999\n%s\n' "$AUTH_PIN" >"$T/phone-wrong-first.pins"
  for d in android iphone; do
    for via in in-process pcsc; do phone_run "$d" "$via" "$d-$via"; done
    phone_run "$d" pcsc "$d-wrong-first" -pin-file "$T/phone-wrong-first.pins"
    expect_in "[$d-wrong-first] the wrong PIN spent one try and Firefox asked again" "$T/$d-wrong-first-firefox.log" \
      'C_Login \(auth token\): CKR_PIN_INCORRECT: .*wrong PIN, 2 tries left'
    expect_in "[$d-wrong-first] two PIN dialogs, the second one took the right PIN" "$T/$d-wrong-first-driver.log" '^OK pin-entered: typed PIN 2 of 2 '
  done
else
  fail "[phones] the profile of 5. lists the module" "5. did not register it"
fi
# With NSS's FRIENDLY flag (the profile of 2.) Firefox never logs in to look for
# certificates, so on a phone it finds none: no PIN dialog, no client certificate.
if grep -q 'slotFlags=PublicCerts' "$PROFILE2/pkcs11.txt" 2>/dev/null; then
  n=$(grep -c 'peer did not return a certificate' "$T/s_server.log")
  start_bg friendly-android-firefox env HOME="$T/home" MYNA_PKCS11_SIM_DEVICE=android "$FIREFOX" --no-remote --marionette \
    -remote-allow-system-access --profile "$PROFILE2"
  run_to "$T/friendly-android-driver.log" "$T/fxdriver" -profile "$PROFILE2" -log "$T/friendly-android-firefox.log" -pid "$BG_PID" \
    -url "$URL" -module "$MODNAME" -lib "$MOD" -token "$AUTH_TOKEN_LABEL" -pin-file "$T/auth.pin" -policy=false -other-prompts 0
  stop_pid "$BG_PID"
  expect_in "[friendly-android] FRIENDLY (profile of 2.), the android phone: Firefox shows no PIN dialog" "$T/friendly-android-driver.log" \
    '^FAIL page: Firefox shows an error page after 0 PIN dialog\(s\): SSL_ERROR_HANDSHAKE_FAILURE_ALERT '
  if [ "$(grep -c 'peer did not return a certificate' "$T/s_server.log")" -gt "$n" ]; then
    pass "[friendly-android] FRIENDLY, the android phone: Firefox sends the server no client certificate"
  else
    fail "[friendly-android] FRIENDLY, the android phone: Firefox sends the server no client certificate" "$(tail -n 5 "$T/s_server.log")"
  fi
  check_tries
fi

# 7. The last try and a locked PIN. Firefox reaches the card through pcscd
# and vpcd here, served by myna-sim, which counts the VERIFY commands that
# carry a PIN (--stats-file); the module sends its notifications to a
# private session bus.
start_notify_bus
if ! { [ -n "$PCSCD_PID" ] || start_pcscd; }; then fail "start pcscd (only one pcscd may run on the machine)"; finish; fi
STATS="$T/stats.json"
start_sim "$STATE" 35963 --stats-file "$STATS" || { fail "serve the simulated card to vpcd"; finish; }

# pin_run NAME TRIES PINS STEPS DRIVER-ARGS...: firefox_run on a fresh profile
# (plain modutil) with the card left at TRIES auth tries and PINS (words)
# typed into successive dialogs; the module reaches the card through
# pcscd and notifies on the private bus. Sets VERIFIES (the VERIFYs with a PIN
# the card got) and writes the run's notifications to $T/NAME-shown.txt.
pin_run() {
  local name=$1 tries=$2 pins=$3 steps=$4 prof="$T/profile-$1" v0 n0
  shift 4
  # shellcheck disable=SC2086  # PINS is a list of words
  printf '%s\n' $pins >"$T/$name.pins"
  new_profile "$prof" && check "[$name] modutil -add adds the module to the profile" \
    modutil -dbdir "sql:$prof" -add "$MODNAME" -libfile "$MOD" -force && set_auth_tries "$tries" || return 1
  v0=$(sim_stat "$STATS" verifies) n0=$(wc -l <"$SHOWN")
  MYNA_PKCS11_SIM="" MYNA_PKCS11_DEBUG=1 MYNA_PKCS11_NOTIFICATIONS=true DBUS_SESSION_BUS_ADDRESS=$NOTIFY_BUS \
    firefox_run "$name" "$prof" "$steps" -policy=false -other-prompts 0 -pin-file "$T/$name.pins" "$@"
  VERIFIES=$(($(sim_stat "$STATS" verifies) - v0))
  sed -n "$((n0 + 1)),\$p" "$SHOWN" >"$T/$name-shown.txt"
  info "the card got $VERIFIES VERIFY command(s) with a PIN; $(wc -l <"$T/$name-shown.txt") notification(s)"
  grep '^FAIL page: ' "$T/$name-driver.log" | cut -c 1-160 | sed 's/^/    /'
}

# The last try: a wrong PIN leaves one try; Firefox asks again with the same
# dialog, the right PIN typed into it loads the page and gives every try back.
pin_run last-try 2 "9999 $AUTH_PIN" "session module token navigate pin-prompt pin-entered page refused"
expect_in "[last-try] the wrong PIN left the last try (CKR_PIN_INCORRECT)" "$T/last-try-firefox.log" \
  'C_Login \(auth token\): CKR_PIN_INCORRECT: wrong PIN, 1 try left before the PIN locks'
expect_in "[last-try] Firefox asked again in a second, identical dialog; the right PIN in it loaded the page" "$T/last-try-driver.log" \
  '^OK pin-prompt: Firefox asks: "Please authenticate to the security device \(My Number Card \(Auth\)\)\." \(dialog 2\)$'
expect_notified "[last-try] one notification: the last try, do not try again unless sure" "$T/last-try-shown.txt" 1 \
  'My Number Card: last try for the authentication PIN'
check_tries

# A wrong PIN on the last try locks the PIN: the module answers
# CKR_PIN_LOCKED, and Firefox shows an error page without asking again for
# this handshake. Firefox may try the connection once more and show a second
# dialog first; the right PIN typed there never reaches the card.
FX_ERROR_PAGE=1 pin_run lock 1 "9999 $AUTH_PIN $AUTH_PIN" "session module token navigate pin-prompt pin-entered"
expect_in "[lock] the wrong PIN locked the PIN (CKR_PIN_LOCKED: card answered 63C0)" "$T/lock-firefox.log" \
  'C_Login \(auth token\): CKR_PIN_LOCKED: .*card answered 63C0'
expect_in "[lock] Firefox shows an error page (SSL_ERROR_HANDSHAKE_FAILURE_ALERT) after one dialog, or two" "$T/lock-driver.log" \
  '^FAIL page: Firefox shows an error page after [12] PIN dialog\(s\): SSL_ERROR_HANDSHAKE_FAILURE_ALERT '
if [ "$VERIFIES" = 1 ] && [ "$(tries_left "$STATE")" = "0 5" ]; then
  pass "[lock] only the wrong PIN reached the card (1 VERIFY with a PIN), which is now locked (0 of 3 tries)"
else
  fail "[lock] only the wrong PIN reached the card, which is now locked" "$VERIFIES VERIFYs with a PIN; tries $(tries_left "$STATE")"
fi
expect_notified "[lock] a notification: the PIN is locked, only the municipal office (市区町村の窓口) resets it" "$T/lock-shown.txt" + \
  'My Number Card: the authentication PIN is locked'

# A locked PIN: Firefox still shows its dialog (once, or twice as above); the
# PIN typed into it never reaches the card; an error page follows.
FX_ERROR_PAGE=1 pin_run locked 0 "$AUTH_PIN $AUTH_PIN" "session module token navigate pin-prompt pin-entered"
expect_in "[locked] the module refused the PIN without a VERIFY (CKR_PIN_LOCKED)" "$T/locked-firefox.log" \
  'C_Login \(auth token\): CKR_PIN_LOCKED: the auth PIN is locked'
expect_in "[locked] Firefox shows an error page (SSL_ERROR_HANDSHAKE_FAILURE_ALERT) after one dialog, or two" "$T/locked-driver.log" \
  '^FAIL page: Firefox shows an error page after [12] PIN dialog\(s\): SSL_ERROR_HANDSHAKE_FAILURE_ALERT '
if [ "$VERIFIES" = 0 ]; then pass "[locked] no VERIFY with a PIN reached the card"; else fail "[locked] no VERIFY with a PIN reached the card" "$VERIFIES"; fi
expect_notified "[locked] a notification: the PIN is locked, only the municipal office (市区町村の窓口) resets it" "$T/locked-shown.txt" + \
  'My Number Card: the authentication PIN is locked'
run_to "$T/admin-reset.log" "$SIM" --admin-reset --state "$STATE"
check_tries
finish
