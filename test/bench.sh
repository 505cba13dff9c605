#!/usr/bin/env bash
# make bench: performance of myna-pkcs11 against OpenSC (same simulated
# My Number Card through pcscd + vsmartcard's vpcd) and SoftHSM2 (RSA-2048
# key in a private token), and in Firefox ESR and Chromium, in one bounded
# run (about 30 minutes, 23 of them the browsers' idle minutes):
#
#   1. APDUs per scenario (test/bench/scenario: a list, b objects, c/d
#      login + one signature in a fresh process, e 10 signatures), counted
#      by the simulator (myna-sim --stats-file): ours in-process, ours
#      through pcscd, OpenSC through pcscd; with the theoretical minimum.
#      The same keys served as an Android smartphone credential: ours
#      in-process (driver inproc-scenario -device android), ours and
#      OpenSC through pcscd (myna-sim --device android).
#   2. Modelled user time on a contact and a contactless reader:
#      measured time without latency + APDUs x per-APDU latency +
#      signatures x signature latency; plus one scenario measured with the
#      simulator's latency model switched on, to check the model; and the
#      contactless time of the phone next to the card's, ours and OpenSC.
#   3. Signatures per second: our .so with the in-process simulated card,
#      the module's Go core in-process, the simulator's raw RSA, SoftHSM2
#      (same Go driver, miekg/pkcs11), median and min–max of
#      $BENCH_RATE_ROUNDS (5) interleaved rounds; dlopen -> first
#      C_GetSlotList time and peak RSS (C driver, gcc, median and min–max
#      of $BENCH_RUNS (7) rounds, the modules interleaved).
#   4. Scaling: C_FindObjects / C_GetAttributeValue with 1..1000 sessions
#      (through the .so, and Go testing.B in p11), C_WaitForSlotEvent with
#      1..64 simulated readers (testing.B).
#   5. Browsers (test/bench/browsers.sh): Firefox ESR and Chromium with
#      ours and OpenSC, time to the PIN dialog and idle APDUs per minute
#      (BENCH_DIALOG_ROUNDS, BENCH_IDLE_MINUTES).
#
# Prints the summary and writes test/PERFORMANCE.md (date, machine), both
# by test/bench/report (driver report).
# Processes it starts (pcscd, myna-sim) are stopped by PID.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

OURS="$ROOT/build/libmyna-pkcs11.so"
OSC=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so
SOFTHSM=/usr/lib/softhsm/libsofthsm2.so
RUNS=${BENCH_RUNS:-7}
SIGN_N=${BENCH_SIGNATURES:-200}
RATE_ROUNDS=${BENCH_RATE_ROUNDS:-5}
OUT_MD="$ROOT/test/PERFORMANCE.md"
B="$LIB_TMP/bench"
mkdir -p "$B"
log() { echo "bench: $*" >&2; }
die() { log "$*"; exit 1; }

need_root_deps >/dev/null || die "installing dependencies failed"
[ -f "$OURS" ] || die "$OURS missing: run make all"
[ -f "$SOFTHSM" ] || die "$SOFTHSM missing (Debian package softhsm2)"
build_sim || die "building myna-sim failed"
(cd "$ROOT" && go build -o "$B/driver" ./test/bench/driver) || die "building the driver failed"
gcc -O2 -Wall -o "$B/loadtime" "$ROOT/test/bench/loadtime.c" -ldl || die "gcc loadtime.c failed"
DRIVER="$B/driver"

STATE="$B/card.json"
STATS="$B/stats.json"
"$SIM_BIN" --state "$STATE" --init >/dev/null || die "creating the simulated card failed"
cp "$STATE" "$B/card-inproc.json"

