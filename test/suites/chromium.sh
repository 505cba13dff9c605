#!/usr/bin/env bash
# Chromium (Debian's chromium) against our module and a fresh simulated card,
# set up the way README says: `myna-pkcs11 register` on a fresh home adds the
# module to ~/.pki/nssdb, nothing else is configured (no MYNA_PKCS11_TOKENS:
# the module itself shows a browser only the auth token). An
# AutoSelectCertificateForUrls policy (in /etc/chromium/policies/managed for the
# length of the run) picks the certificate. test/chromium/crdriver starts
# Chromium under Xvfb, opens a local TLS 1.2 `openssl s_server -Verify 1`
# through the DevTools protocol and types the PINs into Chromium's PIN dialogs
# with xdotool, counting them: a dialog more than the PINs given fails.
#   1. the right PIN: exactly one dialog, the server sees the auth certificate;
#   2. a wrong PIN, then the right one: two dialogs, one try spent, then in;
#   3. each kind of malformed PIN (too short, too long, letters), then the
#      right one: two dialogs, the malformed one never reaches the card;
#   4. an empty PIN: Chromium takes it as Cancel and never passes it on;
#   5. each smartphone credential, in-process and through pcscd and vpcd;
#   6. the last try and a locked PIN, with the card behind pcscd and vpcd
#      (myna-sim counts the VERIFYs) and the module's notifications on a
#      private session bus.
# Then `myna-pkcs11 unregister` removes exactly what register added.
. "$(dirname "$0")/../lib.sh"

CHROMIUM=/usr/bin/chromium
COMPANION=${MYNA_COMPANION:-$ROOT/build/out/myna-pkcs11}
POLICY_DIR=/etc/chromium/policies/managed
POLICY="$POLICY_DIR/myna-pkcs11-test.json"

for tool in "$CHROMIUM" Xvfb xdotool modutil certutil; do
  command -v "$tool" >/dev/null || { fail "$tool is installed" "run test/install-deps.sh (chromium xvfb xdotool libnss3-tools)"; finish; }
done
[ -x "$COMPANION" ] || { fail "the companion command is built" "make build/out/myna-pkcs11"; finish; }
info "$("$CHROMIUM" --version 2>/dev/null)"

need_module
card_init
server_pki
check "build test/chromium/crdriver (DevTools client)" go -C "$ROOT" build -o "$T/crdriver" ./test/chromium/crdriver || finish
# The module's notifications go to a private session bus (started while
# $HOME is the real one: go build needs its module cache).
start_notify_bus

# --- register on a fresh home ------------------------------------------------------
export HOME="$T/home"
mkdir -p "$HOME"
NSSDB="$HOME/.pki/nssdb"
check "myna-pkcs11 register --dry-run changes nothing" "$COMPANION" register --dry-run --module "$MOD"
if [ ! -e "$NSSDB" ]; then pass "--dry-run created no database"; else fail "--dry-run created no database" "$(ls -la "$NSSDB")"; fi
check "myna-pkcs11 register adds the module to a fresh ~/.pki/nssdb" "$COMPANION" register --module "$MOD"
expect_in "\$HOME/.pki/nssdb/pkcs11.txt lists the module" "$NSSDB/pkcs11.txt" "^library=$MOD\$"
check "myna-pkcs11 register again changes nothing (idempotent)" "$COMPANION" register --module "$MOD"
expect_in "register again says unchanged" "$CHECK_LOG" '^unchanged +Chromium'
n=$(grep -c "^library=$MOD\$" "$NSSDB/pkcs11.txt")
if [ "$n" = 1 ]; then pass "the module is listed once"; else fail "the module is listed once" "listed $n times"; fi
check "the database trusts the test server CA" certutil -A -d "sql:$NSSDB" -n "myna test server CA" -t "C,," -a -i "$SERVER_CA"

# --- the certificate-selection policy -------------------------------------------------
exec 9>/tmp/myna-pkcs11-chromium-policy.lock
flock -w 600 9 || { fail "lock $POLICY" "another chromium.sh has held it for 10 minutes"; finish; }
trap 'rm -f -- "$POLICY"; _cleanup' EXIT
PORT=$(free_port)
URL="https://127.0.0.1:$PORT/"
mkdir -p "$POLICY_DIR"
printf '{"AutoSelectCertificateForUrls": ["{\\"pattern\\":\\"https://127.0.0.1:%s\\",\\"filter\\":{}}"]}\n' "$PORT" >"$POLICY"
start_s_server "$PORT" s_server -tls1_2 || finish

