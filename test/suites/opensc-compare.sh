#!/usr/bin/env bash
# OpenSC as a second implementation: the same scenarios with our module and
# with OpenSC's opensc-pkcs11.so (its JPKI driver), on the same simulated card
# behind pcscd + vsmartcard's vpcd (our module without MYNA_PKCS11_SIM, so
# both go through PC/SC). For each observable behaviour the suite records
# both modules' answers:
#   tokens (labels, serial, flags, PIN min/max), objects visible before and
#   after login (sign certificate? CKA_ALWAYS_AUTHENTICATE?), mechanisms,
#   login + sign with each key (SHA256-RSA-PKCS and RSA-PKCS over a
#   DigestInfo, verified with openssl), malformed PINs and a lower-case sign
#   password (card tries spent, read with myna-sim --status), wrong PINs
#   (return code, token flags COUNT_LOW / FINAL_TRY / LOCKED), a login on a
#   locked PIN, --change-pin, whether the card still holds a verified PIN
#   after C_Logout and after the process ends (a raw PC/SC SIGN without
#   VERIFY: 90 00 = yes, 69 82 = no), and the APDUs of each scenario
#   (myna-sim --stats-file).
# OUR module's expected behaviour is asserted (PASS/FAIL); OpenSC's is only
# recorded and printed, never failed. The observed table is printed at the
# end; `--write` also puts it into test/OPENSC-DIFFERENCES.md (between the
# "observed" markers).
#
# Only one pcscd may run on the machine: the suite waits until no pcscd runs
# (up to MYNA_PCSC_WAIT seconds, default 1200) and SKIPs if it never can.
# Anything else talking to this pcscd while the suite runs (e.g. a program
# loading OpenSC through p11-kit-proxy) would add APDUs to the counts.
# shellcheck disable=SC2015  # pass returns 0, so `cond && pass .. || fail ..` is an if/else here
# shellcheck disable=SC2154  # PC_*, W_*, WS_*, L_* are set by name (printf -v) in pin_case and friends
. "$(dirname "$0")/../lib.sh"

WRITE=0
[ "${1:-}" = --write ] && WRITE=1
DOC="$ROOT/test/OPENSC-DIFFERENCES.md"
OSC_MOD=${MYNA_OPENSC_LIB:-/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so}

need_module
for tool in pkcs11-tool pcscd python3 openssl; do
  command -v "$tool" >/dev/null || { fail "$tool is installed (test/install-deps.sh)"; finish; }
done
[ -f "$OSC_MOD" ] || { fail "OpenSC's module $OSC_MOD is installed (apt install opensc-pkcs11)"; finish; }

card_init                 # fresh card $STATE, our labels, AUTH_PUB
sign_pub_from_card || { fail "read the sign certificate's public key in-process"; finish; }
SIGN_PUB="$T/sign-pub.pem"
unset MYNA_PKCS11_SIM     # from here on both modules use PC/SC

# Private OpenSC configuration (as test/opensc-sim.sh): no file cache, since
# every JPKI card has the serial 00000000 in OpenSC.
export OPENSC_CONF="$T/opensc.conf"
printf 'app default {\n  framework pkcs15 {\n    use_file_caching = no;\n  }\n}\n' >"$OPENSC_CONF"

# --- helper: PKCS#11 token info / attributes / logout, raw PC/SC probe --------
PROBE="$T/p11probe.py"
cat >"$PROBE" <<'PY'
"""PKCS#11 + PC/SC probe for opensc-compare.sh (ctypes only; PINs read from a file, never printed).
  tokens MODULE                        JSON list: label, manufacturer, model, serial, flags, PIN min/max
  keys MODULE LABEL [PINFILE]          JSON: objects (class, CKA_ID, CKA_ALWAYS_AUTHENTICATE of private keys)
  logout MODULE LABEL PINFILE EF TRACE READER
                                       JSON: C_Login, raw SIGN probe, C_Logout + its APDUs (from TRACE), probe
  probe READER EF                      JSON: status word of SELECT JPKI AP + SELECT EF + SIGN without VERIFY
  hold READER SECONDS                  stay connected to the card (shared) until SIGTERM or SECONDS
  reset READER                         connect and disconnect with SCARD_RESET_CARD (the card forgets its PINs)
"""
import ctypes as C, hashlib, json, sys, time

UL = C.c_ulong
JPKI_AID = bytes.fromhex("D392F000260100000001")


class IORequest(C.Structure):
    _fields_ = [("dwProtocol", UL), ("cbPciLength", UL)]


class PCSC:  # libpcsclite: DWORD = unsigned long, LONG = long
    def __init__(self, reader):
        self.lib = C.CDLL("libpcsclite.so.1")
        self.ctx, self.h, proto = C.c_long(), C.c_long(), UL()
        rv = self.lib.SCardEstablishContext(UL(2), None, None, C.byref(self.ctx))
        if rv:
            raise RuntimeError("SCardEstablishContext 0x%x" % (rv & 0xFFFFFFFF))
        for _ in range(50):
            rv = self.lib.SCardConnect(self.ctx, reader.encode(), UL(2), UL(2), C.byref(self.h), C.byref(proto))
            if rv == 0:
                break
            time.sleep(0.1)
        if rv:
            raise RuntimeError("SCardConnect 0x%x" % (rv & 0xFFFFFFFF))
        self.pci = IORequest(2, C.sizeof(IORequest))

    def tx(self, apdu):
        buf, n = (C.c_ubyte * 300)(), UL(300)
        for _ in range(50):  # another handle may hold a transaction for a moment
            n.value = 300
            rv = self.lib.SCardTransmit(self.h, C.byref(self.pci), bytes(apdu), UL(len(apdu)), None, buf, C.byref(n))
            if rv == 0:
                return bytes(buf[: n.value])
            time.sleep(0.1)
        raise RuntimeError("SCardTransmit 0x%x" % (rv & 0xFFFFFFFF))

    def close(self, reset):
        self.lib.SCardDisconnect(self.h, UL(1 if reset else 0))
        self.lib.SCardReleaseContext(self.ctx)


