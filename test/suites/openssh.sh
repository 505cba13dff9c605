#!/usr/bin/env bash
# OpenSSH against our module and a fresh simulated card:
#   - ssh-keygen -D prints the auth public key, equal to the key in the card's
#     auth certificate;
#   - a private sshd on 127.0.0.1 (free port, temp host key, the -D output as
#     authorized_keys) accepts `ssh -I MODULE` (PIN through SSH_ASKPASS);
#   - ssh-agent (own socket) + ssh-add -s MODULE, ssh-add -l, login through the agent.
# Again as each smartphone credential, in-process and through pcscd
# (on_phones): it shows its auth key only after login, so ssh-keygen -D
# cannot print it and authorized_keys comes from the exported certificate.
. "$(dirname "$0")/../lib.sh"

need_module
on_phones in-process pcsc
card_init
unset SSH_AUTH_SOCK SSH_AGENT_PID
USER_NAME=$(id -un)

# --- ssh-keygen -D ------------------------------------------------------------------
ssh-keygen -i -m PKCS8 -f "$AUTH_PUB" >"$T/cert-key.pub" 2>"$T/cert-key.log"
CERT_BLOB=$(awk '{print $1" "$2}' "$T/cert-key.pub")
CERT_FP=$(ssh-keygen -l -E sha256 -f "$T/cert-key.pub" | awk '{print $2}')
if run_to "$T/keygen-D.log" ssh-keygen -D "$MOD"; then
  pass "ssh-keygen -D lists the module's public keys"
  sed 's/^/    /' "$T/keygen-D.log"
else
  fail "ssh-keygen -D lists the module's public keys" "$(tail "$T/keygen-D.log")"
fi
grep '^ssh-' "$T/keygen-D.log" | awk -v b="$CERT_BLOB" '$1" "$2 == b' | sed -n 1p >"$T/authorized_keys"
if [ -n "$PHONE" ]; then
  if [ -s "$T/authorized_keys" ]; then fail "ssh-keygen -D cannot see the $DEVICE's auth key before login" "$(cat "$T/keygen-D.log")"
  else pass "ssh-keygen -D cannot see the $DEVICE's auth key before login"; fi
  printf '%s\n' "$CERT_BLOB" >"$T/authorized_keys"
elif [ -s "$T/authorized_keys" ]; then
  pass "the ssh-keygen -D key equals the public key of the card's auth certificate ($CERT_FP)"
else
  fail "the ssh-keygen -D key equals the public key of the card's auth certificate" \
    "certificate key: $CERT_BLOB"$'\n'"-D printed: $(cat "$T/keygen-D.log")"
  finish
fi

# --- a private sshd ----------------------------------------------------------------
start_sshd "$T/authorized_keys"
PORT=$SSHD_PORT

printf '#!/bin/sh\necho %s\n' "$AUTH_PIN" >"$T/askpass"
chmod 700 "$T/askpass"
export SSH_ASKPASS="$T/askpass" SSH_ASKPASS_REQUIRE=force
SSH_OPTS=(-F /dev/null -p "$PORT" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
  -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no -o LogLevel=ERROR)

# accepted WHAT LOG: the remote command printed LOGIN-OK and sshd accepted the card's key.
accepted() {
  local n
  n=$(grep -c "Accepted publickey for $USER_NAME from 127.0.0.1 .* RSA $CERT_FP" "$T/sshd.log")
  if grep -qx 'LOGIN-OK' "$2" && [ "$n" -gt "${ACCEPTED:-0}" ]; then
    ACCEPTED=$n
    pass "$1"
    info "sshd: $(grep "Accepted publickey" "$T/sshd.log" | tail -n 1 | sed 's/.*Accepted/Accepted/')"
  else
    fail "$1" "ssh output:"$'\n'"$(tail "$2")"$'\n'"sshd log:"$'\n'"$(tail -n 8 "$T/sshd.log")"
  fi
}

