#!/usr/bin/env bash
# Thunderbird (Debian's thunderbird, 153 ESR) signs an e-mail with the card,
# the way README's Thunderbird recipe says: a fresh home where Thunderbird
# made its first profile itself; `myna-pkcs11 register` adds the module; the
# sign CA read from the card is trusted in the profile (README's
# thunderbird-trust recipe); then, under Xvfb with Marionette,
# test/firefox/fxdriver -mail chooses the S/MIME signing certificate in
# Account Settings and sends a signed message to a local SMTP server
# (test/thunderbird/smtpsink on 127.0.0.1), typing the PIN into
# Thunderbird's own password dialogs with xdotool and counting them: one,
# for the sign token; the auth token is never shown. The received message's
# signature is checked with openssl cms -verify against the sign CA and the
# card's sign certificate, and no PIN try is spent. A second start of
# Thunderbird sends a second signed message: one dialog again. A third, with
# MYNA_PKCS11_TOKENS=auth,sign, shows what the default avoids: Thunderbird
# then asks the Auth token's password too (cancelled; the mail still goes).
# The card is the simulator behind a private pcscd and vpcd (start_pcscd
# waits while another pcscd runs: one per machine).
# Installs thunderbird, xvfb and xdotool from Debian when they are missing.
# MYNA_THUNDERBIRD_TIMEOUT: seconds the driver may take per run (default 200; a hang guard).
. "$(dirname "$0")/../lib.sh"

MODNAME="My Number Card (myna-pkcs11)"
EMAIL=myna@example.test
TMO_DRIVER=${MYNA_THUNDERBIRD_TIMEOUT:-200}

# --- packages ---------------------------------------------------------------------
need_packages thunderbird xvfb xdotool libnss3-tools opensc
COMPANION=${MYNA_COMPANION:-$ROOT/build/out/myna-pkcs11}
[ -x "$COMPANION" ] || { fail "the companion command is built" "make build/out/myna-pkcs11"; finish; }
THUNDERBIRD=$(command -v thunderbird)
info "$("$THUNDERBIRD" --version 2>/dev/null | tail -n 1) at $THUNDERBIRD"

need_module
card_init
unset MYNA_PKCS11_SIM # the card through pcscd and vpcd
check "build test/firefox/fxdriver (Marionette client)" go -C "$ROOT" build -o "$T/fxdriver" ./test/firefox/fxdriver || finish
check "build test/thunderbird/smtpsink (the SMTP server)" go -C "$ROOT" build -o "$T/smtpsink" ./test/thunderbird/smtpsink || finish
if ! start_pcscd; then fail "start pcscd (only one pcscd may run on the machine)"; finish; fi
if ! start_sim "$STATE" 35963; then fail "serve the simulated card to vpcd"; finish; fi

# --- a fresh home: Thunderbird's first start makes the profile -------------------------
THOME="$T/home"
mkdir -p "$THOME"
start_bg first-start env -i HOME="$THOME" PATH=/usr/bin:/bin "$THUNDERBIRD" --headless
FIRST=$BG_PID
PROF=""
for i in $(seq $((TMO * 10))); do
  PROF=$(sed -n 's/^Default=//p' "$THOME/.thunderbird/installs.ini" 2>/dev/null | sed -n 1p)
  [ -n "$PROF" ] && [ -f "$THOME/.thunderbird/$PROF/cert9.db" ] && [ -f "$THOME/.thunderbird/$PROF/prefs.js" ] && break
  kill -0 "$FIRST" 2>/dev/null || break
  sleep 0.1
done
stop_pid "$FIRST" # SIGTERM: Thunderbird quits and unlocks the profile
if [ -n "$PROF" ] && [ -f "$THOME/.thunderbird/$PROF/cert9.db" ] && [ ! -e "$THOME/.thunderbird/$PROF/lock" ]; then
  pass "Thunderbird's first start on a fresh home makes its profile in ~/.thunderbird ($PROF, installs.ini)"
else
  fail "Thunderbird's first start on a fresh home makes its profile in ~/.thunderbird" \
    "$(find "$THOME" -maxdepth 3 2>&1 | sed -n 1,20p; tail -n 5 "$T/first-start.log")"; finish
fi
PROFILE="$THOME/.thunderbird/$PROF"

# --- register, trust the sign CA (README's recipe), the account ---------------------------
check "myna-pkcs11 register" env HOME="$THOME" XDG_CONFIG_HOME= "$COMPANION" register --module "$MOD"
expect_in "register says it added the module to the Thunderbird profile" "$CHECK_LOG" \
  "^added +Thunderbird profile \"[^\"]*\" \($PROFILE\): \"My Number Card \(myna-pkcs11\)\""