def sign_probe(reader, ef):
    p = PCSC(reader)
    try:
        sw = p.tx(bytes.fromhex("00A4040C0A") + JPKI_AID)[-2:]
        if sw != b"\x90\x00":
            return "SELECT-AP-" + sw.hex().upper()
        sw = p.tx(bytes.fromhex("00A4020C02" + ef))[-2:]
        if sw != b"\x90\x00":
            return "SELECT-EF-" + sw.hex().upper()
        di = bytes.fromhex("3031300d060960864801650304020105000420") + hashlib.sha256(b"probe").digest()
        return p.tx(bytes([0x80, 0x2A, 0x00, 0x80, len(di)]) + di + b"\x00")[-2:].hex().upper()
    finally:
        p.close(reset=False)


FLAGS = [(0x1, "RNG"), (0x2, "WRITE_PROTECTED"), (0x4, "LOGIN_REQUIRED"), (0x8, "USER_PIN_INITIALIZED"),
         (0x20, "RESTORE_KEY_NOT_NEEDED"), (0x40, "CLOCK_ON_TOKEN"), (0x100, "PROTECTED_AUTHENTICATION_PATH"),
         (0x200, "DUAL_CRYPTO_OPERATIONS"), (0x400, "TOKEN_INITIALIZED"), (0x800, "SECONDARY_AUTHENTICATION"),
         (0x10000, "USER_PIN_COUNT_LOW"), (0x20000, "USER_PIN_FINAL_TRY"), (0x40000, "USER_PIN_LOCKED"),
         (0x80000, "USER_PIN_TO_BE_CHANGED"), (0x100000, "SO_PIN_COUNT_LOW"), (0x200000, "SO_PIN_FINAL_TRY"),
         (0x400000, "SO_PIN_LOCKED"), (0x800000, "SO_PIN_TO_BE_CHANGED")]
CKR = {0: "CKR_OK", 0x5: "CKR_GENERAL_ERROR", 0x6: "CKR_FUNCTION_FAILED", 0x30: "CKR_DEVICE_ERROR",
       0x54: "CKR_FUNCTION_NOT_SUPPORTED", 0xA0: "CKR_PIN_INCORRECT", 0xA1: "CKR_PIN_INVALID",
       0xA2: "CKR_PIN_LEN_RANGE", 0xA4: "CKR_PIN_LOCKED", 0xB3: "CKR_SESSION_HANDLE_INVALID",
       0xE0: "CKR_TOKEN_NOT_PRESENT", 0x100: "CKR_USER_ALREADY_LOGGED_IN", 0x101: "CKR_USER_NOT_LOGGED_IN"}
ckr = lambda rv: CKR.get(rv, "0x%x" % rv)


class Attr(C.Structure):
    _fields_ = [("type", UL), ("pValue", C.c_void_p), ("ulValueLen", UL)]


class P11:  # CK_ULONG = unsigned long; the functions are exported by both modules
    def __init__(self, path):
        self.lib = C.CDLL(path)
        for f in ("C_Initialize", "C_Finalize", "C_GetSlotList", "C_GetTokenInfo", "C_OpenSession",
                  "C_CloseSession", "C_Login", "C_Logout", "C_FindObjectsInit", "C_FindObjects",
                  "C_FindObjectsFinal", "C_GetAttributeValue"):
            getattr(self.lib, f).restype = UL
        rv = self.lib.C_Initialize(None)
        if rv:
            raise RuntimeError("C_Initialize " + ckr(rv))

    def slots(self):
        n = UL()
        self.lib.C_GetSlotList(C.c_ubyte(1), None, C.byref(n))
        arr = (UL * max(n.value, 1))()
        self.lib.C_GetSlotList(C.c_ubyte(1), arr, C.byref(n))
        return list(arr[: n.value])

    def token(self, slot):  # CK_TOKEN_INFO: label 0, manufacturer 32, model 64, serial 80, flags 96, max/min PIN 136/144
        b = (C.c_ubyte * 256)()
        rv = self.lib.C_GetTokenInfo(UL(slot), b)
        if rv:
            return {"slot": slot, "error": ckr(rv)}
        raw = bytes(b)
        u = lambda off: int.from_bytes(raw[off:off + 8], "little")
        txt = lambda a, z: raw[a:z].decode("utf-8", "replace").rstrip(" \0")
        return {"slot": slot, "label": txt(0, 32), "manufacturer": txt(32, 64), "model": txt(64, 80),
                "serial": txt(80, 96), "flags": [nm for bit, nm in FLAGS if u(96) & bit],
                "pin_min": u(144), "pin_max": u(136)}

    def session(self, label):
        for s in self.slots():
            if self.token(s).get("label") == label:
                h = UL()
                rv = self.lib.C_OpenSession(UL(s), UL(4), None, None, C.byref(h))  # CKF_SERIAL_SESSION
                if rv:
                    raise RuntimeError("C_OpenSession " + ckr(rv))
                return h
        raise RuntimeError("no token labelled %r" % label)

    def login(self, h, pinfile):
        pin = open(pinfile, "rb").read().strip()
        return ckr(self.lib.C_Login(h, UL(1), pin, UL(len(pin))))  # CKU_USER

    def attr(self, h, obj, typ):
        a, obj = Attr(typ, None, 0), UL(obj)
        if self.lib.C_GetAttributeValue(h, obj, C.byref(a), UL(1)) or a.ulValueLen in (0, 2**64 - 1):
            return None
        buf = (C.c_ubyte * a.ulValueLen)()
        a.pValue = C.cast(buf, C.c_void_p)
        if self.lib.C_GetAttributeValue(h, obj, C.byref(a), UL(1)):
            return None
        return bytes(buf[: a.ulValueLen])

    def objects(self, h):
        out, arr, n = [], (UL * 64)(), UL()
        if self.lib.C_FindObjectsInit(h, None, UL(0)):
            return out
        while self.lib.C_FindObjects(h, arr, UL(64), C.byref(n)) == 0 and n.value:
            out += list(arr[: n.value])
        self.lib.C_FindObjectsFinal(h)
        return out