run_to "$T/ssh-I.log" ssh "${SSH_OPTS[@]}" -I "$MOD" "$USER_NAME@127.0.0.1" 'echo LOGIN-OK'
if [ -z "$PHONE" ]; then
  accepted "ssh -I MODULE logs in with the card's auth key (PIN via SSH_ASKPASS) and runs echo LOGIN-OK" "$T/ssh-I.log"
elif grep -qx 'LOGIN-OK' "$T/ssh-I.log"; then # ssh.c lists the keys with no PIN (pkcs11_add_provider(..., NULL, ...))
  fail "ssh -I MODULE finds no key on the $DEVICE (keys listed before login)" "$(tail "$T/ssh-I.log")"
else
  pass "ssh -I MODULE finds no key on the $DEVICE (ssh lists keys before any login; ssh-add -s logs in first)"
fi

# --- ssh-agent -------------------------------------------------------------------------
# -P: ssh-agent only loads PKCS#11 modules whose real path (symlinks resolved)
# matches its allow-list (default /usr/lib*/*,/usr/local/lib*/*); -D: stay in
# the foreground so we own its PID.
AGENT_SOCK="$T/agent.sock"
start_bg ssh-agent ssh-agent -D -a "$AGENT_SOCK" -P "$(readlink -f "$MOD")"
AGENT_PID=$BG_PID
for i in $(seq $((TMO * 10))); do [ -S "$AGENT_SOCK" ] && break; kill -0 "$AGENT_PID" 2>/dev/null || break; sleep 0.1; done
if [ ! -S "$AGENT_SOCK" ]; then
  fail "start ssh-agent" "$(cat "$T/ssh-agent.log")"; finish
fi
export SSH_AUTH_SOCK="$AGENT_SOCK"
pass "ssh-agent runs on its own socket (PID $AGENT_PID)"

check "ssh-add -s MODULE loads the card's key into the agent (PIN via SSH_ASKPASS)" ssh-add -s "$MOD"
run_to "$T/add-l.log" ssh-add -l
agent_keys=$(grep -F " $CERT_FP " "$T/add-l.log")
if grep -q '^2048 .*(RSA)$' <<<"$agent_keys"; then
  pass "ssh-add -l shows the card's auth key (2048 $CERT_FP ... (RSA))"
else
  fail "ssh-add -l shows the card's auth key ($CERT_FP)" "$(cat "$T/add-l.log")"
fi
sed 's/^/    /' "$T/add-l.log"
run_to "$T/ssh-agent-login.log" ssh "${SSH_OPTS[@]}" "$USER_NAME@127.0.0.1" 'echo LOGIN-OK'
accepted "ssh logs in through ssh-agent with the card's key and runs echo LOGIN-OK" "$T/ssh-agent-login.log"

check "ssh-add -e MODULE removes the card's key from the agent" ssh-add -e "$MOD"
run_to "$T/add-l2.log" ssh-add -l
if grep -q "$CERT_FP" "$T/add-l2.log"; then
  fail "the agent no longer lists the card's key" "$(cat "$T/add-l2.log")"
else
  pass "the agent no longer lists the card's key"
fi

# OpenSSH logs in to EVERY token of the module with the one PIN it asked for,
# so the sign token got the auth PIN too. That must not cost a sign-PIN try
# (the module refuses a 4-digit PIN for the sign token before the card sees it).
run_to "$T/tokens-after.log" pkcs11-tool --module "$MOD" -L
if grep -Eiq 'count low|final try|locked' "$T/tokens-after.log"; then
  fail "the module reports no spent PIN try after OpenSSH's logins" "$(grep -Ei 'label|flags' "$T/tokens-after.log")"
else
  pass "the module reports no spent PIN try after OpenSSH's logins (pkcs11-tool -L: no 'count low'/'final try'/'locked')"
fi

stop_pid "$AGENT_PID"
stop_pid "$SSHD_PID"
check_tries
finish
