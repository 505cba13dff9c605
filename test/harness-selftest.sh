#!/usr/bin/env bash
# Tests of test/lib.sh itself: each helper a suite relies on must be able to
# fail. Needs openssl only (no card, no pcscd). Run by test/run-all.sh.
set -uo pipefail
SUITE=harness-selftest
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib.sh"   # sourcing twice must keep the tally and $T
SELF_T=$T

# expect NAME WANT_RC CMD...: PASS when CMD exits WANT_RC (its output hidden).
expect() {
  local what=$1 want=$2 rc=0; shift 2
  "$@" >"$T/expect.log" 2>&1 || rc=$?
  if [ "$rc" -eq "$want" ]; then pass "$what"; else fail "$what" "exit $rc, want $want:"$'\n'"$(cat "$T/expect.log")"; fi
}

# --- server_saw_card_cert ----------------------------------------------------------
for n in card other; do
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/$n.key" -out "$T/$n.pem" -days 1 -subj "/CN=$n" >/dev/null 2>&1 ||
    { fail "openssl makes a test certificate"; finish; }
done
# page FILE CERT SIGTYPE: an s_server -www page showing CERT and SIGTYPE.
page() {
  { printf 'HTTP/1.0 200 ok\r\nProtocol  : TLSv1.2\nClient certificate\n'; cat "$2"
    printf 'Peer signature type: %s\n' "$3"; } >"$1"
}
AUTH_CERT="$T/card.pem"
page "$T/other" "$T/other.pem" RSA
printf 'HTTP/1.0 200 ok\r\nno certificate here\n' >"$T/none"
# saw FILE: server_saw_card_cert in a subshell, its PASS/FAIL line not counted here.
# shellcheck disable=SC2317  # called through expect
saw() ( server_saw_card_cert "$1" probe >/dev/null )
# The card's certificate with each signature type OpenSSL 3.0 / 3.5 may print.
for tc in RSA:0 rsa_pkcs1_sha256:0 rsa_pkcs1_sha512:0 RSA-PSS:1 rsa_pss_rsae_sha256:1 ECDSA:1; do
  page "$T/sig" "$T/card.pem" "${tc%:*}"
  expect "server_saw_card_cert exits ${tc#*:} on the card's certificate with 'Peer signature type: ${tc%:*}'" "${tc#*:}" saw "$T/sig"
done
page "$T/ok" "$T/card.pem" RSA
expect "server_saw_card_cert fails on another certificate" 1 saw "$T/other"
expect "server_saw_card_cert fails when the page shows no client certificate" 1 saw "$T/none"
expect "page_has_client_cert finds the certificate" 0 page_has_client_cert "$T/ok"
expect "page_has_client_cert finds none" 1 page_has_client_cert "$T/none"

# --- p11kit_module: p11-kit list-modules of 0.24 (Debian 12) and 0.25 (Debian 13) ------------
printf '%s\n' 'p11-kit-trust: /usr/lib/p11-kit-trust.so' '    token: System Trust' \
  'myna-pkcs11: /usr/lib/libmyna-pkcs11.so' '    library-description: x' '    token: My Number Card (Auth)' \
  'opensc: /usr/lib/opensc-pkcs11.so' '    token: Other' >"$T/lm24"
printf '%s\n' 'module: p11-kit-trust' '    path: /usr/lib/p11-kit-trust.so' '    token: System Trust' \
  'module: myna-pkcs11' '    path: /usr/lib/libmyna-pkcs11.so' '    token: My Number Card (Auth)' \
  '        uri: pkcs11:token=x' 'module: opensc' '    token: Other' >"$T/lm25"
# case: FILE NAME WANT (the block's first line and token lines, joined with |)
for tc in "lm24 myna-pkcs11 myna-pkcs11: /usr/lib/libmyna-pkcs11.so|    token: My Number Card (Auth)" \
  "lm25 myna-pkcs11 module: myna-pkcs11|    token: My Number Card (Auth)" \
  "lm24 absent " "lm25 absent " "lm25 path "; do
  read -r f n want <<<"$tc"
  got=$(p11kit_module "$T/$f" "$n" | grep -E '^[^ ]|^    token:' | paste -sd '|')
  if [ "$got" = "$want" ]; then pass "p11kit_module $f $n finds '$want'"; else fail "p11kit_module $f $n finds '$want'" "got '$got'"; fi
done

# --- tries_left / sim_status (a fake myna-sim) ------------------------------------------
cat >"$T/fake-sim" <<'SIM'
#!/usr/bin/env bash
cat "$FAKE_STATUS"
SIM
chmod +x "$T/fake-sim"
export FAKE_STATUS="$T/status"
# tries STATUS_TEXT: tries_left with myna-sim --status printing STATUS_TEXT.
tries() { printf '%s\n' "$1" >"$FAKE_STATUS"; SIM="$T/fake-sim" tries_left unused; }
for tc in "3 5|auth PIN:        3 of 3 tries left
sign password:   5 of 5 tries left" \
  "0 12|auth PIN:        BLOCKED (0 of 3 tries left)
sign password:   12 of 16 tries left" \
  "? 4|sign password:   4 of 5 tries left"; do
  want=${tc%%|*} text=${tc#*|}
  got=$(tries "$text")
  if [ "$got" = "$want" ]; then pass "tries_left reads '$want'"; else fail "tries_left reads '$want'" "got '$got' from: $text"; fi
done

# --- finish and the EXIT trap -------------------------------------------------------------
# sub SCRIPT: runs SCRIPT in a new bash that sources lib.sh first.
sub() { SUITE=sub bash -c ". '$ROOT/test/lib.sh'; $1"; }
expect "finish exits 0 when all passed" 0 sub 'pass a; finish'
expect "finish exits 1 on a failure" 1 sub 'pass a; fail b; skip c d; finish'
expect "finish exits 77 when something was skipped and nothing failed" 77 sub 'pass a; skip c d; finish'
expect "a script's lib_extra_cleanup() { _cleanup; } does not recurse" 0 sub 'lib_extra_cleanup() { _cleanup; }; exit 0'
rc=0
# shellcheck disable=SC2016  # $T is expanded by the inner bash
out=$(sub 'on_exit "echo first-registered"; on_exit "echo second-registered"; echo "$T"; exit 3') || rc=$?
tdir=$(sed -n 1p <<<"$out")
if [ "$rc" -eq 3 ] && [ ! -e "$tdir" ] && [ "$(sed -n '2,3p' <<<"$out" | tr '\n' ' ')" = "second-registered first-registered " ]; then
  pass "the EXIT trap keeps the exit status, runs on_exit hooks newest first and removes \$T"
else
  fail "the EXIT trap keeps the exit status, runs on_exit hooks newest first and removes \$T" "exit $rc, output: $out"
fi
rc=0; out=$(sub 'sleep 300 >/dev/null 2>&1 & PIDS+=($!); echo $!; exit 0') || rc=$?
if [ -n "$out" ] && ! kill -0 "$out" 2>/dev/null; then pass "the EXIT trap stops background processes by PID"
else fail "the EXIT trap stops background processes by PID" "pid '$out' still runs"; kill "$out" 2>/dev/null; fi

if [ "$T" = "$SELF_T" ] && [ -d "$T" ]; then pass "sourcing lib.sh twice kept one temp dir"
else fail "sourcing lib.sh twice kept one temp dir"; fi
finish
