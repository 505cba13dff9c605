#!/usr/bin/env bash
# The card used from another machine: `p11-kit server` on the module (the
# machine with the reader), its socket forwarded with `ssh -R` to a "remote"
# side (a private sshd on 127.0.0.1 started here: own host key and
# authorized_keys in $T, stopped by PID), and p11-kit-client.so there.
# README.md's remote-reader recipe runs verbatim on this side, with `ssh`
# given `-F` (a config whose host aliases server.example / other.example
# point at the private sshd); the remote shell reads this suite's commands
# and then README's remote-server recipe verbatim from its standard input.
# On the remote side (which has no MYNA_PKCS11_SIM: it reaches the card only
# through the socket): both tokens are listed, both keys sign (verified here
# with the certificates) and `ssh -I p11-kit-client.so` logs in with the card's
# auth key (sshd's log names the key).
. "$(dirname "$0")/../lib.sh"

CLIENT_SO=/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so
[ -f "$CLIENT_SO" ] || { fail "p11-kit-client.so is installed" "apt-get install p11-kit-modules"; finish; }
command -v p11-kit >/dev/null || { fail "p11-kit is installed" "apt-get install p11-kit"; finish; }
need_module
card_init
unset SSH_AUTH_SOCK SSH_AGENT_PID
USER_NAME=$(id -un)
R="$T/remote"; mkdir -p "$R" "$T/run"; chmod 700 "$T/run"
export XDG_RUNTIME_DIR="$T/run"   # where p11-kit server puts its socket
RSOCK="$R/p11-kit.sock"           # the forwarded socket on the remote side

# authorized_keys: the tunnel's own key, and the card's auth key (ssh-keygen -D).
ssh-keygen -q -t ed25519 -N '' -f "$T/tunnel-id"
ssh-keygen -i -m PKCS8 -f "$AUTH_PUB" >"$T/card-key.pub"
CERT_FP=$(ssh-keygen -l -E sha256 -f "$T/card-key.pub" | awk '{print $2}')
cat "$T/tunnel-id.pub" "$T/card-key.pub" >"$T/authorized_keys"
start_sshd "$T/authorized_keys" $'AllowStreamLocalForwarding yes\nStreamLocalBindUnlink yes'
printf '[127.0.0.1]:%s %s\n' "$SSHD_PORT" "$(cut -d' ' -f1,2 "$SSHD_HOSTKEY.pub")" >"$T/known_hosts"
SSH_CONFIG="$T/ssh_config"
cat >"$SSH_CONFIG" <<EOF
Host server.example other.example
  HostName 127.0.0.1
  Port $SSHD_PORT
  User $USER_NAME
  UserKnownHostsFile $T/known_hosts
  StrictHostKeyChecking yes
  PasswordAuthentication no
  KbdInteractiveAuthentication no
  IdentityAgent none
  LogLevel ERROR
Host server.example
  IdentityFile $T/tunnel-id
  IdentitiesOnly yes
EOF

# The recipes, with ssh given the test's config.
readme_recipe remote-reader "$T/reader.recipe" 'p11-kit server'
readme_recipe remote-server "$T/server.recipe" 'p11-kit-client.so'
# The reader side also records the server's PID (the recipe's eval keeps it in a variable).
{
  printf "trap 'echo \"P11_KIT_SERVER_PID=\${P11_KIT_SERVER_PID:-}\" >%s' EXIT\n" "$T/p11kit.pid"
  sed "s|^ssh |ssh -F $SSH_CONFIG |" "$T/reader.recipe"
} >"$T/reader.sh"
sed "s|^ssh |ssh -F $SSH_CONFIG |" "$T/server.recipe" >"$T/server.sh"
for f in reader server; do
  if grep -q -- "-F $SSH_CONFIG" "$T/$f.sh"; then pass "the $f recipe's ssh line found (given -F $SSH_CONFIG)"
  else fail "the $f recipe's ssh line found" "$(cat "$T/$f.sh")"; fi
done

printf 'myna-pkcs11 remote-card suite %s\n' "$(date -u +%FT%TZ)" >"$R/data.txt"
printf '#!/bin/sh\necho %s\n' "$AUTH_PIN" >"$T/askpass"; chmod 700 "$T/askpass"

# What the remote shell reads: this suite's checks, then README's recipe.
# shellcheck disable=SC2016  # the remote shell expands these
{
  printf 'cd %s || exit 1\n' "$R"
  printf 'RSOCK=%s\n' "$RSOCK"
  printf 'export SSH_ASKPASS=%s SSH_ASKPASS_REQUIRE=force\n' "$T/askpass"
  printf 'if [ -z "${MYNA_PKCS11_SIM:-}" ]; then echo NO-SIM-ENV; fi\n'
  printf 'if [ -S "$RSOCK" ]; then echo SOCKET-FORWARDED; fi\n'
  printf 'export P11_KIT_SERVER_ADDRESS=unix:path=$RSOCK\n'
  printf "pkcs11-tool --module %s --token-label '%s' --login --pin %s --sign --id 01 -m SHA256-RSA-PKCS -i data.txt -o auth.sig >auth-sign.log 2>&1 && echo AUTH-SIGNED\n" \
    "$CLIENT_SO" "$AUTH_TOKEN_LABEL" "$AUTH_PIN"
  printf "pkcs11-tool --module %s --token-label '%s' --login --pin %s --sign --id 02 -m SHA256-RSA-PKCS -i data.txt -o sign.sig >sign-sign.log 2>&1 && echo SIGN-SIGNED\n" \
    "$CLIENT_SO" "$SIGN_TOKEN_LABEL" "$SIGN_PIN"
  printf 'echo RECIPE-START\n'
  cat "$T/server.sh"
  printf '\n'
} >"$T/remote-input.sh"

