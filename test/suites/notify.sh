#!/usr/bin/env bash
# The module's desktop notifications through the built library, with
# pkcs11-tool as the program and a private session bus (dbus-daemon) on which
# test/notifyrec stands in for the desktop's notification service: a wrong
# PIN gives one notification, delivered before pkcs11-tool has exited (it
# calls C_Finalize, which waits for it); the
# right PIN gives none; notifications = false (MYNA_PKCS11_NOTIFICATIONS)
# gives none. No notification holds a PIN. The Go test TestPINNotifications
# checks every case and text; this shows the library sends them.
. "$(dirname "$0")/../lib.sh"
need_module
card_init
start_notify_bus
export DBUS_SESSION_BUS_ADDRESS=$NOTIFY_BUS

P11=(pkcs11-tool --module "$MOD" --token-label "$AUTH_TOKEN_LABEL" --login -O)
# shown_count: the number of notifications recorded so far.
shown_count() { wc -l <"$SHOWN"; }

export MYNA_PKCS11_NOTIFICATIONS=true
if run_to "$T/wrong.log" "${P11[@]}" --pin 9999; then
  fail "pkcs11-tool --login with a wrong PIN fails" "$(cat "$T/wrong.log")"
else
  pass "pkcs11-tool --login with a wrong PIN fails"
fi
if [ "$(shown_count)" = 1 ] && grep -Eq $'^myna-pkcs11\t1\tMy Number Card: wrong authentication PIN\t.*2 tries left' "$SHOWN"; then
  pass "one notification (normal urgency, \"2 tries left\") arrived before pkcs11-tool exited (C_Finalize waited for it)"
else
  fail "one notification (normal urgency, \"2 tries left\") arrived before pkcs11-tool exited (C_Finalize waited for it)" "$(cat "$SHOWN")"
fi

n=$(shown_count)
check "pkcs11-tool --login with the right PIN" "${P11[@]}" --pin "$AUTH_PIN"
if [ "$(shown_count)" = "$n" ]; then pass "the right PIN gives no notification"; else fail "the right PIN gives no notification" "$(cat "$SHOWN")"; fi

n=$(shown_count)
if MYNA_PKCS11_NOTIFICATIONS=false run_to "$T/off.log" "${P11[@]}" --pin 9999; then
  fail "pkcs11-tool --login with a wrong PIN fails (notifications off)" "$(cat "$T/off.log")"
fi
check "pkcs11-tool --login with the right PIN (the count back to 3)" "${P11[@]}" --pin "$AUTH_PIN"
if [ "$(shown_count)" = "$n" ]; then pass "MYNA_PKCS11_NOTIFICATIONS=false: no notification"; else fail "MYNA_PKCS11_NOTIFICATIONS=false: no notification" "$(cat "$SHOWN")"; fi

if grep -Eq -- "9999|$AUTH_PIN|$SIGN_PIN" "$SHOWN"; then fail "no notification holds a PIN" "$(cat "$SHOWN")"; else pass "no notification holds a PIN"; fi
check_tries
finish