readme_recipe thunderbird-trust "$T/trust.sh" 'certutil -A'
mkdir -p "$T/recipe"
if check "README's thunderbird-trust recipe (the sign CA read from the card, trusted for e-mail in the profile)" \
  env -C "$T/recipe" HOME="$THOME" MOD="$MOD" bash -e "$T/trust.sh"; then
  certutil -L -d "sql:$PROFILE" -n "JPKI sign CA" -a >"$T/trusted-ca.pem" 2>"$T/trusted-ca.log"
  if [ "$(openssl x509 -in "$T/trusted-ca.pem" -noout -fingerprint -sha256 2>/dev/null)" = \
    "$(openssl x509 -in "$SIGN_CA" -noout -fingerprint -sha256)" ] &&
    certutil -L -d "sql:$PROFILE" >"$T/certs-list.txt" 2>&1 && grep -Eq '^JPKI sign CA +,C, *$' "$T/certs-list.txt"; then
    pass "the profile trusts the card's sign CA for e-mail (certutil -L: ,C,)"
  else
    fail "the profile trusts the card's sign CA for e-mail" "$(certutil -L -d "sql:$PROFILE" 2>&1; cat "$T/trusted-ca.log")"
  fi
fi
SMTP_PORT=$(free_port)
sed -e "s/@SMTP_PORT@/$SMTP_PORT/" -e "s/@EMAIL@/$EMAIL/" "$ROOT/test/thunderbird/user.js.in" >"$PROFILE/user.js"
mkdir -p "$T/mail"
start_bg smtpsink "$T/smtpsink" -listen "127.0.0.1:$SMTP_PORT" -dir "$T/mail"
wait_port "$SMTP_PORT" "$BG_PID" || { fail "the SMTP server listens on 127.0.0.1:$SMTP_PORT" "$(cat "$T/smtpsink.log")"; finish; }

# --- Xvfb ------------------------------------------------------------------------------
start_xvfb xvfb || { fail "Xvfb starts" "$(tail "$T/xvfb.log")"; finish; }
XVFB=$BG_PID
export DISPLAY=$XDISPLAY
pass "Xvfb runs on display $DISPLAY"
printf '%s\n' "$SIGN_PIN" >"$T/sign.pin"
chmod 600 "$T/sign.pin"

declare -A what=(
  [session]="Thunderbird starts under Xvfb and accepts a Marionette session"
  [module]="Thunderbird loaded the module as security device \"$MODNAME\""
  [token]="Thunderbird sees the token \"$SIGN_TOKEN_LABEL\" and not \"$AUTH_TOKEN_LABEL\""
  [settings]="Account Settings opens at End-To-End Encryption"
  [select]="Select… for the S/MIME signing certificate is clicked"
  [pin-prompt]="Thunderbird asks for the password of \"$SIGN_TOKEN_LABEL\" in its password dialog"
  [pin-entered]="the password is typed into the dialog (xdotool) and accepted"
  [picker]="the Select Certificate window lists the card's signature certificate; OK"
  [selected]="the identity signs with it (the encryption-certificate question cancelled)"
  [sign-default]="\"sign messages by default\" is ticked"
  [compose]="a new message is to be signed"
  [send]="Send is clicked"
  [sent]="the SMTP server on 127.0.0.1 receives the message"
  [pin-count]="exactly one password dialog, for the sign token; none for the auth token"
)
# tb_run NAME STEPS DRIVER-ARGS...: starts Thunderbird on the profile, runs the
# driver, prints a PASS/FAIL/SKIP line per step in STEPS, stops Thunderbird by
# PID. Sets RUN_FAILED to the first failed step (empty when all passed).
tb_run() {
  local name=$1 steps=$2 rc=0 tbpid
  shift 2
  local dlog="$T/$name-driver.log" tlog="$T/$name-thunderbird.log"
  # --no-remote: never hand the command line to an instance still going away.
  start_bg "$name-thunderbird" env HOME="$THOME" MYNA_PKCS11_LOG="$T/$name-module.log" MYNA_PKCS11_DEBUG=3 \
    "$THUNDERBIRD" --no-remote --marionette -remote-allow-system-access
  tbpid=$BG_PID
  # Thunderbird's output ($tlog, Marionette's trace) is where the driver reads the dialogs from.
  rm -f "$PROFILE/MarionetteActivePort"
  timeout -k 5 $((TMO_DRIVER + 40)) "$T/fxdriver" -mail "$T/mail" -profile "$PROFILE" -log "$tlog" -pid "$tbpid" \
    -module "$MODNAME" -lib "$MOD" -token "$SIGN_TOKEN_LABEL" -absent-token "$AUTH_TOKEN_LABEL" \
    -pin-file "$T/sign.pin" -policy=false -other-prompts 0 -timeout "${TMO_DRIVER}s" "$@" >"$dlog" 2>&1 || rc=$?
  # shellcheck disable=SC2086  # steps is a list of words
  driver_steps "$name" "$dlog" "$rc" "$tlog" thunderbird $steps
  if [ -n "$RUN_FAILED" ]; then
    info "Thunderbird's windows: $(xdotool search --pid "$tbpid" --name . getwindowname %@ 2>&1 | tr '\n' '|')"
    kill -0 "$XVFB" 2>/dev/null || info "Xvfb (pid $XVFB) is gone: $(tail -n 3 "$T/xvfb.log")"
  fi
  if [ "$rc" -ne 0 ] && [ -z "$RUN_FAILED" ]; then
    RUN_FAILED=driver
    fail "[$name] fxdriver exits 0" "exit $rc: $(tail -n 5 "$dlog")"
  fi
  for i in $(seq 100); do kill -0 "$tbpid" 2>/dev/null || break; sleep 0.1; done
  stop_pid "$tbpid"
}

