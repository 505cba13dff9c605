#!/usr/bin/env bash
# The browser part of `make bench`: Firefox ESR and
# Chromium, each with our module and with OpenSC's, on simulated cards
# through pcscd + vpcd:
#
#   1. time to the PIN dialog: rounds (BENCH_DIALOG_ROUNDS, default 3)
#      interleave ours and OpenSC, each run a fresh browser and profile:
#      from the navigation to the client-auth URL until the PIN dialog is
#      there, and from the PIN's Enter until the page is loaded, with the
#      APDUs the card answered (browser-dialog.jsonl);
#   2. idle card traffic: the browser's startup, then BENCH_IDLE_MINUTES
#      (default 5) minutes on a page that asks for no client certificate,
#      the client-auth login, and as many minutes on the page behind it,
#      APDUs per minute and per INS (browser-idle.jsonl). The idle runs of
#      ours and OpenSC go at the same time, each on its own card.
#
#   bash test/bench/browsers.sh OUTDIR     (called by test/bench.sh)
#   BENCH_DIALOG_ROUNDS=1 BENCH_IDLE_MINUTES=1 BENCH_IDLE_INTERVAL=10s ...   (a quick try)
#
# Writes OUTDIR/browser-info.jsonl, browser-dialog.jsonl, browser-idle.jsonl
# (one JSON object per line; schema in test/bench/browserbench) and logs
# its checks on stderr; exits non-zero on any failure. Firefox first, then
# Chromium, one browser kind at a time. Two cards: ours uses "Virtual PCD
# 00 00" (vpcd port 35963) only, OpenSC "Virtual PCD 00 01" (35964) only,
# each simulator with --latency-apdu 15ms --latency-sign 500ms and its own
# --stats-file. Everything runs on 127.0.0.1; every process started here
# is stopped by PID; the Chromium policy file is removed on exit.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"

OUT=${1:?usage: browsers.sh OUTDIR}
mkdir -p "$OUT" || exit 1
OUT=$(cd "$OUT" && pwd)
ROUNDS=${BENCH_DIALOG_ROUNDS:-3}
MINUTES=${BENCH_IDLE_MINUTES:-5}
INTERVAL=${BENCH_IDLE_INTERVAL:-1m} # the length of a "minute" (shorter only to try the script out)
OSC=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so
MODNAME="Card module (bench)"
FIREFOX_POLICY_LOCK=/tmp/myna-pkcs11-firefox-policy.lock
CHROMIUM_POLICY_LOCK=/tmp/myna-pkcs11-chromium-policy.lock
CHROMIUM_POLICY=/etc/chromium/policies/managed/myna-pkcs11-bench.json
LATENCY=(--latency-apdu 15ms --latency-sign 500ms)
log() { echo "browsers: $*" >&2; }
die() { log "FAILED: $*"; exit 1; }

for tool in firefox-esr chromium Xvfb xdotool modutil certutil pkcs11-tool; do
  command -v "$tool" >/dev/null || die "$tool is missing: run test/install-deps.sh (firefox-esr chromium xvfb xdotool libnss3-tools opensc)"
done
if [ ! -f "$MOD" ] || [ ! -f "$OSC" ]; then die "$MOD or $OSC missing (make all; Debian package opensc)"; fi
build_sim || die "building myna-sim failed"
go -C "$ROOT" build -o "$T/fxdriver" ./test/firefox/fxdriver || die "building fxdriver failed"
go -C "$ROOT" build -o "$T/crdriver" ./test/chromium/crdriver || die "building crdriver failed"
: >"$OUT/browser-info.jsonl"; : >"$OUT/browser-dialog.jsonl"; : >"$OUT/browser-idle.jsonl"
FIREFOX=$(readlink -f "$(command -v firefox-esr)")
printf '{"browser":"firefox","version":"%s"}\n' "$("$FIREFOX" --version 2>/dev/null)" >>"$OUT/browser-info.jsonl"
printf '{"browser":"chromium","version":"%s"}\n' "$(chromium --version 2>/dev/null | sed 's/ built on .*//')" >>"$OUT/browser-info.jsonl"