# --- Xvfb --------------------------------------------------------------------------------
start_xvfb xvfb || { fail "Xvfb starts" "$(tail "$T/xvfb.log")"; finish; }
export DISPLAY=$XDISPLAY

AUTH_FP=$(openssl x509 -in "$AUTH_CERT" -noout -fingerprint -sha256 | cut -d= -f2)

# crdriver_run NAME LEVEL PIN...: one Chromium with a fresh profile, the PINs
# typed into successive dialogs (an empty PIN: Enter on an empty field); the
# module logs at LEVEL to $T/NAME-module.log. Returns crdriver's exit status.
crdriver_run() {
  local name=$1 level=$2 rc=0; shift 2
  printf '%s\n' "$@" >"$T/$name.pins"; chmod 600 "$T/$name.pins"
  MYNA_PKCS11_DEBUG=$level MYNA_PKCS11_LOG="$T/$name-module.log" timeout -k 5 120 "$T/crdriver" -chromium "$CHROMIUM" \
    -user-data-dir "$T/$name-profile" -url "$URL" -pin-file "$T/$name.pins" -out "$T/$name-page.txt" \
    >"$T/$name-driver.log" 2>"$T/$name-chromium.log" || rc=$?
  grep -E '^(OK|FAIL) ' "$T/$name-driver.log" | sed 's/^/    /'
  return "$rc"
}

# chromium_run NAME DIALOGS PIN...: one Chromium with a fresh profile, the PINs
# typed into successive dialogs; PASS when the page loads after exactly DIALOGS
# dialogs and the server saw the card's auth certificate. Module log: $T/NAME-module.log.
chromium_run() {
  local name=$1 want=$2 rc=0 fp; shift 2
  crdriver_run "$name" 1 "$@" || rc=$?
  if [ "$rc" -ne 0 ]; then
    fail "[$name] Chromium loads the page after $want PIN dialog(s)" "crdriver exit $rc: $(tail -n 3 "$T/$name-driver.log")"$'\n'"module log: $(tail -n 5 "$T/$name-module.log" 2>/dev/null)"
    return 1
  fi
  expect_in "[$name] the page loads after exactly $want PIN dialog(s), no other dialog" "$T/$name-driver.log" "^OK dialogs: exactly $want PIN dialogs\$"
  fp=$(sed -n '/^Client certificate/,/END CERTIFICATE/p' "$T/$name-page.txt" | openssl x509 -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2)
  if [ -n "$fp" ] && [ "$fp" = "$AUTH_FP" ] && grep -q 'Protocol  *: TLSv1.2' "$T/$name-page.txt"; then
    pass "[$name] the server saw the card's auth certificate over TLS 1.2"
  else
    fail "[$name] the server saw the card's auth certificate over TLS 1.2" "client cert ${fp:-none} (card: $AUTH_FP)"
  fi
  expect_in "[$name] the module showed Chromium only the auth token (logged at level 1)" "$T/$name-module.log" \
    'configuration: tokens auth \(default for chromium \(a web browser\)\)'
}

chromium_run right 1 "$AUTH_PIN"
check_tries

chromium_run wrong-first 2 9999 "$AUTH_PIN"
expect_in "[wrong-first] the wrong PIN spent one try (card: 2 tries left), and was refused" "$T/wrong-first-module.log" \
  'C_Login \(auth token\): CKR_PIN_INCORRECT: .*wrong PIN, 2 tries left'
check_tries   # the right PIN restored the counter

# Each kind of malformed PIN, then the right one: the module answers
# CKR_PIN_INCORRECT without asking the card, Chromium asks again, no try is spent.
for kind in 'short|123|has 3 characters' 'long|12345|has 5 characters' 'letters|12a4|must be 4 digits 0-9'; do
  IFS='|' read -r name pin why <<<"$kind"
  chromium_run "malformed-$name" 2 "$pin" "$AUTH_PIN"
  expect_in "[malformed-$name] the PIN was refused before the card as a wrong PIN (CKR_PIN_INCORRECT), and the log says why" \
    "$T/malformed-$name-module.log" \
    "C_Login \(auth token\): the authentication PIN ${why}[^(]* \(not sent to the card, no try spent.*: CKR_PIN_INCORRECT\$"
  if grep -q 'tries left' "$T/malformed-$name-module.log"; then
    fail "[malformed-$name] no VERIFY answer in the log (the card was not asked)" "$(grep 'tries left' "$T/malformed-$name-module.log")"
  else
    pass "[malformed-$name] no VERIFY answer in the log (the card was not asked)"
  fi
  check_tries
