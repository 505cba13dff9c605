#!/usr/bin/env bash
# git's SSH signing with the card's auth key through ssh-agent, the card
# behind pcscd + vpcd: README.md's git-setup and git-sign recipes, extracted
# and run verbatim on a fresh home (ssh-add's PIN through SSH_ASKPASS). The
# commit and the tag must verify (git log --show-signature, verify-commit,
# verify-tag) with the card's key; a commit changed after signing and a key
# missing from allowed_signers must be refused. Then what a person meets,
# with the card's tries and VERIFY count before and after: a wrong PIN at
# ssh-add (one try, no key in the agent, git commit -S fails and makes no
# commit), the signature password at ssh-add (the OpenSSH helper sees only
# the auth token: refused for its format, nothing sent, the signature key
# never enters the agent), a locked PIN (nothing sent) and the card taken
# out while the agent holds its key.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/test/cardwatch.sh"

need_module
card_init
unset SSH_AUTH_SOCK SSH_AGENT_PID GIT_DIR GIT_WORK_TREE
export HOME="$T/home" GIT_CONFIG_NOSYSTEM=1
mkdir -p "$HOME/.ssh"
git config --global user.email taro@example.jp
git config --global user.name 'Myna Taro'
git config --global init.defaultBranch main
readme_recipe git-setup "$T/setup.sh" 'gpg.format ssh'
readme_recipe git-sign "$T/sign.sh" 'git commit -S'
CARD_FP=$(ssh-keygen -i -m PKCS8 -f "$AUTH_PUB" | ssh-keygen -l -E sha256 -f - | awk '{print $2}')

pcsc_card
tries_are "before: every try left" "3 5"

# The agent: -D keeps it in the foreground (we own its PID); -P lets it load
# the module from the build tree (its default allow-list is /usr/lib*/*,
# /usr/local/lib*/*, where the package installs it).
start_bg ssh-agent env MYNA_PKCS11_DEBUG=1 MYNA_PKCS11_LOG="$T/module.log" ssh-agent -D -a "$T/agent.sock" -P "$(readlink -f "$MOD")"
for _ in $(seq 100); do [ -S "$T/agent.sock" ] && break; sleep 0.1; done
[ -S "$T/agent.sock" ] || { fail "start ssh-agent" "$(cat "$T/ssh-agent.log")"; finish; }
export SSH_AUTH_SOCK="$T/agent.sock" SSH_ASKPASS="$T/askpass" SSH_ASKPASS_REQUIRE=force

# askpass PIN: ssh-add's next PIN answer.
askpass() { printf '#!/bin/sh\necho %s\n' "$1" >"$T/askpass"; chmod 700 "$T/askpass"; }

R="$T/repo"
mkdir -p "$R" && git -C "$R" init -q && echo 'first' >"$R/file.txt" && git -C "$R" add file.txt
# recipe NAME FILE: runs the extracted FILE in the repository ($MOD set); log $T/NAME.log, status RC.
recipe() { RC=0; (cd "$R" && MOD=$MOD run_to "$T/$1.log" bash -e "$2") || RC=$?; }

# --- the recipes ------------------------------------------------------------------------
recipe setup "$T/setup.sh"
if [ "$RC" = 0 ] && grep -q "^ssh-rsa .* Authentication Key\$" "$HOME/.ssh/myna.pub"; then
  pass "git-setup recipe: ~/.ssh/myna.pub is the card's auth key, git configured"
else
  fail "git-setup recipe" "exit $RC: $(cat "$T/setup.log")"$'\n'"myna.pub: $(cat "$HOME/.ssh/myna.pub")"; finish
fi
fp=$(ssh-keygen -l -E sha256 -f "$HOME/.ssh/myna.pub" | awk '{print $2}')
if [ "$fp" = "$CARD_FP" ]; then pass "myna.pub is the key of the card's auth certificate ($fp)"
else fail "myna.pub is the key of the card's auth certificate" "$fp, certificate $CARD_FP"; fi

askpass "$AUTH_PIN"
watch
recipe sign "$T/sign.sh"
if [ "$RC" = 0 ]; then pass "git-sign recipe: ssh-add, signed commit and tag, both verified"
else fail "git-sign recipe" "exit $RC: $(tail -n 20 "$T/sign.log")"; finish; fi
GOOD="Good \"git\" signature for taro@example.jp with RSA key $CARD_FP"
# good WHAT FILE: PASS when FILE has N (default 1) lines that are exactly $GOOD.
good() {
  if [ "$(grep -cxF -- "$GOOD" "$2")" = "${3:-1}" ]; then pass "$1"; else fail "$1" "want ${3:-1} lines '$GOOD' in:"$'\n'"$(cat "$2")"; fi
}
good "git log --show-signature and git verify-tag v1.0: $GOOD" "$T/sign.log" 2
check "git verify-commit HEAD" git -C "$R" verify-commit HEAD
good "... with the card's key" "$CHECK_LOG"
run_to "$T/cat.log" git -C "$R" cat-file commit HEAD
expect_in "the commit carries an SSH signature" "$T/cat.log" '^gpgsig -----BEGIN SSH SIGNATURE-----$'
tries_are "the PIN was right: no try spent" "3 5"
subj=$(openssl x509 -in "$AUTH_CERT" -noout -subject -nameopt RFC2253)
if grep -Eq '^subject=(CN=[0-9A-Z]+,C=JP|C=JP,CN=[0-9A-Z]+)$' <<<"$subj"; then
  pass "the auth certificate carries no name ($subj)"