# --- two cards, each module restricted to its own ------------------------------------
# so_of MODULE / reader_of MODULE / port_of MODULE: the library, the reader and
# the vpcd port of ours (card A) and opensc (card B).
so_of() { if [ "$1" = ours ]; then echo "$MOD"; else echo "$OSC"; fi; }
reader_of() { if [ "$1" = ours ]; then echo "Virtual PCD 00 00"; else echo "Virtual PCD 00 01"; fi; }
export MYNA_PKCS11_READERS="Virtual PCD 00 00"
# OpenSC: the other reader is ignored; no file cache (every JPKI card has
# serial 00000000), so every run talks to the card, as in test/bench.sh.
# (Exported once both cards are up: lib.sh's reader_has_card asks opensc-tool.)
printf 'app default {\n  ignored_readers = "Virtual PCD 00 00";\n  framework pkcs15 {\n    use_file_caching = no;\n  }\n}\n' >"$T/opensc.conf"
for m in ours opensc; do
  "$SIM_BIN" --init --state "$T/card-$m.json" >/dev/null || die "creating card $m failed"
  "$SIM_BIN" --export-certs "$T/certs-$m" --state "$T/card-$m.json" >/dev/null || die "exporting the certificates of card $m failed"
done
# The client-auth servers accept either card's auth CA.
: >"$T/auth-cas.pem"
for f in "$T"/certs-*/*; do
  case "$(basename "$f" | tr '[:upper:]' '[:lower:]')" in
    *auth*ca*|*ca*auth*) _pem "$f" "$T/ca.tmp" && cat "$T/ca.tmp" >>"$T/auth-cas.pem" ;;
  esac
done
[ "$(grep -c 'BEGIN CERTIFICATE' "$T/auth-cas.pem")" = 2 ] || die "found no auth CA among the exported certificates: $(ls "$T"/certs-*)"
# shellcheck disable=SC2034 # read by lib.sh's start_s_server
AUTH_CA="$T/auth-cas.pem"

start_pcscd || die "start pcscd"
start_sim "$T/card-ours.json" 35963 --stats-file "$T/stats-ours.json" "${LATENCY[@]}" || die "start the simulator of card A (ours)"
start_bg sim-opensc "$SIM_BIN" --state "$T/card-opensc.json" --vpcd 127.0.0.1:35964 --stats-file "$T/stats-opensc.json" "${LATENCY[@]}"
SIM2_PID=$BG_PID
for _ in $(seq 100); do reader_has_card "Virtual PCD 00 01" && break; kill -0 "$SIM2_PID" 2>/dev/null || break; sleep 0.1; done
reader_has_card "Virtual PCD 00 01" || die "the card of OpenSC did not appear in Virtual PCD 00 01: $(tail -n 5 "$T/sim-opensc.log")"
sleep 1 # let pcscd settle on both cards
export OPENSC_CONF="$T/opensc.conf"

# Each module sees only its card; the token labels are noted for the drivers.
declare -A AUTH_LABEL
for m in ours opensc; do
  pkcs11-tool --module "$(so_of "$m")" -L >"$T/list-$m.txt" 2>&1 || die "pkcs11-tool -L ($m) failed: $(cat "$T/list-$m.txt")"
  other=$(reader_of ours); [ "$m" = ours ] && other=$(reader_of opensc)
  if grep -qF "$other" "$T/list-$m.txt" || ! grep -qF "$(reader_of "$m")" "$T/list-$m.txt"; then
    die "$m must list only the slots of $(reader_of "$m"): $(cat "$T/list-$m.txt")"
  fi
  labels=$(sed -n 's/^ *token label *: *//p' "$T/list-$m.txt" | sed 's/ *$//')
  log "$m lists only $(reader_of "$m"); token labels: $(tr '\n' ';' <<<"$labels" | sed 's/;$//; s/;/; /g')"
  # The auth token: ours calls it "... (Auth)"; OpenSC's JPKI emulation
  # names its tokens after the PINs (the user authentication PIN's).
  AUTH_LABEL[$m]=$(grep -iE 'auth' <<<"$labels" | sed -n 1p)
  [ -n "${AUTH_LABEL[$m]}" ] || die "no auth token among $m's tokens: $labels"
done
printf '%s\n' "$AUTH_PIN" >"$T/auth.pin"; printf '%s\n' "$SIGN_PIN" >"$T/sign.pin"; chmod 600 "$T/auth.pin" "$T/sign.pin"