# Private OpenSC configuration, as test/opensc-sim.sh: no file cache
# (every JPKI card has serial 00000000), so every run talks to the card.
export OPENSC_CONF="$B/opensc.conf"
printf 'app default {\n  framework pkcs15 {\n    use_file_caching = no;\n  }\n}\n' >"$OPENSC_CONF"
# The browsers and NSS get a HOME of their own; Go keeps the machine's
# module and build caches (a HOME without them would fetch every module
# again, and fail without a network).
GOPATH=$(go env GOPATH) GOMODCACHE=$(go env GOMODCACHE) GOCACHE=$(go env GOCACHE)
export GOPATH GOMODCACHE GOCACHE
export HOME="$B/home"
mkdir -p "$HOME"

# The machine's load, sampled at the start and after each section: a
# figure measured on a busy machine says so in the report.
: >"$B/loadavg.txt"
sample_load() { echo "$1 $(cut -d' ' -f1-3 /proc/loadavg)" >>"$B/loadavg.txt"; }
sample_load start

start_pcscd || die "start pcscd"
serve() { # serve [myna-sim latency flags...]
  stop_sim
  start_sim "$STATE" 35963 --stats-file "$STATS" "$@" || die "start the simulator"
  # Let pcscd settle on the new card (a module asking while pcscd still
  # powers it up sees no token), then one unmeasured warm-up run.
  sleep 1
  "$DRIVER" scenario -module "$OURS" -name a-list >/dev/null || die "warm-up after starting the simulator failed"
}
serve

# --- 1. APDU counts (and time without latency) -----------------------------
SCENARIOS="a-list b-objects c-sign-auth d-sign-sign e-sign10"
: >"$B/scenarios.jsonl"
for sc in $SCENARIOS; do
  "$DRIVER" inproc-scenario -state "$B/card-inproc.json" -name "$sc" |
    sed "s/^{/{\"module\":\"ours-inproc\",/" >>"$B/scenarios.jsonl" || die "in-process $sc failed"
  "$DRIVER" inproc-scenario -state "$B/card-inproc.json" -device android -name "$sc" |
    sed "s/^{/{\"module\":\"ours-inproc-android\",/" >>"$B/scenarios.jsonl" || die "in-process $sc on the Android phone failed"
  for mod in ours opensc; do
    so=$OURS; [ "$mod" = opensc ] && so=$OSC
    # Median time of 3 runs; the APDU count of every run must agree.
    for i in 1 2 3; do
      "$DRIVER" scenario -module "$so" -name "$sc" -stats "$STATS" |
        sed "s/^{/{\"module\":\"$mod\",\"run\":$i,/" >>"$B/scenarios.jsonl" || die "$mod $sc failed"
    done
  done
  log "scenario $sc measured"
done
# The same keys as an Android smartphone credential through pcscd, ours
# and OpenSC, 3 runs each, without the simulator's default phone latency
# (the report models the contactless reader). Every OpenSC run gets a
# phone served afresh (a new tap): OpenSC leaves the credential verified
# when its process ends (test/OPENSC-DIFFERENCES.md, row 2), and the next
# process would read the certificates behind the PIN without one. Ours
# leaves it reset.
phone_run() { # phone_run MODULE SCENARIO RUN
  local so=$OURS; [ "$1" = opensc ] && so=$OSC
  "$DRIVER" scenario -module "$so" -name "$2" -stats "$STATS" |
    sed "s/^{/{\"module\":\"$1-android\",\"run\":$3,/" >>"$B/scenarios.jsonl" || die "$1 $2 on the Android phone failed"
}
for sc in $SCENARIOS; do
  serve --device android --latency-apdu 0ms
  for i in 1 2 3; do phone_run ours "$sc" "$i"; done
  for i in 1 2 3; do
    serve --device android --latency-apdu 0ms
    phone_run opensc "$sc" "$i"
  done
done
log "scenarios on the Android phone measured"
sample_load "APDU counts"

# --- 2. Measured with the latency model on (contact reader) -----------------
# Rounds interleave ours and OpenSC, so a burst of load on the machine
# hits both; the report gives median and spread per scenario and module.
serve --latency-apdu 15ms --latency-sign 500ms
: >"$B/latency.jsonl"
for round in $(seq "${BENCH_LATENCY_ROUNDS:-5}"); do
  for sc in c-sign-auth a-list; do
    for mod in ours opensc; do
      so=$OURS; [ "$mod" = opensc ] && so=$OSC
      "$DRIVER" scenario -module "$so" -name "$sc" -stats "$STATS" |
        sed "s/^{/{\"module\":\"$mod\",\"run\":$round,/" >>"$B/latency.jsonl" || die "$mod $sc with latency failed"
    done
  done
