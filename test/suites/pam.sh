#!/usr/bin/env bash
# Logging in to Linux with the card: pam_pkcs11 (libpam-pkcs11) driven by
# pamtester, the card behind pcscd + vpcd. README.md's three PAM blocks
# (pam_pkcs11.conf, the service /etc/pam.d/myna-test, the shell recipe) are
# run as written, with /etc/pam_pkcs11 moved to $T and the installed module's
# path replaced by the built one. The suite's own things outside $T: the
# service file /etc/pam.d/myna-test and the local account myna-pam-test
# (password login as the fallback), both removed on exit; nothing else under
# /etc/pam.d or /etc/pam_pkcs11 is touched. Each case asserts what the person
# at the prompt sees and what the card counted (tries left; PIN VERIFYs and
# signatures from myna-sim --stats-file):
#   right PIN → logged in, one PIN prompt, one signature, the auth token only;
#   the card offered for another account → refused, no password prompt;
#   wrong PIN → refused, exactly one try spent, even when it is the password;
#   3 digits / letters → refused, nothing sent to the card;
#   right PIN after a wrong one → in again, counter full;
#   three wrong PINs → locked; then the right PIN → refused, no VERIFY sent;
#   no card → the password (the next module of the stack), no PIN prompt.
# pam_pkcs11's wording differs between Debian 12 (0.6.12) and 13 (0.6.13):
# "Wrong smartcard PIN" / "Wrong smart card PIN."; both are accepted.
. "$(dirname "$0")/../lib.sh"

for tool in pamtester useradd chpasswd; do
  command -v "$tool" >/dev/null || { fail "$tool is installed" "apt-get install pamtester passwd"; finish; }
done
[ -f /lib/x86_64-linux-gnu/security/pam_pkcs11.so ] || { fail "pam_pkcs11 is installed" "apt-get install libpam-pkcs11"; finish; }
[ "$(id -u)" = 0 ] || { fail "the suite runs as root" "it writes /etc/pam.d/myna-test and adds a local account"; finish; }
need_module
card_init
unset MYNA_PKCS11_SIM DISPLAY # the card through pcscd; pam_pkcs11 refuses a remote DISPLAY

SERVICE=myna-test U=myna-pam-test
PAMFILE=/etc/pam.d/$SERVICE MARK="# myna-pkcs11 test/suites/pam.sh, removed when the suite ends"
# One run at a time owns the service file and the account.
exec 9>/tmp/myna-pkcs11-pam.lock
flock -w 600 9 || { fail "lock $PAMFILE" "another pam.sh has held it for 10 minutes"; finish; }
if [ -e "$PAMFILE" ] && ! grep -qxF "$MARK" "$PAMFILE"; then
  fail "$PAMFILE is free" "it exists and is not this suite's: $(head -n 3 "$PAMFILE")"; finish
fi
GECOS="myna-pkcs11 pam suite"
if getent passwd "$U" >/dev/null && [ "$(getent passwd "$U" | cut -d: -f5)" != "$GECOS" ]; then
  fail "the account $U is free" "it exists and is not this suite's"; finish