# --- servers and X -----------------------------------------------------------------
# Per module: a TLS 1.2 server that asks for a client certificate (the login)
# and one that does not (the idle page). Two, so that the two browsers of an
# idle run never wait for each other's handshake.
server_pki
declare -A AUTH_URL IDLE_URL DISPLAY_OF
for m in ours opensc; do
  p=$(free_port); start_s_server "$p" "s_server-auth-$m" -tls1_2 || die "start the client-auth server ($m)"
  AUTH_URL[$m]="https://127.0.0.1:$p/"
  p=$(free_port)
  start_bg "s_server-idle-$m" openssl s_server -accept "127.0.0.1:$p" -www -cert "$SERVER_CERT" -key "$SERVER_KEY" -tls1_2
  wait_port "$p" "$BG_PID" || die "start the idle-page server ($m)"
  IDLE_URL[$m]="https://127.0.0.1:$p/"
  # One X display per module: a driver finds dialogs by title on its display.
  start_xvfb "xvfb-$m" || die "Xvfb ($m) did not start: $(tail -n 5 "$T/xvfb-$m.log")"
  DISPLAY_OF[$m]=$XDISPLAY
done

# tries_ok: no PIN try was spent on either card.
tries_ok() {
  local m t
  for m in ours opensc; do
    t=$(tries_left "$T/card-$m.json")
    [ "$t" = "3 5" ] || die "card $m: tries left (auth sign) $t, want 3 5: a wrong PIN reached the card"
  done
}

# --- Firefox --------------------------------------------------------------------------
# Both modules are registered the same way: modutil -add on a fresh NSS
# database, the profile's (no enterprise policy, no FRIENDLY flag).
exec 8>"$FIREFOX_POLICY_LOCK"
flock -w 600 8 || die "test/suites/firefox.sh has held $FIREFOX_POLICY_LOCK for 10 minutes"
[ ! -e "$(dirname "$FIREFOX")/distribution/policies.json" ] ||
  die "$(dirname "$FIREFOX")/distribution/policies.json exists: a policy would register a module in every profile"

# fx_start NAME MODULE DRIVER-ARGS...: a fresh profile with MODULE, Firefox
# and fxdriver in the background (FX_PID, FXD_PID; driver log $T/NAME-driver.log).
fx_start() {
  local name=$1 m=$2 prof="$T/$1-profile"; shift 2
  mkdir -p "$prof" "$T/$name-home"
  { certutil -N --empty-password -d "sql:$prof" &&
    certutil -A -d "sql:$prof" -n "bench server CA" -t "C,," -a -i "$SERVER_CA" &&
    modutil -dbdir "sql:$prof" -add "$MODNAME" -libfile "$(so_of "$m")" -force; } >"$T/$name-nss.log" 2>&1 ||
    die "[$name] NSS database: $(tail -n 5 "$T/$name-nss.log")"
  cp "$ROOT/test/firefox/user.js" "$prof/user.js"
  cp "$T/stats-$m.json" "$T/$name-base.json"
  start_bg "$name-firefox" env HOME="$T/$name-home" DISPLAY="${DISPLAY_OF[$m]}" "$FIREFOX" --no-remote --marionette \
    -remote-allow-system-access --profile "$prof"
  FX_PID=$BG_PID
  local others=0; [ "$m" = opensc ] && others=5 # OpenSC shows the sign PIN's token too: cancel its dialogs
  DISPLAY="${DISPLAY_OF[$m]}" timeout -k 5 $((MINUTES * 120 + 300)) "$T/fxdriver" -profile "$prof" -log "$T/$name-firefox.log" \
    -pid "$FX_PID" -url "${AUTH_URL[$m]}" -module "$MODNAME" -lib "$(so_of "$m")" -token "${AUTH_LABEL[$m]}" \
    -pin-file "$T/auth.pin" -policy=false -other-prompts "$others" -timeout $((MINUTES * 120 + 240))s \
    -bench-module "$m" -stats "$T/stats-$m.json" -stats-base "$T/$name-base.json" "$@" >"$T/$name-driver.log" 2>&1 &
  FXD_PID=$!
  PIDS+=("$FXD_PID")
}