# stop_p11kit_servers: stops by PID any p11-kit server the recipe left
# running (its socket is $XDG_RUNTIME_DIR/p11-kit/pkcs11-PID).
# shellcheck disable=SC2317  # called on exit (on_exit)
stop_p11kit_servers() {
  local s pid
  for s in "$T"/run/p11-kit/pkcs11-*; do
    pid=${s##*pkcs11-}
    case "$pid" in ''|*[!0-9]*) continue ;; esac
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = p11-kit-server ] && stop_pid "$pid"
  done
  return 0
}
on_exit stop_p11kit_servers
rc=0
MYNA_PKCS11_DEBUG=1 MYNA_PKCS11_LOG="$T/module.log" RUN_STDIN="$T/remote-input.sh" \
  run_to "$T/reader.log" env MOD="$MOD" RSOCK="$RSOCK" bash -e "$T/reader.sh" || rc=$?
# p11-kit server daemonizes; its PID is the one it printed (the recipe's
# --kill stops it; if the recipe died first, stop it here by that PID).
srv_pid=$(sed -n 's/^P11_KIT_SERVER_PID=\([0-9][0-9]*\)$/\1/p' "$T/p11kit.pid" 2>/dev/null)
if [ "$rc" -eq 0 ]; then pass "README's remote-reader recipe ran (p11-kit server, ssh -R, p11-kit server --kill): exit 0"
else fail "README's remote-reader recipe ran" "exit $rc:"$'\n'"$(tail -n 15 "$T/reader.log")"; fi

expect_in "the remote side has no MYNA_PKCS11_SIM (it reaches the card only through the socket)" "$T/reader.log" '^NO-SIM-ENV$'
expect_in "ssh -R forwarded p11-kit's socket to the remote side ($RSOCK)" "$T/reader.log" '^SOCKET-FORWARDED$'
for tok in "$AUTH_TOKEN_LABEL" "$SIGN_TOKEN_LABEL"; do
  expect_in "remote pkcs11-tool --module p11-kit-client.so -L lists '$tok' (README recipe)" "$T/reader.log" \
    "token label +: $(printf '%s' "$tok" | sed 's/[][().*^$+?{}|\\]/\\&/g') *$"
done
expect_in "remote side: the auth key signs through p11-kit-client.so" "$T/reader.log" '^AUTH-SIGNED$'
expect_in "remote side: the sign key signs through p11-kit-client.so" "$T/reader.log" '^SIGN-SIGNED$'
if [ -s "$R/auth.sig" ]; then
  check "the auth signature made remotely verifies with the auth certificate" \
    openssl dgst -sha256 -verify "$AUTH_PUB" -signature "$R/auth.sig" "$R/data.txt"
else
  fail "the auth signature made remotely exists" "$(cat "$R/auth-sign.log" 2>/dev/null)"
fi
if [ -s "$R/sign.sig" ] && sign_pub_from_card; then
  check "the sign signature made remotely verifies with the sign certificate" \
    openssl dgst -sha256 -verify "$T/sign-pub.pem" -signature "$R/sign.sig" "$R/data.txt"
else
  fail "the sign signature made remotely exists and the sign certificate is readable" "$(cat "$R/sign-sign.log" 2>/dev/null)"
fi
# Two logins: the tunnel (its ed25519 key), then ssh -I through the tunnel (the card's RSA key).
if grep -q "Accepted publickey for $USER_NAME from 127.0.0.1 .* RSA $CERT_FP" "$T/sshd.log"; then
  pass "remote ssh -I p11-kit-client.so logged in with the card's auth key (sshd: Accepted publickey ... RSA $CERT_FP)"
else
  fail "remote ssh -I p11-kit-client.so logged in with the card's auth key" "$(grep -E 'Accepted|Failed|error' "$T/sshd.log" | tail -n 8)"
fi
if [ -n "$srv_pid" ]; then
  for _ in $(seq 50); do kill -0 "$srv_pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$srv_pid" 2>/dev/null; then fail "p11-kit server --kill stopped the server (PID $srv_pid)" "still running"
  else pass "p11-kit server --kill stopped the server (PID $srv_pid)"; fi
else
  fail "p11-kit server printed its PID" "$(cat "$T/p11kit.pid" 2>/dev/null)"
fi
check_tries
finish
