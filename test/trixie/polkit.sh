#!/usr/bin/env bash
# Debian 13's pcscd asks polkit whether a program may use it (Debian 12's has
# no polkit support). Runs inside the Debian 13 root only
# (bash test/trixie.sh run polkit): a private system D-Bus, polkitd and
# pcscd with its polkit check on (/usr/sbin/pcscd, not the harness's
# --disable-polkit wrapper), the simulated card behind vpcd, and a throwaway
# user without a login session, as an SSH login, a cron job or a service has:
#   - the installed policy allows only the active local session;
#   - root passes;
#   - the user is refused: no slots through the module, `myna-pkcs11 status`
#     fails saying why, pcscd logs the refusal;
#   - README's polkit rule (run verbatim, the user name replaced) lets the
#     user list the tokens and sign; no PIN try is spent.
. "$(dirname "$0")/../lib.sh"

POLICY=/usr/share/polkit-1/actions/org.debian.pcsc-lite.policy
RULE=/etc/polkit-1/rules.d/60-myna-pcscd.rules
TUSER=myna-polkit
need_module
[ -f "$POLICY" ] || { fail "pcscd's polkit policy is installed ($POLICY)" "is this the Debian 13 root? (bash test/trixie.sh run polkit)"; finish; }
card_init
unset MYNA_PKCS11_SIM
CMD=$ROOT/build/out/myna-pkcs11
[ -x "$CMD" ] || { fail "the companion command is built ($CMD)" "make all"; finish; }

# --- the policy ---------------------------------------------------------------------
# defaults ACTION: prints "any inactive active" of ACTION in $POLICY.
defaults() {
  python3 - "$POLICY" "$1" <<'PY'
import sys, xml.etree.ElementTree as ET
for a in ET.parse(sys.argv[1]).getroot().iter("action"):
    if a.get("id") == sys.argv[2]:
        d = a.find("defaults")
        print(*(d.findtext(k) for k in ("allow_any", "allow_inactive", "allow_active")))
PY
}
for action in org.debian.pcsc-lite.access_pcsc org.debian.pcsc-lite.access_card; do
  got=$(defaults "$action")
  if [ "$got" = "no no yes" ]; then pass "$action: allow_any no, allow_inactive no, allow_active yes"
  else fail "$action: allow_any no, allow_inactive no, allow_active yes" "got '$got' in $POLICY"; fi
done

# --- D-Bus, polkitd, pcscd with polkit ----------------------------------------------
mkdir -p /run/dbus
start_bg dbus dbus-daemon --system --nofork --nopidfile
for _ in $(seq 100); do [ -S /run/dbus/system_bus_socket ] && break; sleep 0.1; done
[ -S /run/dbus/system_bus_socket ] || { fail "the system D-Bus starts" "$(tail "$T/dbus.log")"; finish; }
# start_polkitd: polkitd in the background (it reads the rules when it starts).
start_polkitd() { start_bg polkitd /usr/lib/polkit-1/polkitd --no-debug; POLKITD_PID=$BG_PID; }
start_polkitd
PATH=${PATH//\/usr\/local\/sbin:/}   # /usr/sbin/pcscd itself, polkit check on
if ! start_pcscd; then fail "start pcscd (polkit on) with vpcd" "$(tail "$T/pcscd.log")"; finish; fi
start_sim "$STATE" || { fail "serve the simulated card to vpcd"; finish; }
useradd -M -s /bin/sh "$TUSER" || { fail "useradd $TUSER"; finish; }

AS_USER=(runuser -u "$TUSER" --)   # a command as the throwaway user (no login session)

check "root: myna-pkcs11 status through pcscd" "$CMD" status && expect_in "root: status shows the card" "$CHECK_LOG" '^ +Card: My Number Card'

# --- the user without a rule ----------------------------------------------------------
run_to "$T/user-L.log" "${AS_USER[@]}" pkcs11-tool --module "$MOD" -L
expect_in "user without a rule: pkcs11-tool -L through the module finds no slots" "$T/user-L.log" '^No slots'
rc=0; run_to "$T/user-status.log" "${AS_USER[@]}" "$CMD" status || rc=$?
if [ "$rc" -ne 0 ] && grep -q 'Access denied' "$T/user-status.log"; then
  pass "user without a rule: myna-pkcs11 status fails (exit $rc) with pcscd's 'Access denied'"
  info "$(grep 'Access denied' "$T/user-status.log")"
else
  fail "user without a rule: myna-pkcs11 status fails with pcscd's 'Access denied'" "exit $rc:"$'\n'"$(cat "$T/user-status.log")"
fi
expect_in "pcscd logs the refusal" "$T/pcscd.log" 'is NOT authorized for action: access_pcsc'

# --- README's rule ---------------------------------------------------------------------
readme_recipe polkit-rule "$T/rule" 'org.debian.pcsc-lite.access_card'
sed "s/\"alice\"/\"$TUSER\"/" "$T/rule" >"$RULE"
grep -q "\"$TUSER\"" "$RULE" || { fail "README's polkit rule names the user \"alice\"" "$(cat "$RULE")"; finish; }
stop_pid "$POLKITD_PID"; start_polkitd
check "user with README's rule: pkcs11-tool -L through the module" "${AS_USER[@]}" pkcs11-tool --module "$MOD" -L &&
  expect_in "user with README's rule: the auth token is listed" "$CHECK_LOG" \
    "token label +: $(printf '%s' "$AUTH_TOKEN_LABEL" | sed 's/[][().*^$+?{}|\\]/\\&/g') *\$"
printf 'data to sign\n' >"$T/data"; chmod 644 "$T/data"; chmod 711 "$T"
check "user with README's rule: login and sign with the auth key" \
  "${AS_USER[@]}" pkcs11-tool --module "$MOD" --token-label "$AUTH_TOKEN_LABEL" --login --pin "$AUTH_PIN" \
  --sign --id 01 -m SHA256-RSA-PKCS -i "$T/data" -o /dev/null
check "user with README's rule: myna-pkcs11 status" "${AS_USER[@]}" "$CMD" status
check_tries
finish