# verify_message FILE NAME: the S/MIME signature of FILE verifies against the
# sign CA, its signer is the card's sign certificate, and the text is ours.
verify_message() {
  local msg=$1 name=$2
  if [ ! -s "$msg" ]; then fail "[$name] the SMTP server wrote the message" "$(cat "$T/smtpsink.log")"; return; fi
  expect_in "[$name] the message is S/MIME signed (multipart/signed, application/pkcs7-signature)" "$msg" \
    '^Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256'
  if check "[$name] openssl cms -verify: the signature verifies against the J-LIS sign CA" \
    openssl cms -verify -in "$msg" -CAfile "$SIGN_CA" -signer "$T/$name-signer.pem" -out "$T/$name-body.txt"; then
    if [ "$(openssl x509 -in "$T/$name-signer.pem" -noout -fingerprint -sha256)" = "$(openssl x509 -in "$T/sign-cert.pem" -noout -fingerprint -sha256)" ]; then
      pass "[$name] the signer is the card's signature certificate"
    else
      fail "[$name] the signer is the card's signature certificate" "$(openssl x509 -in "$T/$name-signer.pem" -noout -issuer -serial)"
    fi
    # The signed part: MIME headers, a blank line, the text in base64.
    sed '1,/^\r\{0,1\}$/d' "$T/$name-body.txt" | base64 -d >"$T/$name-text.txt" 2>/dev/null
    expect_in "[$name] the signed text is the one written" "$T/$name-text.txt" "^This message is signed with the card's signature key."
  fi
}

# module_logins NAME: the module's own log of run NAME (MYNA_PKCS11_DEBUG=3:
# every call) shows one C_Login, successful, and no session of the auth token.
module_logins() {
  local log="$T/$1-module.log" n
  n=$(grep -c ' call C_Login(' "$log")
  if [ "$n" = 1 ] && grep -q ' call C_Login(.*) = CKR_OK' "$log" && ! grep -q '(auth token)' "$log" &&
    grep -q 'C_OpenSession: slot [0-9]* (sign token)' "$log"; then
    pass "[$1] the module saw one C_Login (CKR_OK), on the sign token; no session on the auth token"
  else
    fail "[$1] the module saw one C_Login, on the sign token" "$n C_Login calls: $(grep -m 10 -E ' call C_Login\(|C_OpenSession' "$log")"
  fi
}

# 1. Choose the certificate in Account Settings, then send a signed message.
tb_run choose "session module token settings select pin-prompt pin-entered picker selected sign-default compose send sent pin-count"
[ -n "$RUN_FAILED" ] || module_logins choose
expect_in "[choose] the module's log says it chose the sign token for thunderbird-bin, a mail program" "$T/choose-module.log" \
  'configuration: tokens sign \(default for thunderbird-bin \(a mail program\)\)$'

if sign_pub_from_card; then
  verify_message "$T/mail/1.eml" choose
else
  fail "read the card's sign certificate (pkcs11-tool, to compare)" "$(tail -n 5 "$T/sign-cert.log")"
fi
check_tries

# 2. Thunderbird started again: the first signed send asks the password once.
tb_run send "session module token compose send pin-prompt pin-entered sent pin-count" -select=false
[ -n "$RUN_FAILED" ] || module_logins send
[ ! -s "$T/sign-cert.pem" ] || verify_message "$T/mail/2.eml" send
check_tries

# 3. Why Sign only: with both tokens (the old default, or tokens = auth,sign)
# Thunderbird also asks the Auth token's password when it signs; the driver
# cancels it (Escape) and the message is still sent, signed.
what[pin-count]="one password dialog for the sign token, and Auth's dialog too (cancelled)"
what[token]="Thunderbird sees the token \"$SIGN_TOKEN_LABEL\" (and \"$AUTH_TOKEN_LABEL\")"
MYNA_PKCS11_TOKENS=auth,sign tb_run both "session module token compose send pin-prompt pin-entered sent pin-count" \
  -select=false -absent-token "" -other-prompts 5
if [ -z "$RUN_FAILED" ]; then
  if grep -qF "OK other-prompt: Thunderbird asks: \"Please authenticate to the security device ($AUTH_TOKEN_LABEL).\"" "$T/both-driver.log"; then
    pass "[both] with both tokens Thunderbird asked the Auth token's password as well"
  else
    fail "[both] with both tokens Thunderbird asked the Auth token's password as well" "$(grep '^OK other' "$T/both-driver.log")"
  fi
  grep '^OK other-prompt: ' "$T/both-driver.log" | sed 's/^OK other-prompt: /    other dialog: /'
  verify_message "$T/mail/3.eml" both
fi
check_tries
finish