def main(a):
    if a[0] == "tokens":
        p = P11(a[1])
        print(json.dumps([p.token(s) for s in p.slots()]))
        p.lib.C_Finalize(None)
    elif a[0] == "keys":
        p = P11(a[1])
        h = p.session(a[2])
        res = {"login": p.login(h, a[3])} if len(a) > 3 else {}
        objs = []
        for o in p.objects(h):
            cls = p.attr(h, o, 0x0)  # CKA_CLASS
            cls = {0: "data", 1: "cert", 2: "pubkey", 3: "privkey", 9: "profile"}.get(int.from_bytes(cls, "little"), "?") if cls else "?"
            d = {"class": cls, "id": (p.attr(h, o, 0x102) or b"").hex()}  # CKA_ID
            if cls == "privkey":
                aa = p.attr(h, o, 0x202)  # CKA_ALWAYS_AUTHENTICATE
                d["always_authenticate"] = None if aa is None else bool(aa[0])
            objs.append(d)
        res["objects"] = objs
        p.lib.C_Finalize(None)
        print(json.dumps(res))
    elif a[0] == "logout":
        mod, label, pinfile, ef, trace, reader = a[1:7]
        p = P11(mod)
        h = p.session(label)
        res = {"login": p.login(h, pinfile)}
        res["probe_after_login"] = sign_probe(reader, ef)
        with open(trace, "rb") as f:
            start = f.seek(0, 2)
        res["logout"] = ckr(p.lib.C_Logout(h))
        time.sleep(0.3)  # the simulator writes its trace asynchronously
        with open(trace, "rb") as f:
            f.seek(start)
            res["logout_apdus"] = [l[5:].strip() for l in f.read().decode("utf-8", "replace").splitlines()
                                   if l.startswith("sim> ")]
        res["probe_after_logout"] = sign_probe(reader, ef)
        p.lib.C_CloseSession(h)
        p.lib.C_Finalize(None)
        print(json.dumps(res))
    elif a[0] == "probe":
        print(json.dumps({"probe": sign_probe(a[1], a[2])}))
    elif a[0] == "hold":  # stay connected (as a browser or ssh-agent would) until SIGTERM
        import signal
        p = PCSC(a[1])
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        print("ready", flush=True)
        try:
            time.sleep(float(a[2]))
        finally:
            p.close(reset=False)
    elif a[0] == "reset":
        PCSC(a[1]).close(reset=True)
    else:
        raise SystemExit(__doc__)


main(sys.argv[1:])
PY

# jget JSON EXPR: evaluates the Python expression EXPR with j = the parsed JSON.
jget() { python3 -c 'import json,sys; j=json.loads(sys.argv[1]); r=eval(sys.argv[2]); print(r if not isinstance(r,(list,dict)) else json.dumps(r))' "$1" "$2" 2>/dev/null; }

# --- pcscd + the card behind vpcd ------------------------------------------------
if ! MYNA_PCSC_WAIT=${MYNA_PCSC_WAIT:-1200} start_pcscd 2>"$T/pcscd-start.log"; then
  if [ -n "$PCSCD_BUSY" ]; then
    skip "compare with OpenSC through pcscd" "another pcscd kept running for ${PCSCD_WAITED}s; only one may run"
  else
    fail "start pcscd with vpcd" "$(tail -n 10 "$T/pcscd-start.log")"
  fi
  finish
fi
pass "start pcscd (pid $PCSCD_PID, after waiting ${PCSCD_WAITED}s for the machine's pcscd to be free)"
STATS="$T/stats.json"
if ! start_sim "$STATE" 35963 --trace --stats-file "$STATS"; then
  fail "serve the simulated card to vpcd"; finish
fi
SIMLOG="$LIB_TMP/sim.log"
READER=$SIM_READER
pass "simulated card in '$READER' (myna-sim --trace --stats-file)"

# --- modules, labels, recording --------------------------------------------------
declare -A MODP=([ours]="$MOD" [opensc]="$OSC_MOD")
declare -A LBL=([ours,auth]="$AUTH_TOKEN_LABEL" [ours,sign]="$SIGN_TOKEN_LABEL"
  [opensc,auth]="JPKI (User Authentication PIN)" [opensc,sign]="JPKI (Digital Signature PIN)")
declare -A KID=([auth]=01 [sign]=02) KEF=([auth]=0017 [sign]=001A) PINOK=([auth]=$AUTH_PIN [sign]=$SIGN_PIN)
declare -A PUB=([auth]="$AUTH_PUB" [sign]="$SIGN_PUB")
declare -A OBS=() CMDOF=() DESCOF=()
ROWS=()
MODS=(ours opensc)

# record ID DESC CMD MOD VALUE: one observation for the table.
record() {
  if [ -z "${DESCOF[$1]+x}" ]; then ROWS+=("$1"); DESCOF[$1]=$2; CMDOF[$1]=$3; fi
  OBS[$1|$4]=$5
}