# fx_wait NAME FX_PID FXD_PID: waits for the driver, stops Firefox; dies when the driver failed.
fx_wait() {
  local rc=0
  wait "$3" || rc=$?
  for _ in $(seq 100); do kill -0 "$2" 2>/dev/null || break; sleep 0.1; done
  stop_pid "$2"
  [ "$rc" = 0 ] || die "[$1] fxdriver exit $rc: $(grep -E '^FAIL' "$T/$1-driver.log")"$'\n'"$(tail -n 5 "$T/$1-driver.log")"
  log "[$1] $(grep -E '^OK bench' "$T/$1-driver.log")"
  grep '^OK other-prompt: ' "$T/$1-driver.log" | sort | uniq -c | sed "s/^ */browsers: [$1]   /; s/OK other-prompt: //" >&2
}

for r in $(seq "$ROUNDS"); do
  for m in ours opensc; do
    fx_start "fx-dialog-$m-$r" "$m" -bench-round "$r" -dialog-out "$OUT/browser-dialog.jsonl"
    fx_wait "fx-dialog-$m-$r" "$FX_PID" "$FXD_PID"
  done
done
tries_ok

# --- idle runs (ours and OpenSC at the same time) ----------------------------------------
# idle_pair BROWSER START WAIT: START NAME MODULE ARGS... starts one browser and
# its driver (setting IDLE_PIDS[MODULE]), WAIT NAME MODULE waits for it. Ours
# starts first; while only ours runs (its startup), OpenSC's card must not
# move; after ours stopped, while OpenSC still runs, ours' card must not move.
declare -A IDLE_PIDS
idle_pair() {
  local br=$1 start=$2 wait=$3 m a b
  for m in ours opensc; do rm -f "$T/$br-idle-$m.ready"; done
  a=$(stats_apdus opensc)
  $start "$br-idle-ours" ours -idle-out "$OUT/browser-idle.jsonl" -idle-url "${IDLE_URL[ours]}" \
    -idle-minutes "$MINUTES" -idle-interval "$INTERVAL" -ready-file "$T/$br-idle-ours.ready"
  for _ in $(seq 1200); do [ -e "$T/$br-idle-ours.ready" ] && break; kill -0 "${IDLE_PIDS[ours]}" 2>/dev/null || break; sleep 0.1; done
  [ -e "$T/$br-idle-ours.ready" ] || $wait "$br-idle-ours" ours
  b=$(stats_apdus opensc)
  [ "$a" = "$b" ] || die "[$br idle] OpenSC's card answered $((b - a)) APDUs while only ours' browser ran: the readers are not separated"
  log "[$br idle] only ours' browser running (its startup): OpenSC's card answered 0 APDUs (stays at $b)"
  $start "$br-idle-opensc" opensc -idle-out "$OUT/browser-idle.jsonl" -idle-url "${IDLE_URL[opensc]}" \
    -idle-minutes "$MINUTES" -idle-interval "$INTERVAL" -ready-file "$T/$br-idle-opensc.ready"
  $wait "$br-idle-ours" ours
  a=$(stats_apdus ours)
  if kill -0 "${IDLE_PIDS[opensc]}" 2>/dev/null; then
    local t0=$SECONDS
    $wait "$br-idle-opensc" opensc
    b=$(stats_apdus ours)
    [ "$a" = "$b" ] || die "[$br idle] ours' card answered $((b - a)) APDUs after ours' browser stopped, while OpenSC's ran"
    log "[$br idle] only OpenSC's browser running (its last $((SECONDS - t0)) s): ours' card answered 0 APDUs (stays at $b)"
  else
    $wait "$br-idle-opensc" opensc
    log "[$br idle] OpenSC's browser ended before ours': no check of ours' card alone"
  fi
  for m in ours opensc; do
    log "[$br idle] card of $m: $(cat "$T/stats-$m.json")"
  done
}

# stats_apdus MODULE: the APDUs card MODULE answered so far.
stats_apdus() { sed -n 's/^{"apdus":\([0-9]*\),.*/\1/p' "$T/stats-$1.json"; }

# shellcheck disable=SC2317 # called through idle_pair
fx_idle_start() { fx_start "$@"; IDLE_PIDS[$2]=$FXD_PID; IDLE_FX[$2]=$FX_PID; }
# shellcheck disable=SC2317 # called through idle_pair
fx_idle_wait() { fx_wait "$1" "${IDLE_FX[$2]}" "${IDLE_PIDS[$2]}"; }
declare -A IDLE_FX
idle_pair firefox fx_idle_start fx_idle_wait
tries_ok
flock -u 8

