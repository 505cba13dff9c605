#!/usr/bin/env bash
# GnuPG with the card through gnupg-pkcs11-scd (gpg-agent's scdaemon), the
# card behind pcscd + vpcd: README.md's gnupg-setup recipe (an OpenPGP key
# made from the card's auth key) and gnupg-sign recipe (a detached file
# signature and a signed git commit), extracted and run verbatim on a fresh
# home. A pinentry stand-in answers gpg-agent's PIN prompts from a queue and
# counts them. The signatures must verify; a changed byte and a keyring
# without the key must be refused. Then, with the card's tries and VERIFY
# count after each: a wrong PIN (one try, the prompt comes back), three
# wrong PINs in one signature (locked), the locked PIN (nothing sent), the
# card taken out, and the signature key listed once cert-private is set.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/test/cardwatch.sh"

need_module
command -v gnupg-pkcs11-scd >/dev/null || { fail "gnupg-pkcs11-scd is installed" "run test/install-deps.sh"; finish; }
card_init
unset GNUPGHOME GPG_AGENT_INFO GIT_DIR GIT_WORK_TREE
export HOME="$T/home" GIT_CONFIG_NOSYSTEM=1
mkdir -p "$HOME" && mkdir -m 700 "$HOME/.gnupg"
on_exit 'gpgconf --kill all; gpgconf --remove-socketdir 2>/dev/null'
git config --global user.email taro@example.jp
git config --global user.name 'Myna Taro'
git config --global init.defaultBranch main
readme_recipe gnupg-setup "$T/setup.sh" 'gnupg-pkcs11-scd'
readme_recipe gnupg-sign "$T/sign.sh" 'gpg --detach-sign'

# The pinentry stand-in: each GETPIN takes the next line of $T/pins (an
# empty line or none: the user cancels); each PIN prompt is logged in
# $T/prompts.log. A CONFIRM (GnuPG 2.4: "Please insert the card with serial
# number …") is logged in $T/confirms.log and answered the way pinentry
# answers a person who presses Cancel (GPG_ERR_CANCELED from pinentry).
cat >"$T/pinentry" <<EOF
#!/bin/sh
echo OK
desc=
while read -r cmd rest; do
  case "\$cmd" in
    SETDESC) desc=\$rest; echo OK ;;
    GETPIN) echo "GETPIN \$desc" >>"$T/prompts.log"; pin=\$(sed -n 1p "$T/pins"); sed -i 1d "$T/pins"
      if [ -n "\$pin" ]; then echo "D \$pin"; echo OK; else echo 'ERR 83886179 Operation cancelled'; fi ;;
    CONFIRM) echo "CONFIRM \$desc" >>"$T/confirms.log"; echo 'ERR 83886179 Operation cancelled' ;;
    BYE) echo OK; exit 0 ;;
    *) echo OK ;;
  esac
done
EOF
chmod 700 "$T/pinentry"
echo "pinentry-program $T/pinentry" >"$HOME/.gnupg/gpg-agent.conf"

# pins LINE...: the PIN answers for the next prompts; the prompt counts start at 0.
pins() { printf '%s\n' "$@" >"$T/pins"; : >"$T/prompts.log"; : >"$T/confirms.log"; }
# prompts_are WHAT N: PASS when N PIN prompts were shown since pins.
prompts_are() {
  local n; n=$(grep -c . "$T/prompts.log")
  if [ "$n" = "$2" ]; then pass "$1 ($n PIN prompts)"; else fail "$1" "$n PIN prompts, want $2:"$'\n'"$(cat "$T/prompts.log")"; fi
}
# new_session: gpg-agent and gnupg-pkcs11-scd stop (the next gpg starts them: a new session).
new_session() { gpgconf --kill gpg-agent; }

R="$T/repo"
mkdir -p "$R" && git -C "$R" init -q && echo 'first' >"$R/file.txt" && git -C "$R" add file.txt
printf 'contract %s\n' "$(date -u +%FT%TZ)" >"$R/contract.pdf"
# recipe NAME FILE: runs FILE in the repository ($MOD set); log $T/NAME.log, status RC.
recipe() { RC=0; (cd "$R" && MOD=$MOD run_to "$T/$1.log" bash -e "$2") || RC=$?; }

pcsc_card
tries_are "before: every try left" "3 5"

# --- the recipes ------------------------------------------------------------------------------
pins "$AUTH_PIN"
recipe setup "$T/setup.sh"
if [ "$RC" = 0 ]; then pass "gnupg-setup recipe: an OpenPGP key made from the card's auth key"
else fail "gnupg-setup recipe" "exit $RC: $(tail -n 20 "$T/setup.log")"; finish; fi
run_to "$T/K.log" gpg -K --with-keygrip
expect_in "gpg -K shows the key on the card" "$T/K.log" 'Card serial no\.'
# The keygrip of the card's auth key (the key of the auth certificate).
grip=$(sed -n 's/^ *Keygrip = //p' "$T/K.log" | sed -n 1p)
run_to "$T/learn.log" gpg-connect-agent 'SCD LEARN' /bye
expect_in "... and it is the auth key (01) of the card" "$T/learn.log" "^S KEYPAIRINFO ${grip:-none} .*Auth.x29/01\$"
prompts_are "the PIN was asked for the key's self-signature" 1