# tries: prints "AUTH SIGN" (tries left on the card, from myna-sim --status).
tries() {
  "$SIM" --status --state "$STATE" 2>/dev/null | awk '
    function left(l) { return match(l, /[0-9]+ of [0-9]+ tries left/) ? substr(l, RSTART, index(substr(l, RSTART), " ") - 1) : "?" }
    /^auth PIN:/ {a=left($0)} /^sign password:/ {s=left($0)} END {print (a==""?"?":a), (s==""?"?":s)}'
}
stat_of() { # stat_of NAME: a top-level counter of the --stats-file JSON (0 if absent)
  local v; v=$(sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" "$STATS" 2>/dev/null); echo "${v:-0}"
}
reset_card() { python3 "$PROBE" reset "$READER" >/dev/null 2>&1; }
admin_reset() { "$SIM" --admin-reset --state "$STATE" >/dev/null 2>&1; }

# measure LOG CMD...: resets the card (no verified PIN left over), runs CMD
# hang-guarded, and sets M_RC, M_CKR (first CKR_ name in the output, CKR_OK
# on success), M_APDUS, M_VER (VERIFYs with a PIN), M_SPENT_A / M_SPENT_S
# (tries the card lost), M_LOG.
measure() {
  local log=$1; shift
  reset_card
  local a0 v0 t0 t1; a0=$(stat_of apdus); v0=$(stat_of verifies); t0=$(tries)
  M_RC=0; run_to "$log" "$@" || M_RC=$?
  M_APDUS=$(($(stat_of apdus) - a0)); M_VER=$(($(stat_of verifies) - v0)); t1=$(tries)
  M_SPENT_A=$(( ${t0% *} - ${t1% *} )); M_SPENT_S=$(( ${t0#* } - ${t1#* } ))
  M_CKR=$(grep -o 'rv = CKR_[A-Z_]*' "$log" | sed -n 1p | sed 's/rv = //')
  [ -n "$M_CKR" ] || { [ "$M_RC" -eq 0 ] && M_CKR=CKR_OK || M_CKR="exit $M_RC"; }
  M_LOG=$log
}
spent() { # spent KIND: "N tries spent" for the PIN of KIND in the last measure
  local n; [ "$1" = auth ] && n=$M_SPENT_A || n=$M_SPENT_S
  echo "$n $( [ "$n" = 1 ] && echo try || echo tries) spent"
}

printf 'opensc-compare %s\n' "$(date +%s)" >"$T/data.txt"
python3 -c 'import hashlib,sys; d=open(sys.argv[1],"rb").read(); sys.stdout.buffer.write(bytes.fromhex("3031300d060960864801650304020105000420")+hashlib.sha256(d).digest())' \
  "$T/data.txt" >"$T/data.di"

# --- 1. tokens -----------------------------------------------------------------
for m in "${MODS[@]}"; do
  measure "$T/$m-tokens.log" python3 "$PROBE" tokens "${MODP[$m]}"
  j=$(cat "$M_LOG")
  if [ "$m" = opensc ]; then  # take OpenSC's labels from what it shows
    l=$(jget "$j" '[t["label"] for t in j if "Authentication" in t.get("label","")][0]') && [ -n "$l" ] && LBL[opensc,auth]=$l
    l=$(jget "$j" '[t["label"] for t in j if "Signature" in t.get("label","")][0]') && [ -n "$l" ] && LBL[opensc,sign]=$l
  fi
  record tok.count "tokens (C_GetSlotList with a token)" "p11probe tokens" "$m" "$(jget "$j" 'len(j)')"
  for k in auth sign; do
    t=$(python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(json.dumps(([t for t in j if t.get("label")==sys.argv[2]] or [{}])[0]))' "$j" "${LBL[$m,$k]}")
    record "tok.$k.label" "$k token label" "p11probe tokens (C_GetTokenInfo)" "$m" "$(jget "$t" 'j.get("label","(none)")')"
    record "tok.$k.maker" "$k token manufacturer / model" "p11probe tokens" "$m" "$(jget "$t" 'j.get("manufacturer","")+" / "+j.get("model","")')"
    record "tok.$k.serial" "$k token serial" "p11probe tokens" "$m" "$(jget "$t" 'j.get("serial","")')"
    record "tok.$k.flags" "$k token flags (fresh card)" "p11probe tokens" "$m" "$(jget "$t" '" ".join(j.get("flags",[]))')"
    record "tok.$k.pin" "$k PIN min/max" "p11probe tokens" "$m" "$(jget "$t" '"%s/%s" % (j.get("pin_min"), j.get("pin_max"))')"
  done
done
[ "${OBS[tok.count|ours]}" = 2 ] && pass "ours: two tokens" || fail "ours: two tokens" "$(cat "$T/ours-tokens.log")"
[ "${OBS[tok.auth.pin|ours]}" = 4/4 ] && [ "${OBS[tok.sign.pin|ours]}" = 6/16 ] && pass "ours: PIN lengths 4/4 and 6/16" ||
  fail "ours: PIN lengths 4/4 and 6/16" "auth ${OBS[tok.auth.pin|ours]}, sign ${OBS[tok.sign.pin|ours]}"
s=${OBS[tok.auth.serial|ours]}
if [ -n "$s" ] && [ "$s" != 00000000 ] && [ "$s" = "${OBS[tok.sign.serial|ours]}" ]; then pass "ours: a card-specific serial ($s), the same on both tokens"
else fail "ours: a card-specific serial, the same on both tokens" "auth '$s', sign '${OBS[tok.sign.serial|ours]}'"; fi
for k in auth sign; do
  f=" ${OBS[tok.$k.flags|ours]} "
  if [[ $f == *" LOGIN_REQUIRED "* && $f == *" USER_PIN_INITIALIZED "* && $f == *" TOKEN_INITIALIZED "* && $f != *" USER_PIN_COUNT_LOW "* && $f != *" USER_PIN_LOCKED "* ]]; then
    pass "ours: $k token flags on a fresh card (${OBS[tok.$k.flags|ours]})"
  else fail "ours: $k token flags on a fresh card" "$f"; fi
done

for m in "${MODS[@]}"; do
  measure "$T/$m-L.log" pkcs11-tool --module "${MODP[$m]}" -L
  record apdu.L "APDUs: list tokens" "pkcs11-tool -L" "$m" "$M_APDUS"
done

# --- 2. objects before/after login, CKA_ALWAYS_AUTHENTICATE -----------------------
objsum() { # objsum JSON: "cert 01, pubkey 01, ..." sorted, "(none)" when empty
  python3 -c 'import json,sys; j=json.loads(sys.argv[1]); o=sorted("%s %s" % (x["class"], x["id"] or "-") for x in j.get("objects",[])); print(", ".join(o) or "(none)")' "$1" 2>/dev/null || echo "(error)"
}
for m in "${MODS[@]}"; do
  for k in auth sign; do
    measure "$T/$m-$k-objs.log" python3 "$PROBE" keys "${MODP[$m]}" "${LBL[$m,$k]}"
    record "obj.$k.pre" "$k token objects before login" "p11probe keys (C_FindObjects, no login)" "$m" "$(objsum "$(cat "$M_LOG")")"
    printf '%s\n' "${PINOK[$k]}" >"$T/pin"
    measure "$T/$m-$k-objs-login.log" python3 "$PROBE" keys "${MODP[$m]}" "${LBL[$m,$k]}" "$T/pin"
    j=$(cat "$M_LOG")
    record "obj.$k.post" "$k token objects after login" "p11probe keys + C_Login" "$m" "$(objsum "$j")"
    record "obj.$k.aa" "CKA_ALWAYS_AUTHENTICATE of the $k key" "p11probe keys + C_Login" "$m" \
      "$(jget "$j" '",".join(str(o.get("always_authenticate")) for o in j["objects"] if o["class"]=="privkey") or "(no private key)"')"
    measure "$T/$m-$k-O.log" pkcs11-tool --module "${MODP[$m]}" --token-label "${LBL[$m,$k]}" -O
    record "apdu.O.$k" "APDUs: list objects of the $k token (no login)" "pkcs11-tool --token-label … -O" "$m" "$M_APDUS"
  done
done
rm -f "$T/pin"
[[ "${OBS[obj.sign.pre|ours]}" != *"cert 02"* ]] && pass "ours: the sign certificate is not visible before login (${OBS[obj.sign.pre|ours]})" ||
  fail "ours: the sign certificate is not visible before login" "${OBS[obj.sign.pre|ours]}"
[[ "${OBS[obj.auth.pre|ours]}" == *"cert 01"* && "${OBS[obj.auth.pre|ours]}" == *"pubkey 01"* ]] && pass "ours: auth certificate and public key visible before login" ||
  fail "ours: auth certificate and public key visible before login" "${OBS[obj.auth.pre|ours]}"
[[ "${OBS[obj.sign.post|ours]}" == *"cert 02"* && "${OBS[obj.sign.post|ours]}" == *"privkey 02"* ]] && pass "ours: sign certificate and key visible after login" ||
  fail "ours: sign certificate and key visible after login" "${OBS[obj.sign.post|ours]}"
[ "${OBS[obj.auth.aa|ours]}" = False ] && [ "${OBS[obj.sign.aa|ours]}" = False ] && pass "ours: CKA_ALWAYS_AUTHENTICATE false on both keys" ||
  fail "ours: CKA_ALWAYS_AUTHENTICATE false on both keys" "auth ${OBS[obj.auth.aa|ours]}, sign ${OBS[obj.sign.aa|ours]}"

# --- 3. mechanisms ------------------------------------------------------------------
for m in "${MODS[@]}"; do
  measure "$T/$m-M.log" pkcs11-tool --module "${MODP[$m]}" --token-label "${LBL[$m,auth]}" -M
  record mech.list "mechanisms" "pkcs11-tool -M" "$m" \
    "$(sed -n '/^Supported mechanisms/,$p' "$M_LOG" | sed -n 's/^  \([^,]*\),.*/\1/p' | tr '\n' ' ' | sed 's/ $//')"
  record mech.rsa "RSA-PKCS flags" "pkcs11-tool -M" "$m" "$(sed -n 's/^  RSA-PKCS, //p' "$M_LOG" | sed -n 1p)"
done
ml=" ${OBS[mech.list|ours]} "
ok=1; for x in RSA-PKCS SHA1-RSA-PKCS SHA224-RSA-PKCS SHA256-RSA-PKCS SHA384-RSA-PKCS SHA512-RSA-PKCS; do [[ $ml == *" $x "* ]] || ok=0; done
for x in RSA-PKCS-PSS RSA-X-509 RSA-PKCS-OAEP; do [[ $ml == *" $x "* ]] && ok=0; done
[[ ${OBS[mech.rsa|ours]} == *decrypt* ]] && ok=0
[ $ok = 1 ] && pass "ours: RSA-PKCS and SHA*-RSA-PKCS for signing only, no PSS / raw RSA / decrypt" ||
  fail "ours: RSA-PKCS and SHA*-RSA-PKCS for signing only" "$ml / RSA-PKCS: ${OBS[mech.rsa|ours]}"

# start_holder / stop_holder: another PC/SC client connected to the card.
HOLDER=""
start_holder() {
  start_bg holder python3 "$PROBE" hold "$READER" 120
  HOLDER=$BG_PID
  local i; for i in $(seq 100); do grep -q ready "$T/holder.log" 2>/dev/null && return 0; sleep 0.1; done
  info "the PC/SC holder did not connect: $(tail -n 3 "$T/holder.log")"
}
stop_holder() { [ -z "$HOLDER" ] || stop_pid "$HOLDER"; HOLDER=""; }

# --- 4. login + sign with each key, then: is a PIN left verified on the card? ---------
for m in "${MODS[@]}"; do
  for k in auth sign; do
    for mech in SHA256-RSA-PKCS RSA-PKCS; do
      in="$T/data.txt"; [ "$mech" = RSA-PKCS ] && in="$T/data.di"
      sig="$T/$m-$k-$mech.sig"; rm -f "$sig"
      if [ "$mech" = SHA256-RSA-PKCS ]; then start_holder; fi
      measure "$T/$m-$k-$mech.log" pkcs11-tool --module "${MODP[$m]}" --token-label "${LBL[$m,$k]}" --login --pin "${PINOK[$k]}" \
        --sign --id "${KID[$k]}" -m "$mech" -i "$in" -o "$sig"
      r="$M_CKR"
      if [ -s "$sig" ] && openssl dgst -sha256 -verify "${PUB[$k]}" -signature "$sig" "$T/data.txt" >/dev/null 2>&1; then
        r="$r, openssl verifies"; v=1
      else r="$r, no valid signature"; v=0; fi
      r="$r; $M_APDUS APDUs, $M_VER VERIFY"
      record "sign.$k.$mech" "login + sign, $k key, $mech" "pkcs11-tool --login --pin … --sign --id ${KID[$k]} -m $mech" "$m" "$r"
      if [ "$m" = ours ]; then
        [ $v = 1 ] && [ "$M_VER" = 1 ] && pass "ours: $k key signs with $mech (openssl verifies; one VERIFY)" ||
          fail "ours: $k key signs with $mech (openssl verifies; one VERIFY)" "$r"$'\n'"$(tail -n 5 "$M_LOG")"
      fi
      if [ "$mech" = SHA256-RSA-PKCS ]; then
        # pkcs11-tool has ended; another PC/SC client stayed connected all
        # along (so pcscd does not power the card down). 2 s later: does the
        # card still accept a SIGN without VERIFY?
        sleep 2
        pr=$(jget "$(python3 "$PROBE" probe "$READER" "${KEF[$k]}" 2>&1)" 'j["probe"]')
        stop_holder
        record "exit.$k" "2 s after pkcs11-tool --login --sign ended (another PC/SC client connected): raw SIGN with the $k key, no VERIFY" \
          "p11probe hold + p11probe probe (SELECT AP, SELECT ${KEF[$k]}, 80 2A)" "$m" "${pr:-error}"
        if [ "$m" = ours ]; then
          [ "$pr" = 6982 ] && pass "ours: the card forgot the $k PIN when pkcs11-tool ended (raw SIGN → 6982)" ||
            fail "ours: the card forgot the $k PIN when pkcs11-tool ended" "raw SIGN → ${pr:-error}"
        fi
      fi
    done
  done
done
check_tries_now() { # check_tries_now WHAT: both counters full
  local t; t=$(tries)
  [ "$t" = "3 5" ] && pass "$1 (auth 3 of 3, sign 5 of 5)" || fail "$1" "tries left: $t"
}
check_tries_now "no try lost by the signing scenarios"

# --- 5. malformed PINs and a lower-case sign password ----------------------------------
# pin_case ID KIND PIN DESC: login + sign with PIN; records the return code,
# tries spent and VERIFYs sent; counters reset afterwards.
pin_case() {
  local id=$1 k=$2 pin=$3 desc=$4 m
  for m in "${MODS[@]}"; do
    rm -f "$T/pc.sig"
    measure "$T/$m-$id.log" pkcs11-tool --module "${MODP[$m]}" --token-label "${LBL[$m,$k]}" --login --pin "$pin" \
      --sign --id "${KID[$k]}" -m SHA256-RSA-PKCS -i "$T/data.txt" -o "$T/pc.sig"
    record "pin.$id" "$desc" "pkcs11-tool --token-label ($k) --login --pin '$pin' --sign" "$m" \
      "$M_CKR, $(spent "$k"), $M_VER VERIFY sent"
    eval "PC_$m=\"\$M_CKR \$M_SPENT_A \$M_SPENT_S \$M_VER\""
    admin_reset
  done
}
pin_case auth3 auth 123 "auth PIN of 3 digits"
[ "$PC_ours" = "CKR_PIN_LEN_RANGE 0 0 0" ] && pass "ours: 3-digit auth PIN → CKR_PIN_LEN_RANGE, nothing sent" || fail "ours: 3-digit auth PIN → CKR_PIN_LEN_RANGE, nothing sent" "$PC_ours"
pin_case auth5 auth 12345 "auth PIN of 5 digits"
[ "$PC_ours" = "CKR_PIN_LEN_RANGE 0 0 0" ] && pass "ours: 5-digit auth PIN → CKR_PIN_LEN_RANGE, nothing sent" || fail "ours: 5-digit auth PIN → CKR_PIN_LEN_RANGE, nothing sent" "$PC_ours"
pin_case authab auth abcd "auth PIN of 4 letters"
[ "$PC_ours" = "CKR_PIN_INVALID 0 0 0" ] && pass "ours: letters as auth PIN → CKR_PIN_INVALID, nothing sent" || fail "ours: letters as auth PIN → CKR_PIN_INVALID, nothing sent" "$PC_ours"
lc=$(printf '%s' "$SIGN_PIN" | tr '[:upper:]' '[:lower:]')
pin_case signlc sign "$lc" "sign password typed in lower case (correct otherwise)"
[ "$PC_ours" = "CKR_OK 0 0 1" ] && pass "ours: lower-case sign password logs in and signs, no try spent" || fail "ours: lower-case sign password logs in and signs, no try spent" "$PC_ours"

# --- 6. wrong PINs: return code and token flags, a login on a locked PIN ---------------
flags_now() { # flags_now MOD KIND: token flags as C_GetTokenInfo reports them now
  python3 -c 'import json,sys; j=json.loads(sys.argv[1]); t=[t for t in j if t.get("label")==sys.argv[2]]; f=t[0]["flags"] if t else ["(token gone)"]; print(" ".join(x.replace("USER_PIN_","") for x in f if x.startswith("USER_PIN_") and x!="USER_PIN_INITIALIZED") or "(none)")' \
    "$(python3 "$PROBE" tokens "${MODP[$1]}" 2>/dev/null)" "${LBL[$1,$2]}" 2>/dev/null || echo "(error)"
}
for m in "${MODS[@]}"; do
  admin_reset
  for n in 1 2 3; do
    measure "$T/$m-wrong-auth-$n.log" pkcs11-tool --module "${MODP[$m]}" --token-label "${LBL[$m,auth]}" --login --pin 9999 -O
    record "wrong.auth.$n" "wrong auth PIN, attempt $n of 3" "pkcs11-tool --login --pin 9999 -O" "$m" "$M_CKR, $(spent auth)"
    f=$(flags_now "$m" auth)
    record "flags.auth.$n" "auth token PIN flags after $n wrong" "p11probe tokens (C_GetTokenInfo)" "$m" "$f"
    eval "W_${m}_$n=\"\$M_CKR \$M_SPENT_A|\$f\""
  done
  measure "$T/$m-locked-auth.log" pkcs11-tool --module "${MODP[$m]}" --token-label "${LBL[$m,auth]}" --login --pin "$AUTH_PIN" -O
  record locked.auth "correct auth PIN on the locked card" "pkcs11-tool --login --pin 1234 -O" "$m" "$M_CKR, $M_VER VERIFY sent"
  eval "L_$m=\"\$M_CKR \$M_VER\""
  admin_reset
  for n in 1 2 3 4; do
    measure "$T/$m-wrong-sign-$n.log" pkcs11-tool --module "${MODP[$m]}" --token-label "${LBL[$m,sign]}" --login --pin WRONG1 -O
    if [ $n = 1 ] || [ $n = 4 ]; then
      record "wrong.sign.$n" "wrong sign password, attempt $n of 5" "pkcs11-tool --login --pin WRONG1 -O" "$m" "$M_CKR, $(spent sign)"
      f=$(flags_now "$m" sign)
      record "flags.sign.$n" "sign token PIN flags after $n wrong" "p11probe tokens (C_GetTokenInfo)" "$m" "$f"
      eval "WS_${m}_$n=\"\$M_CKR \$M_SPENT_S|\$f\""
    fi
  done
  admin_reset
done
exp_flags() { # exp_flags WHAT GOT WANT-PRESENT WANT-ABSENT WANT-CKR (and one try spent)
  local g=" ${2#*|} " ok=1 x
  for x in $3; do [[ $g == *" $x "* ]] || ok=0; done
  for x in $4; do [[ $g == *" $x "* ]] && ok=0; done
  [ "${2%%|*}" = "$5 1" ] || ok=0
  [ $ok = 1 ] && pass "$1 (${2%%|*}; flags:${g% })" || fail "$1" "$2"
}
exp_flags "ours: 1st wrong auth PIN → CKR_PIN_INCORRECT, flag COUNT_LOW" "$W_ours_1" COUNT_LOW "FINAL_TRY LOCKED" CKR_PIN_INCORRECT
exp_flags "ours: 2nd wrong auth PIN → CKR_PIN_INCORRECT, flags COUNT_LOW FINAL_TRY" "$W_ours_2" "COUNT_LOW FINAL_TRY" LOCKED CKR_PIN_INCORRECT
# The card answers the VERIFY that uses up the last try with 63 C0: the PIN is
# now locked, and ours says so at once (the fact sheet's 5.2).
exp_flags "ours: 3rd wrong auth PIN → CKR_PIN_LOCKED, flag LOCKED" "$W_ours_3" LOCKED "" CKR_PIN_LOCKED
[ "$L_ours" = "CKR_PIN_LOCKED 0" ] && pass "ours: login on the locked auth PIN → CKR_PIN_LOCKED without a VERIFY" ||
  fail "ours: login on the locked auth PIN → CKR_PIN_LOCKED without a VERIFY" "$L_ours"
[ "${WS_ours_1%%|*}" = "CKR_PIN_INCORRECT 1" ] && [[ " ${WS_ours_1#*|} " == *" COUNT_LOW "* ]] && pass "ours: 1st wrong sign password → COUNT_LOW" ||
  fail "ours: 1st wrong sign password → COUNT_LOW" "$WS_ours_1"
[[ " ${WS_ours_4#*|} " == *" FINAL_TRY "* ]] && pass "ours: 4th wrong sign password → FINAL_TRY" || fail "ours: 4th wrong sign password → FINAL_TRY" "$WS_ours_4"
check_tries_now "counters back to full after myna-sim --admin-reset"

# --- 7. --change-pin -----------------------------------------------------------------
declare -A NEWPIN=([auth]=8642 [sign]=NEWPASS9)
for m in "${MODS[@]}"; do
  for k in auth sign; do
    measure "$T/$m-chg-$k.log" pkcs11-tool --module "${MODP[$m]}" --token-label "${LBL[$m,$k]}" --login --pin "${PINOK[$k]}" --change-pin --new-pin "${NEWPIN[$k]}"
    r="$M_CKR, $(spent "$k")"
    cr=$M_CKR nl=""
    if [ "$M_RC" = 0 ]; then
      measure "$T/$m-chg-$k-new.log" pkcs11-tool --module "${MODP[$m]}" --token-label "${LBL[$m,$k]}" --login --pin "${NEWPIN[$k]}" -O
      r="$r; new PIN logs in: $M_CKR"
      # back to the old value, with our module (works whoever changed it)
      nl=$M_CKR
      run_to "$T/$m-chg-$k-back.log" pkcs11-tool --module "${MODP[ours]}" --token-label "${LBL[ours,$k]}" --login --pin "${NEWPIN[$k]}" --change-pin --new-pin "${PINOK[$k]}" ||
        info "changing the $k PIN back failed: $(tail -n 2 "$T/$m-chg-$k-back.log")"
    fi
    record "chg.$k" "change the $k PIN" "pkcs11-tool --login --pin … --change-pin --new-pin …" "$m" "$r"
    if [ "$m" = ours ]; then
      [ "$cr" = CKR_OK ] && [ "${nl:-}" = CKR_OK ] && pass "ours: --change-pin of the $k PIN, the new one logs in" ||
        fail "ours: --change-pin of the $k PIN, the new one logs in" "$r"
    fi
    admin_reset
  done
done
check_tries_now "PINs back to their old values, no try lost"

# --- 8. C_Logout: does the card forget the PIN? ----------------------------------------
aidname() { # names the SELECT-by-AID commands of a trace slice
  python3 -c '
import json,sys
names={"D392F000260100000001":"JPKI AP","A0000001510000":"GP ISD","D3921000310001010408":"text AP"}
out=[]
for a in json.loads(sys.argv[1]):
    f=a.split()
    if len(f)>=6 and f[1]=="A4" and f[2]=="04":
        aid="".join(f[5:]).upper()
        out.append("SELECT "+names.get(aid, aid))
    else:
        out.append(" ".join(f[:4]))
print("; ".join(out) or "(no APDU)")' "$1" 2>/dev/null || echo "(error)"
}
for m in "${MODS[@]}"; do
  for k in auth sign; do
    printf '%s\n' "${PINOK[$k]}" >"$T/pin"
    measure "$T/$m-logout-$k.log" python3 "$PROBE" logout "${MODP[$m]}" "${LBL[$m,$k]}" "$T/pin" "${KEF[$k]}" "$SIMLOG" "$READER"
    j=$(cat "$M_LOG")
    record "logout.$k.login" "$k: C_Login, then raw SIGN without VERIFY from another connection" "p11probe logout" "$m" \
      "$(jget "$j" 'j["login"]+", raw SIGN → "+j["probe_after_login"]')"
    record "logout.$k.apdus" "$k: APDUs the card sees during C_Logout" "p11probe logout (myna-sim --trace)" "$m" "$(aidname "$(jget "$j" 'j["logout_apdus"]')")"
    record "logout.$k.after" "$k: raw SIGN without VERIFY after C_Logout" "p11probe logout" "$m" "$(jget "$j" 'j["logout"]+", raw SIGN → "+j["probe_after_logout"]')"
    if [ "$m" = ours ]; then
      pa=$(jget "$j" 'j["probe_after_logout"]')
      [ "$pa" = 6982 ] && pass "ours: after C_Logout the card refuses to sign with the $k key (6982)" ||
        fail "ours: after C_Logout the card refuses to sign with the $k key" "$j"
      [[ "${OBS[logout.$k.apdus|ours]}" == *"SELECT GP ISD"* || "${OBS[logout.$k.apdus|ours]}" == *"SELECT text AP"* ]] &&
        pass "ours: C_Logout selects another applet (${OBS[logout.$k.apdus|ours]})" ||
        fail "ours: C_Logout selects another applet" "${OBS[logout.$k.apdus|ours]}"
    fi
  done
done
rm -f "$T/pin"
reset_card
check_tries_now "no try lost by the logout scenarios"

# --- the table -------------------------------------------------------------------------
# test/OPENSC-DIFFERENCES.md cites rows by number ("obs. N"): add new
# scenarios after the existing ones, or update the citations.
TABLE="$T/observed.md"
{
  echo "Observed by \`bash test/suites/opensc-compare.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'),"
  echo "OpenSC $(dpkg-query -W -f '${Version}' opensc 2>/dev/null || echo '?'), pcscd $(dpkg-query -W -f '${Version}' pcscd 2>/dev/null || echo '?'); fresh simulated card (\`myna-sim --init\`, auth PIN 1234, sign PIN ABC123) behind pcscd + vpcd, card reset before every command."
  echo
  echo "| # | scenario | command | ours | OpenSC | |"
  echo "|---|---|---|---|---|---|"
  i=0
  for id in "${ROWS[@]}"; do
    i=$((i + 1))
    o=${OBS[$id|ours]:-} s=${OBS[$id|opensc]:-}
    same="differs"; [ "$o" = "$s" ] && same="same"
    # shellcheck disable=SC2016  # the backquotes are Markdown
    printf '| %s | %s | `%s` | %s | %s | %s |\n' "$i" "${DESCOF[$id]}" "${CMDOF[$id]}" "${o//|/\\|}" "${s//|/\\|}" "$same"
  done
} >"$TABLE"
echo
cat "$TABLE"
echo
if [ "$WRITE" = 1 ]; then
  if python3 - "$DOC" "$TABLE" <<'PY'
import sys
doc, table = sys.argv[1], open(sys.argv[2]).read()
begin, end = "<!-- observed:begin (generated by test/suites/opensc-compare.sh --write) -->", "<!-- observed:end -->"
try:
    text = open(doc).read()
except FileNotFoundError:
    text = "# OpenSC compared with myna-pkcs11\n\n"
if begin in text and end in text:
    head, rest = text.split(begin, 1)
    text = head + begin + "\n" + table + end + rest.split(end, 1)[1]
else:
    text = text.rstrip("\n") + "\n\n" + begin + "\n" + table + end + "\n"
open(doc, "w").write(text)
PY
  then info "wrote the observed table into $DOC"; else fail "write the observed table into $DOC"; fi
fi
stop_sim
stop_pcscd
finish