done

# An empty PIN never reaches the module: Chromium takes it as Cancel
# (SlotUnlocker::GotPassword in chrome/browser/ui/crypto_module_password_dialog_nss.cc),
# and that login fails with an error page even though the right PIN is typed
# into the dialog Chromium shows next. Every PKCS#11 call is logged (level 3):
# no C_Login at all, and no try spent.
if crdriver_run malformed-empty 3 "" "$AUTH_PIN"; then
  fail "[malformed-empty] Chromium takes an empty PIN as Cancel: the page does not load" "it loaded; README says it does not"
else
  expect_in "[malformed-empty] Chromium takes an empty PIN as Cancel: an error page (ERR_BAD_SSL_CLIENT_AUTH_CERT)" \
    "$T/malformed-empty-driver.log" '^FAIL page: Chromium shows an error page .*ERR_BAD_SSL_CLIENT_AUTH_CERT'
fi
if grep -q 'C_Login' "$T/malformed-empty-module.log"; then
  fail "[malformed-empty] Chromium called no C_Login (the empty PIN never reached the module)" "$(grep C_Login "$T/malformed-empty-module.log")"
elif grep -q 'call C_FindObjectsInit' "$T/malformed-empty-module.log"; then
  pass "[malformed-empty] Chromium called no C_Login (the empty PIN never reached the module)"
else
  fail "[malformed-empty] the module traced Chromium's calls (level 3)" "$(tail -n 5 "$T/malformed-empty-module.log")"
fi
check_tries