new_session
pins "$AUTH_PIN"
watch
recipe sign "$T/sign.sh"
if [ "$RC" = 0 ]; then pass "gnupg-sign recipe: gpg --detach-sign, gpg --verify, git commit -S, git verify-commit"
else fail "gnupg-sign recipe" "exit $RC: $(tail -n 20 "$T/sign.log")"; finish; fi
n=$(grep -c '^gpg: Good signature from "Myna Taro <taro@example.jp>"' "$T/sign.log")
if [ "$n" = 2 ]; then pass "gpg --verify and git verify-commit: Good signature from \"Myna Taro <taro@example.jp>\""
else fail "gpg --verify and git verify-commit: Good signature" "$(cat "$T/sign.log")"; fi
prompts_are "one PIN prompt for both signatures (one gpg-agent session)" 1
tries_are "the PIN was right: no try spent" "3 5"
run_to "$T/cat.log" git -C "$R" cat-file commit HEAD
expect_in "the commit carries an OpenPGP signature" "$T/cat.log" '^gpgsig -----BEGIN PGP SIGNATURE-----$'

cp "$R/contract.pdf" "$T/changed.pdf"
printf 'X' | dd of="$T/changed.pdf" bs=1 seek=3 conv=notrunc status=none
if run_to "$T/bad.log" gpg --verify "$R/contract.pdf.sig" "$T/changed.pdf"; then fail "a changed byte is refused" "$(cat "$T/bad.log")"
else expect_in "a changed byte is refused (BAD signature)" "$T/bad.log" '^gpg: BAD signature from'; fi
mkdir -m 700 "$T/other-gnupg"
if run_to "$T/nokey.log" gpg --homedir "$T/other-gnupg" --verify "$R/contract.pdf.sig" "$R/contract.pdf"; then
  fail "a keyring without the card's key cannot check it" "$(cat "$T/nokey.log")"
else expect_in "a keyring without the card's key cannot check it" "$T/nokey.log" "Can't check signature: No public key"; fi

# sign WHAT REGEX LINE...: a new session, PIN answers LINE...; gpg --detach-sign
# fails with REGEX in its output (or succeeds, REGEX empty).
sign() {
  local what=$1 want=$2 rc=0; shift 2
  new_session; pins "$@"; watch
  (cd "$R" && run_to "$T/s.log" gpg --batch --yes --detach-sign contract.pdf) || rc=$?
  if [ -z "$want" ] && [ "$rc" = 0 ]; then pass "$what: signed"
  elif [ -n "$want" ] && [ "$rc" != 0 ] && grep -Eq -- "$want" "$T/s.log"; then pass "$what: gpg fails ($(grep -E -m1 -- "$want" "$T/s.log"))"
  else fail "$what" "exit $rc, want ${want:-success}:"$'\n'"$(cat "$T/s.log")"; fi
}

# --- what a person meets ---------------------------------------------------------------------
sign "a wrong PIN, then cancel" 'signing failed' 1235 ''
prompts_are "... the prompt came back after the wrong PIN" 2
tries_are "... one try spent" "2 5" 1
sign "a wrong PIN, then the right one" '' 1235 "$AUTH_PIN"
tries_are "... the right PIN gives the tries back" "3 5"
sign "three wrong PINs in one signature" 'signing failed: PIN blocked' 1235 1235 1235 "$AUTH_PIN"
prompts_are "... the prompt came three times" 3
tries_are "... the PIN is locked" "0 5" 3
sign "the right PIN on the locked card" 'signing failed: PIN blocked' "$AUTH_PIN"
tries_are "... nothing sent to the card" "0 5" 0
check "myna-sim --admin-reset (the municipal office) unlocks it" "$SIM" --admin-reset --state "$STATE"
sign "after the reset" '' "$AUTH_PIN"

watch
card_out
sign "the card out of the reader" 'signing failed' "$AUTH_PIN"
tries_are "... nothing sent" "3 5" 0
prompts_are "... no PIN asked" 0
# GnuPG 2.4 asks once to insert the card (Cancel ends the signature); 2.2 fails at once.
gpgv=$(gpg --version | sed -n '1s/.* //p')
case "$gpgv" in 2.2.*) want=0 ;; *) want=1 ;; esac
n=$(grep -c '^CONFIRM .*insert the card with serial number' "$T/confirms.log")
if [ "$n" = "$want" ] && [ "$(grep -c . "$T/confirms.log")" = "$want" ]; then
  pass "... GnuPG $gpgv: $n request to insert the card ($want expected; Cancel ends the signature)"
else fail "... GnuPG $gpgv asks $want times to insert the card" "$(cat "$T/confirms.log")"; fi
card_in
sign "the card back" '' "$AUTH_PIN"

# The signature key: listed only when gnupg-pkcs11-scd logs in to list keys.
run_to "$T/learn1.log" gpg-connect-agent 'SCD LEARN' /bye
if grep -q 'KEYPAIRINFO .*Sign.x29/02$' "$T/learn1.log"; then fail "without cert-private the signature key is not listed" "$(cat "$T/learn1.log")"
else pass "without cert-private the signature key is not listed"; fi
echo 'provider-myna-cert-private' >>"$HOME/.gnupg/gnupg-pkcs11-scd.conf"
new_session; pins "$AUTH_PIN" "$SIGN_PIN"
run_to "$T/learn2.log" gpg-connect-agent 'SCD LEARN' /bye
expect_in "with provider-myna-cert-private SCD LEARN lists the signature key (02)" "$T/learn2.log" 'KEYPAIRINFO [0-9A-F]+ .*Sign.x29/02$'
prompts_are "... after asking both PINs" 2
check_tries
finish