done
sample_load "latency check"
log "latency check measured"
serve

# --- 3. Load time and peak RSS ($RUNS rounds) --------------------------------
export SOFTHSM2_CONF="$B/softhsm2.conf"
mkdir -p "$B/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$B/tokens" >"$SOFTHSM2_CONF"
softhsm2-util --init-token --free --label bench --pin 1234 --so-pin 12345678 >/dev/null || die "softhsm2-util --init-token failed"
pkcs11-tool --module "$SOFTHSM" --login --pin 1234 --keypairgen --key-type rsa:2048 --id 01 --label bench >/dev/null 2>&1 ||
  die "SoftHSM2 key generation failed"
: >"$B/load.txt"
# Rounds interleave the modules round-robin, so a burst of load hits all
# three; the report gives median and min–max per module.
for _ in $(seq "$RUNS"); do
  for mod in ours opensc softhsm; do
    so=$OURS; [ "$mod" = opensc ] && so=$OSC; [ "$mod" = softhsm ] && so=$SOFTHSM
    echo "$mod $("$B/loadtime" "$so")" >>"$B/load.txt" || die "loadtime $mod failed"
  done
done
sample_load "load time"
log "load time measured"

# --- 3b. Signatures per second ---------------------------------------------
stop_sim
# BENCH_RATE_ROUNDS rounds, each measuring every row once (interleaved);
# the report gives median and min–max per row, and the overhead on the
# card's RSA per round.
for _ in $(seq "$RATE_ROUNDS"); do
  MYNA_PKCS11_SIM="$B/card-inproc.json" "$DRIVER" signrate -module "$OURS" -pin 1234 -n "$SIGN_N" >>"$B/rate-ours.jsonl" || die "signrate ours"
  "$DRIVER" inproc -state "$B/card-inproc.json" -n "$SIGN_N" >>"$B/rate-inproc.jsonl" || die "inproc rate"
  "$DRIVER" signrate -module "$SOFTHSM" -pin 1234 -n "$SIGN_N" >>"$B/rate-softhsm.jsonl" || die "signrate softhsm"
done
sample_load "signature rates"
log "signature rates measured"

# --- 4. Scaling --------------------------------------------------------------
MYNA_PKCS11_SIM="$B/card-inproc.json" "$DRIVER" scale -module "$OURS" >"$B/scale-ours.json" || die "scale ours"
"$DRIVER" scale -module "$SOFTHSM" >"$B/scale-softhsm.json" || die "scale softhsm"
(cd "$ROOT" && go test ./p11 -run '^$' -bench 'FindObjects|GetAttributeValue|WaitForSlotEvent' -benchtime 300x) >"$B/gobench.txt" 2>&1 ||
  die "go test -bench p11 failed: $(tail -5 "$B/gobench.txt")"
sample_load end
log "scaling measured"
stop_pcscd

# --- 5. Browsers ---------------------------------------------------------------
# Firefox and Chromium with ours and OpenSC: time to the PIN dialog and idle
# card traffic (test/bench/browsers.sh; its own pcscd and two cards).
bash "$ROOT/test/bench/browsers.sh" "$B" || die "the browser benchmark failed (test/bench/browsers.sh)"
sample_load browsers
log "browsers measured"

# --- Report ------------------------------------------------------------------
# test/bench/report (driver report) reads the raw files of $B, writes
# $OUT_MD and prints the summary; it exits 1 on a PROBLEM. It reads the
# machine, the OpenSC and SoftHSM2 versions and the commit itself.
"$DRIVER" report -dir "$B" -out "$OUT_MD" -root "$ROOT"
rc=$?
log "wrote $OUT_MD"
exit $rc