else fail "the auth certificate carries no name" "$subj"; fi
expect_in "ssh-agent's helper sees only the auth token (module log)" "$T/module.log" \
  'configuration: tokens auth \(default for ssh-pkcs11-helper \(an SSH program\)\)'

# A commit whose message was changed after signing (the signature kept).
bad=$(git -C "$R" cat-file commit HEAD | sed 's/^Signed with my My Number Card$/Signed with my My Number Cart/' |
  git -C "$R" hash-object -t commit -w --stdin)
if run_to "$T/bad.log" git -C "$R" verify-commit "$bad"; then fail "a commit changed after signing is refused" "$(cat "$T/bad.log")"
else expect_in "a commit changed after signing is refused" "$T/bad.log" 'Signature verification failed'; fi
# Someone else's key as the only allowed signer.
ssh-keygen -q -t ed25519 -N '' -f "$T/other" -C other
echo "taro@example.jp namespaces=\"git\" $(cat "$T/other.pub")" >"$T/other_signers"
if run_to "$T/other.log" git -C "$R" -c gpg.ssh.allowedSignersFile="$T/other_signers" verify-commit HEAD; then
  fail "the commit is refused when allowed_signers does not list the card's key" "$(cat "$T/other.log")"
else expect_in "the commit is refused when allowed_signers does not list the card's key" "$T/other.log" 'No principal matched'; fi

# commit_refused WHAT WHY: git commit -S must fail with WHY (a fixed string) in
# its output and make no commit.
commit_refused() {
  local head0 rc=0
  head0=$(git -C "$R" rev-parse HEAD)
  echo "$1" >>"$R/file.txt"
  (cd "$R" && run_to "$T/refused.log" git commit -a -S -m "$1") || rc=$?
  if [ "$rc" != 0 ] && grep -qF -- "$2" "$T/refused.log" && [ "$(git -C "$R" rev-parse HEAD)" = "$head0" ]; then
    pass "$1: git commit -S fails ($2), no commit made"
  else
    fail "$1: git commit -S fails, no commit made" "exit $rc: $(cat "$T/refused.log")"
  fi
  git -C "$R" checkout -q -- file.txt
}

# ssh_add_refused WHAT PIN TRIES [N]: ssh-add -s with PIN (the agent told to
# forget the card first) must be refused and leave the agent without keys,
# the card with TRIES and N VERIFYs (tries_are).
ssh_add_refused() {
  ssh-add -e "$MOD" >/dev/null 2>&1   # fails when the agent has no key of the card: fine
  askpass "$2"
  watch
  if run_to "$T/add.log" ssh-add -s "$MOD"; then fail "$1: ssh-add -s is refused" "$(cat "$T/add.log")"
  else expect_in "$1: ssh-add -s is refused" "$T/add.log" 'agent refused operation'; fi
  tries_are "$1: the card's tries" "$3" "${4:-}"
  run_to "$T/add-l.log" ssh-add -l
  expect_in "$1: the agent has no key" "$T/add-l.log" '^The agent has no identities\.$'
}

# --- what a person meets ---------------------------------------------------------------------
ssh_add_refused "wrong PIN at ssh-add" 1235 "2 5" 1
commit_refused "a commit after the wrong PIN" 'No private key found for public key'
ssh_add_refused "the signature password at ssh-add" "$SIGN_PIN" "2 5" 0
askpass "$AUTH_PIN"
check "the right PIN at ssh-add" ssh-add -s "$MOD"
tries_are "... gives the try back" "3 5"
run_to "$T/keys.log" ssh-add -l
if grep -q 'Digital Signature' "$T/keys.log"; then fail "no signature key in the agent" "$(cat "$T/keys.log")"
else pass "no signature key in the agent (ssh-add -l: $(grep -c . "$T/keys.log") keys, none of the sign token)"; fi

watch
card_out
commit_refused "a commit with the card out of the reader" "Couldn't sign message (signer): agent refused operation"
tries_are "... costs no try" "3 5" 0
card_in

ssh_add_refused "wrong PIN again" 1235 "2 5" 1
ssh_add_refused "and again: final try" 1235 "1 5" 1
ssh_add_refused "and again: locked" 1235 "0 5" 1
ssh_add_refused "the right PIN on the locked card: nothing sent" "$AUTH_PIN" "0 5" 0
check "myna-sim --admin-reset (the municipal office) unlocks it" "$SIM" --admin-reset --state "$STATE"
askpass "$AUTH_PIN"
check "ssh-add -s after the reset" ssh-add -s "$MOD"
echo 'second' >>"$R/file.txt"
check "git commit -S with the card back and the PIN right" git -C "$R" commit -q -a -S -m 'second signed commit'
check "git verify-commit HEAD" git -C "$R" verify-commit HEAD
check_tries
finish