# --- smartphone credentials -------------------------------------------------------
# The main job on each phone (スマホ用電子証明書: myna-sim --device, the card's
# keys), with the module `myna-pkcs11 register` added above, in-process (MYNA_PKCS11_SIM_DEVICE) and
# through pcscd + vpcd: a phone shows its auth certificate only after the PIN,
# so Chromium must log in before it finds it. Exactly one PIN dialog (none for
# the sign token), the server sees the certificate the simulator holds, no try
# spent; then a wrong PIN, then the right one.
for d in android iphone; do
  for via in in-process pcsc wrong-first; do
    sim=$STATE pins=("$AUTH_PIN")
    if [ "$via" != in-process ]; then
      sim=""
      if ! { { [ -n "$PCSCD_PID" ] || start_pcscd; } && start_sim "$STATE" 35963 --device "$d"; }; then fail "[$d-$via] serve the $d to vpcd"; continue; fi
    fi
    [ "$via" != wrong-first ] || pins=(9999 "$AUTH_PIN")
    MYNA_PKCS11_SIM=$sim MYNA_PKCS11_SIM_DEVICE=$d chromium_run "$d-$via" ${#pins[@]} "${pins[@]}"
    expect_in "[$d-$via] the module served the phone (its log: smartphone certificate found)" "$T/$d-$via-module.log" \
      "smartphone certificate \\($(kind_of "$d")\\) found"
    [ "$via" != wrong-first ] || expect_in "[$d-wrong-first] the wrong PIN spent one try (2 tries left), and was refused" \
      "$T/$d-wrong-first-module.log" 'C_Login \(auth token\): CKR_PIN_INCORRECT: .*wrong PIN, 2 tries left'
    stop_sim
    check_tries
  done
done

# --- the last try and a locked PIN ------------------------------------------------------
# Chromium reaches the card through pcscd and vpcd here, served by myna-sim,
# which counts the VERIFY commands that carry a PIN (--stats-file); the
# module sends its notifications to the private session bus started above.
if ! start_pcscd; then fail "start pcscd (only one pcscd may run on the machine)"; finish; fi
STATS="$T/stats.json"
start_sim "$STATE" 35963 --stats-file "$STATS" || { fail "serve the simulated card to vpcd"; finish; }

# pin_run RUN NAME TRIES PIN...: RUN (chromium_run NAME DIALOGS, or
# crdriver_run NAME 1) with the card left at TRIES auth tries, the module
# reaching it through pcscd and notifying on the private bus. Sets VERIFIES
# (the VERIFYs with a PIN the card got) and writes the run's notifications
# to $T/NAME-shown.txt. Returns RUN's status.
pin_run() {
  local run=$1 name=$2 tries=$3 v0 n0 rc=0
  shift 3
  set_auth_tries "$tries" || return 1
  v0=$(sim_stat "$STATS" verifies) n0=$(wc -l <"$SHOWN")
  MYNA_PKCS11_SIM="" MYNA_PKCS11_NOTIFICATIONS=true DBUS_SESSION_BUS_ADDRESS=$NOTIFY_BUS "$run" "$name" "$@" || rc=$?
  VERIFIES=$(($(sim_stat "$STATS" verifies) - v0))
  sed -n "$((n0 + 1)),\$p" "$SHOWN" >"$T/$name-shown.txt"
  info "the card got $VERIFIES VERIFY command(s) with a PIN; $(wc -l <"$T/$name-shown.txt") notification(s)"
  return "$rc"
}

# The last try: a wrong PIN leaves one try; Chromium asks again, and the
# right PIN typed into the second dialog loads the page and gives every try back.
pin_run chromium_run last-try 2 2 9999 "$AUTH_PIN"
expect_in "[last-try] the wrong PIN left the last try (CKR_PIN_INCORRECT)" "$T/last-try-module.log" \
  'C_Login \(auth token\): CKR_PIN_INCORRECT: wrong PIN, 1 try left before the PIN locks'
expect_notified "[last-try] one notification: the last try, do not try again unless sure" "$T/last-try-shown.txt" 1 \
  'My Number Card: last try for the authentication PIN'
check_tries

# locked_page NAME: Chromium asked twice, then showed its error page.
locked_page() {
  expect_in "[$1] Chromium asks a second time, then shows an error page: access denied, ERR_BAD_SSL_CLIENT_AUTH_CERT" "$T/$1-driver.log" \
    "^FAIL page: Chromium shows an error page after 2 dialogs: Access to 127.0.0.1 was denied 127.0.0.1 didn.t accept your login certificate, or one may not have been provided\. .*ERR_BAD_SSL_CLIENT_AUTH_CERT"
  expect_notified "[$1] a notification: the PIN is locked, only the municipal office (市区町村の窓口) resets it" "$T/$1-shown.txt" + \
    'My Number Card: the authentication PIN is locked'
}

# A wrong PIN on the last try locks the PIN: the module answers
# CKR_PIN_LOCKED; the right PIN typed into Chromium's second dialog never
# reaches the card.
if pin_run crdriver_run lock 1 1 9999 "$AUTH_PIN" "$AUTH_PIN"; then
  fail "[lock] the page does not load on a locked PIN" "it loaded"
fi
expect_in "[lock] the wrong PIN locked the PIN (CKR_PIN_LOCKED: card answered 63C0)" "$T/lock-module.log" \
  'C_Login \(auth token\): CKR_PIN_LOCKED: .*card answered 63C0'
locked_page lock
if [ "$VERIFIES" = 1 ] && [ "$(tries_left "$STATE")" = "0 5" ]; then
  pass "[lock] only the wrong PIN reached the card (1 VERIFY with a PIN), which is now locked (0 of 3 tries)"
else
  fail "[lock] only the wrong PIN reached the card, which is now locked" "$VERIFIES VERIFYs with a PIN; tries $(tries_left "$STATE")"
fi

# A locked PIN: Chromium still shows its dialog; the PIN typed into it never
# reaches the card.
if pin_run crdriver_run locked 0 1 "$AUTH_PIN" "$AUTH_PIN"; then
  fail "[locked] the page does not load on a locked PIN" "it loaded"
fi
expect_in "[locked] the module refused the PIN without a VERIFY (CKR_PIN_LOCKED)" "$T/locked-module.log" \
  'C_Login \(auth token\): CKR_PIN_LOCKED: the auth PIN is locked'
locked_page locked
if [ "$VERIFIES" = 0 ]; then pass "[locked] no VERIFY with a PIN reached the card"; else fail "[locked] no VERIFY with a PIN reached the card" "$VERIFIES"; fi
run_to "$T/admin-reset.log" "$SIM" --admin-reset --state "$STATE"
check_tries

# --- unregister -----------------------------------------------------------------------
check "myna-pkcs11 unregister removes the module" "$COMPANION" unregister --module "$MOD"
if grep -q "^library=$MOD\$" "$NSSDB/pkcs11.txt"; then
  fail "\$HOME/.pki/nssdb no longer lists the module" "$(cat "$NSSDB/pkcs11.txt")"
else
  pass "\$HOME/.pki/nssdb no longer lists the module"
fi
expect_in "the test server CA the user added is still there" <(certutil -L -d "sql:$NSSDB") 'myna test server CA'
finish