# --- Chromium -------------------------------------------------------------------------
# Both modules are registered the same way: modutil -add on a fresh
# $HOME/.pki/nssdb (a HOME per run), which Chromium reads at start. An
# AutoSelectCertificateForUrls policy picks the certificate for both
# client-auth servers.
exec 9>"$CHROMIUM_POLICY_LOCK"
flock -w 600 9 || die "test/suites/chromium.sh has held $CHROMIUM_POLICY_LOCK for 10 minutes"
# shellcheck disable=SC2016 # expanded when the hook runs
on_exit 'rm -f -- "$CHROMIUM_POLICY"'
mkdir -p "$(dirname "$CHROMIUM_POLICY")"
printf '{"AutoSelectCertificateForUrls": ["{\\"pattern\\":\\"%s\\",\\"filter\\":{}}", "{\\"pattern\\":\\"%s\\",\\"filter\\":{}}"]}\n' \
  "${AUTH_URL[ours]%/}" "${AUTH_URL[opensc]%/}" >"$CHROMIUM_POLICY"

# cr_start NAME MODULE DRIVER-ARGS...: a fresh HOME and profile, crdriver
# (which starts Chromium) in the background (CRD_PID).
cr_start() {
  local name=$1 m=$2 home="$T/$1-home"; shift 2
  mkdir -p "$home/.pki/nssdb"
  { certutil -N --empty-password -d "sql:$home/.pki/nssdb" &&
    certutil -A -d "sql:$home/.pki/nssdb" -n "bench server CA" -t "C,," -a -i "$SERVER_CA" &&
    modutil -dbdir "sql:$home/.pki/nssdb" -add "$MODNAME" -libfile "$(so_of "$m")" -force; } >"$T/$name-nss.log" 2>&1 ||
    die "[$name] NSS database: $(tail -n 5 "$T/$name-nss.log")"
  # With OpenSC, Chromium asks for the sign PIN's token first, then for the
  # auth token (NSS's slot order; seen on screenshots of Chromium 156's
  # dialogs). Cancelling the first is no way out: Chromium then takes every
  # later dialog of that request as cancelled too (no C_Login reaches
  # OpenSC, the page never loads). So the sign password is typed into it, as
  # a user would have to; it is the simulated card's right one, so no try is
  # spent (tries_ok checks), and it does not count as a PIN dialog.
  local other=(); [ "$m" = opensc ] && other=(-other-pin-file "$T/sign.pin")
  HOME="$home" DISPLAY="${DISPLAY_OF[$m]}" timeout -k 5 $((MINUTES * 120 + 300)) "$T/crdriver" -chromium /usr/bin/chromium \
    -user-data-dir "$T/$name-profile" -url "${AUTH_URL[$m]}" -pin-file "$T/auth.pin" -out "$T/$name-page.txt" \
    -timeout $((MINUTES * 120 + 240))s "${other[@]}" -bench-module "$m" -stats "$T/stats-$m.json" "$@" \
    >"$T/$name-driver.log" 2>"$T/$name-chromium.log" &
  CRD_PID=$!
  PIDS+=("$CRD_PID")
}

# cr_wait NAME PID: waits for the driver; dies when it failed.
cr_wait() {
  local rc=0
  wait "$2" || rc=$?
  [ "$rc" = 0 ] || die "[$1] crdriver exit $rc: $(grep -E '^FAIL' "$T/$1-driver.log")"$'\n'"$(tail -n 5 "$T/$1-driver.log")"
  log "[$1] $(grep -E '^OK bench' "$T/$1-driver.log")"
}

for r in $(seq "$ROUNDS"); do
  for m in ours opensc; do
    cr_start "cr-dialog-$m-$r" "$m" -bench-round "$r" -dialog-out "$OUT/browser-dialog.jsonl"
    cr_wait "cr-dialog-$m-$r" "$CRD_PID"
  done
done
tries_ok

# shellcheck disable=SC2317 # called through idle_pair
cr_idle_start() { cr_start "$@"; IDLE_PIDS[$2]=$CRD_PID; }
# shellcheck disable=SC2317 # called through idle_pair
cr_idle_wait() { cr_wait "$1" "${IDLE_PIDS[$2]}"; }
idle_pair chromium cr_idle_start cr_idle_wait
tries_ok

log "wrote $OUT/browser-info.jsonl, browser-dialog.jsonl ($(wc -l <"$OUT/browser-dialog.jsonl") lines), browser-idle.jsonl ($(wc -l <"$OUT/browser-idle.jsonl") lines)"
exit 0