fi
on_exit "rm -f -- '$PAMFILE'"
on_exit "getent passwd '$U' >/dev/null && userdel '$U'"
getent passwd "$U" >/dev/null || useradd -M -s /usr/sbin/nologin -c "$GECOS" "$U"
# The account's password is a wrong PIN: pam_pkcs11 hands the PIN it read on
# as PAM_AUTHTOK, which pam_unix takes as the password without asking, so
# only the service's default=die keeps a wrong PIN from logging in here.
WRONG_PIN=$(printf '%04d' $((RANDOM % 10000)))
[ "$WRONG_PIN" != "$AUTH_PIN" ] || WRONG_PIN=$(printf '%04d' $(((10#$WRONG_PIN + 1) % 10000)))
PASSWORD=$WRONG_PIN
printf '%s:%s\n' "$U" "$PASSWORD" | chpasswd

# --- README's blocks ------------------------------------------------------------------
D="$T/etc-pam_pkcs11" W="$T/work"; mkdir -p "$D" "$W"
here() { sed "s|/etc/pam_pkcs11|$D|g; s|/usr/lib/x86_64-linux-gnu/pkcs11/libmyna-pkcs11.so|$MOD|g" "$1"; }
readme_recipe pam_pkcs11-conf "$T/conf.recipe" 'use_mappers = digest;'
readme_recipe pam-service "$T/service.recipe" 'pam_pkcs11.so'
readme_recipe pam "$T/recipe.sh" 'pamtester myna-test'
here "$T/conf.recipe" >"$D/pam_pkcs11.conf"
{ echo "$MARK"; here "$T/service.recipe"; } >"$PAMFILE"
here "$T/recipe.sh" >"$T/recipe-here.sh"

if ! start_pcscd; then fail "start pcscd (only one pcscd may run on the machine)"; finish; fi
STATS="$T/stats.json"
if ! start_sim "$STATE" 35963 --stats-file "$STATS"; then fail "serve the simulated card to vpcd"; finish; fi
export MYNA_PKCS11_LOG="$T/module.log" MYNA_PKCS11_DEBUG=1 MOD U

# --- the cases ------------------------------------------------------------------------
stat_of() { # stat_of NAME: a top-level counter of the --stats-file JSON (0 if absent)
  local v; v=$(sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" "$STATS" 2>/dev/null); echo "${v:-0}"
}
PROMPT='My Number Card PIN: '

# attempt NAME INPUT CMD...: runs CMD with INPUT (lines) on its standard input,
# output in $T/NAME.log; sets RC, and the card's counters before (A0 V0 S0:
# auth tries, VERIFYs, signatures) and after (A1 V1 S1), SIGN1 the sign tries.
attempt() {
  local name=$1 input=$2; shift 2
  LOG="$T/$name.log"
  read -r A0 _ < <(tries_left "$STATE"); V0=$(stat_of verifies) S0=$(stat_of signatures)
  printf '%s' "$input" >"$T/$name.in"
  RC=0; RUN_STDIN="$T/$name.in" run_to "$LOG" "$@" || RC=$?
  read -r A1 SIGN1 < <(tries_left "$STATE"); V1=$(stat_of verifies) S1=$(stat_of signatures)
}

# expect WHAT RC PROMPTS A V S [REGEX [NOT-REGEX]]: PASS when the last
# attempt exited RC, showed the PIN prompt PROMPTS times, left A auth
# tries, sent V PIN VERIFYs and made S signatures, spent no sign try, and
# its output matches REGEX and not NOT-REGEX (grep -E).
expect() {
  local what=$1 rc=$2 p=$3 a=$4 v=$5 s=$6 re=${7:-} not=${8:-} got
  got=$(grep -o "$PROMPT" "$LOG" | wc -l)
  local why=""
  [ "$RC" = "$rc" ] || why+="exit $RC, not $rc; "
  [ "$got" = "$p" ] || why+="PIN prompt shown $got times, not $p; "
  [ "$A1" = "$a" ] || why+="auth tries $A0 → $A1, not $a; "
  [ $((V1 - V0)) = "$v" ] || why+="$((V1 - V0)) PIN VERIFYs reached the card, not $v; "
  [ $((S1 - S0)) = "$s" ] || why+="$((S1 - S0)) signatures, not $s; "
  [ "$SIGN1" = 5 ] || why+="sign tries $SIGN1, not 5; "
  [ -z "$re" ] || grep -Eq -- "$re" "$LOG" || why+="no line matching /$re/; "
  [ -z "$not" ] || ! grep -Eq -- "$not" "$LOG" || why+="a line matches /$not/; "
  if [ -z "$why" ]; then
    pass "$what (auth tries $A0 → $A1, PIN VERIFYs +$((V1 - V0)), signatures +$((S1 - S0)))"
  else
    fail "$what" "$why"$'\n'"$(tail -n 12 "$LOG")"
  fi
}
pam() { attempt "$1" "$2" pamtester -v "$SERVICE" "${3:-$U}" authenticate; }

OK='pamtester: successfully authenticated'
REFUSED='pamtester: Authentication failure'
WRONG='Error 2320: Wrong smart ?card PIN'

# The recipe: exports the CA and the mapping, then pamtester asks the PIN.
attempt recipe "$AUTH_PIN"$'\n' bash -c "cd '$W' && bash -e '$T/recipe-here.sh'"
expect "README's PAM recipe: the right PIN logs $U in (pamtester authenticate acct_mgmt)" 0 1 3 2 1 \
  "$OK" 'Password:'
expect_in "  ... account management passes too" "$LOG" '^pamtester: account management done'
expect_in "  ... pam_pkcs11 used the auth token" "$LOG" '^Welcome My Number Card \(Auth\)!$'
expect_in "  ... which is the only token a login program sees (module log)" "$MYNA_PKCS11_LOG" \
  'configuration: tokens auth \(default for pamtester \(a login program\)\)'
expect_in "  ... the mapping line is the certificate's SHA-256 fingerprint" "$D/digest_mapping" \
  "^$(openssl x509 -in "$AUTH_CERT" -noout -fingerprint -sha256 | cut -d= -f2) -> $U\$"

# pam_pkcs11 answers this with PAM_CRED_INSUFFICIENT (both releases), so the
# service's next module, pam_unix, runs too and takes the PIN as root's
# password without a prompt: refused only because that is not root's password.
pam other-account "$AUTH_PIN"$'\n' root
expect "the card mapped to $U does not log in root: refused (no matching certificate), no password prompt" \
  1 1 3 1 0 'Error 2336: No matching certificate found' "$OK|Password:"

pam wrong "$WRONG_PIN"$'\n'
expect "a wrong PIN is refused and spends exactly one try, even when it is the account's password" 1 1 2 1 0 \
  "$WRONG" "$OK|Password:"
for bad in '123|it must have exactly 4 digits' '12ab|must be 4 digits 0-9'; do
  pam "malformed-${bad%%|*}" "${bad%%|*}"$'\n'
  expect "a malformed PIN (${bad%%|*}) is refused and never reaches the card" 1 1 2 0 0 "$WRONG" "$OK|Password:"
  expect_in "  ... the module log says why: ${bad#*|}" "$MYNA_PKCS11_LOG" "${bad#*|}.*not sent to the card, no try spent"
done

pam right-again "$AUTH_PIN"$'\n'
expect "the right PIN after a wrong one logs in and fills the counter again" 0 1 3 2 1 "$OK"

for n in 1 2 3; do
  pam "lock-$n" "$WRONG_PIN"$'\n'
  expect "wrong PIN $n of 3" 1 1 $((3 - n)) 1 0 "$WRONG"
done
pam locked "$AUTH_PIN"$'\n'
expect "on the locked PIN the right PIN is refused without a VERIFY (pam_pkcs11 says: Error 2320)" 1 1 0 0 0 \
  "$WRONG" "$OK|Password:"
expect_in "  ... the module log says why" "$MYNA_PKCS11_LOG" \
  'CKR_PIN_LOCKED: the auth PIN is locked .*only the municipal office can reset it'
run_to "$T/status.log" "$ROOT/build/out/myna-pkcs11" status
expect_in "  ... and so does myna-pkcs11 status: LOCKED" "$T/status.log" '^    PIN: LOCKED \(0 of 3 tries left\)$'
expect_in "  ... only the municipal office unlocks it" "$T/status.log" 'Only your municipal office can unlock it'

# With no card (and no card_only) pam_pkcs11 0.6.12 (Debian 12) says "Error
# 2308: No smart card found." and answers PAM_CRED_INSUFFICIENT; 0.6.13
# (Debian 13) says nothing and answers PAM_AUTHINFO_UNAVAIL. README's line
# passes both on to the password; each release is held to its own.
case "$(dpkg-query -W -f '${Version}' libpam-pkcs11)" in
  0.6.12*) NOCARD_SAYS='^Error 2308: No smart card found\.$' NOCARD_RC='Insufficient credentials to access authentication data' ;;
  *) NOCARD_SAYS='^Password: ' NOCARD_RC='Authentication service cannot retrieve authentication info' ;;
esac
stop_sim
pam no-card "$PASSWORD"$'\n'
expect "with no card in the reader the next module asks the password and logs $U in; no PIN prompt" 0 0 0 0 0 \
  'Password:' "$WRONG"
grep -A1 -- '- authenticate$' "$LOG" | tail -n 1 >"$T/no-card-first.log"
expect_in "  ... the first thing shown matches /$NOCARD_SAYS/ (pam_pkcs11 $(dpkg-query -W -f '${Version}' libpam-pkcs11))" \
  "$T/no-card-first.log" "$NOCARD_SAYS"
pam no-card-wrong "not-$PASSWORD"$'\n'
expect "  ... and refuses a wrong password (the fallback is pam_unix, not a pass-through)" 1 0 0 0 0 \
  "$REFUSED"
# libpam-pkcs11's own example (pam.d_ignore_no_card.example) lets only PAM_IGNORE
# through, which the module no longer answers since CVE-2025-24531.
sed -i 's/\[success=done [^]]*\]/[success=done ignore=ignore default=die]/' "$PAMFILE"
pam no-card-example "$PASSWORD"$'\n'
expect "with the package example's ignore=ignore, no card ends the login: no password fallback" 1 0 0 0 0 \
  "$NOCARD_RC" "Password:|$OK"
finish
