package abi

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/miekg/pkcs11"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
	"github.com/myna-pkcs11/myna-pkcs11/test/internal/modtest"
)

// PINs of the traced card. Chosen so that no number the log legitimately
// holds can spell one: a 4-digit decimal never starts with 0, durations
// have three significant digits and times carry colons.
const (
	traceAuthPIN      = "0815"
	traceAuthWrong    = "0947"
	traceAuthNew      = "0592"
	traceSignPIN      = "Q7W3E9R2"
	traceSignWrong    = "Z9Y8X7W6"
	traceSignNew      = "K4J5H6G7"
	traceSignPINLower = "q7w3e9r2"
)

// hermeticConfig points the module at an empty configuration file, so
// that the machine's ~/.config or /etc file cannot change the test.
func hermeticConfig(t *testing.T) {
	t.Helper()
	conf := filepath.Join(t.TempDir(), "empty.conf")
	require.NoError(t, os.WriteFile(conf, nil, 0o600))
	t.Setenv("MYNA_PKCS11_CONF", conf)
	for _, v := range []string{"MYNA_PKCS11_DEBUG", "MYNA_PKCS11_LOG", "MYNA_PKCS11_TOKENS", "MYNA_PKCS11_READERS"} {
		t.Setenv(v, "")
	}
}

// secretForms lists the ways a secret could show up in a log: as is, in
// both cases, and as hex of its bytes (both cases, plain, spaced, colons).
func secretForms(s string) []string {
	forms := []string{s, strings.ToLower(s), strings.ToUpper(s)}
	h := hex.EncodeToString([]byte(s))
	var pairs []string
	for i := 0; i+1 < len(h); i += 2 {
		pairs = append(pairs, h[i:i+2])
	}
	for _, x := range []string{h, strings.Join(pairs, " "), strings.Join(pairs, ":")} {
		forms = append(forms, x, strings.ToUpper(x))
	}
	return forms
}

// call is one PKCS#11 call the test made and the CK_RV it got, by name.
type call struct {
	name string
	rv   string
}

// traceLine matches a level-3 line: function, arguments, CK_RV, outputs,
// duration.
var traceLine = regexp.MustCompile(`^myna-pkcs11 \d\d:\d\d:\d\d\.\d{3} call (C_\w+)\((.*)\) = (CKR_\w+)(; .*)? \(([0-9.]+(ns|µs|ms|s))\)$`)

func ulongValue(v uint) []byte { return binary.NativeEndian.AppendUint64(nil, uint64(v)) }

// With MYNA_PKCS11_DEBUG=3 a session on both tokens — wrong PIN, login,
// find, sign, certificate read, SetPIN and back, logout — logs exactly one
// line per call with its name and result, and no PIN in any form and no
// personal data of the signature certificate.
func TestTraceLogsEveryCallWithoutSecrets(t *testing.T) {
	hermeticConfig(t)
	dir := t.TempDir()
	state := filepath.Join(dir, "card.json")
	require.NoError(t, modtest.NewSimState(state, sim.Options{Profile: sim.Profile{AuthPIN: traceAuthPIN, SignPIN: traceSignPIN}}))
	t.Setenv(modtest.EnvSim, state)
	logPath := filepath.Join(dir, "trace.log")
	t.Setenv("MYNA_PKCS11_DEBUG", "3")
	t.Setenv("MYNA_PKCS11_LOG", logPath)

	var calls []call
	do := func(name string, want, got uint) {
		t.Helper()
		calls = append(calls, call{name, ck.Name(got)})
		require.Equal(t, rvName(want), rvName(got), name)
	}
	do("C_Initialize", pkcs11.CKR_OK, RawInitialize(nil))
	t.Cleanup(func() { RawFinalize(false) })
	rv, n, slotList := RawGetSlotList(true, 8, false)
	do("C_GetSlotList", pkcs11.CKR_OK, rv)
	require.Equal(t, uint(2), n)

	type token struct {
		label                     string
		id                        byte
		pin, wrong, newPIN, login string
	}
	tokens := map[uint]token{}
	for _, s := range slotList[:n] {
		rv, ti := RawGetTokenInfo(s, false)
		do("C_GetTokenInfo", pkcs11.CKR_OK, rv)
		label := strings.TrimRight(string(ti.Label), " ")
		if strings.Contains(label, "Auth") {
			tokens[s] = token{label, 1, traceAuthPIN, traceAuthWrong, traceAuthNew, traceAuthPIN}
		} else {
			tokens[s] = token{label, 2, traceSignPIN, traceSignWrong, traceSignNew, traceSignPINLower}
		}
	}
	var certLens, subjects []string
	var signCert []byte
	for _, slot := range slotList[:n] {
		tk := tokens[slot]
		rv, s := RawOpenSession(slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION, false)
		do("C_OpenSession", pkcs11.CKR_OK, rv)
		do("C_Login", pkcs11.CKR_PIN_INCORRECT, RawLogin(s, pkcs11.CKU_USER, []byte(tk.wrong), uint(len(tk.wrong))))
		do("C_Login", pkcs11.CKR_OK, RawLogin(s, pkcs11.CKU_USER, []byte(tk.login), uint(len(tk.login))))

		do("C_FindObjectsInit", pkcs11.CKR_OK, RawFindObjectsInit(s, []Attr{{Type: pkcs11.CKA_CLASS, Value: ulongValue(pkcs11.CKO_PRIVATE_KEY)}}, false, -1))
		rv, keys := RawFindObjects(s, 4, false, false)
		do("C_FindObjects", pkcs11.CKR_OK, rv)
		require.Len(t, keys, 1)
		do("C_FindObjectsFinal", pkcs11.CKR_OK, ckRV(ctx.FindObjectsFinal(pkcs11.SessionHandle(s))))
		do("C_SignInit", pkcs11.CKR_OK, RawSignInit(s, pkcs11.CKM_SHA256_RSA_PKCS, nil, 0, keys[0], false))
		rv, sigLen, _ := RawOut(0, s, []byte("data to sign "+tk.pin), false, 256, false)
		do("C_Sign", pkcs11.CKR_OK, rv)
		require.Equal(t, uint(256), sigLen)

		do("C_FindObjectsInit", pkcs11.CKR_OK, RawFindObjectsInit(s, []Attr{
			{Type: pkcs11.CKA_CLASS, Value: ulongValue(pkcs11.CKO_CERTIFICATE)}, {Type: pkcs11.CKA_ID, Value: []byte{tk.id}}}, false, -1))
		rv, certs := RawFindObjects(s, 4, false, false)
		do("C_FindObjects", pkcs11.CKR_OK, rv)
		require.Len(t, certs, 1)
		do("C_FindObjectsFinal", pkcs11.CKR_OK, ckRV(ctx.FindObjectsFinal(pkcs11.SessionHandle(s))))
		types := []uint{pkcs11.CKA_VALUE, pkcs11.CKA_SUBJECT, pkcs11.CKA_LABEL, pkcs11.CKA_CLASS, pkcs11.CKA_ID}
		var sizes []AttrIn
		for _, typ := range types {
			sizes = append(sizes, AttrIn{Type: typ, Null: true})
		}
		rv, lens := RawGetAttributeValue(s, certs[0], sizes, false)
		do("C_GetAttributeValue", pkcs11.CKR_OK, rv)
		var bufs []AttrIn
		for i, typ := range types {
			bufs = append(bufs, AttrIn{Type: typ, BufLen: lens[i].Len})
		}
		rv, vals := RawGetAttributeValue(s, certs[0], bufs, false)
		do("C_GetAttributeValue", pkcs11.CKR_OK, rv)
		certLens = append(certLens, "CKA_VALUE len="+itoa(lens[0].Len))
		subjects = append(subjects, hex.EncodeToString(vals[1].Value))
		if tk.id == 2 {
			signCert = vals[0].Value
		}

		do("C_SetPIN", pkcs11.CKR_OK, ckRV(ctx.SetPIN(pkcs11.SessionHandle(s), tk.pin, tk.newPIN)))
		do("C_SetPIN", pkcs11.CKR_OK, ckRV(ctx.SetPIN(pkcs11.SessionHandle(s), tk.newPIN, tk.pin)))
		do("C_Logout", pkcs11.CKR_OK, ckRV(ctx.Logout(pkcs11.SessionHandle(s))))
		do("C_CloseSession", pkcs11.CKR_OK, ckRV(ctx.CloseSession(pkcs11.SessionHandle(s))))
	}
	do("C_Finalize", pkcs11.CKR_OK, RawFinalize(false))

	card, err := sim.Open(state, sim.Options{})
	require.NoError(t, err)
	require.Equal(t, card.Certificates().SignCert, signCert, "the signature certificate was read")

	b, err := os.ReadFile(logPath)
	require.NoError(t, err)
	log := string(b)

	// one line per call, in order, with the function and its CK_RV by name
	var got []call
	for _, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, " call ") {
			continue
		}
		m := traceLine.FindStringSubmatch(line)
		require.NotNil(t, m, "malformed trace line %q", line)
		got = append(got, call{m[1], m[3]})
	}
	require.Equal(t, calls, got, "one log line per call, in order, with its CK_RV")

	// arguments and results decoded
	for _, want := range []string{
		"call C_Initialize(pInitArgs=NULL) = CKR_OK",
		"C_OpenSession(slotID=",
		"flags=CKF_RW_SESSION|CKF_SERIAL_SESSION",
		"userType=CKU_USER, pPin=(4 bytes)) = CKR_PIN_INCORRECT",
		"userType=CKU_USER, pPin=(8 bytes)) = CKR_OK",
		"pTemplate=[CKA_CLASS=CKO_PRIVATE_KEY], ulCount=1) = CKR_OK",
		"pTemplate=[CKA_CLASS=CKO_CERTIFICATE, CKA_ID=02], ulCount=2) = CKR_OK",
		"pMechanism=CKM_SHA256_RSA_PKCS",
		"pData=(21 bytes)",
		"*pulSignatureLen=256",
		"pOldPin=(4 bytes), pNewPin=(4 bytes)) = CKR_OK",
		"pOldPin=(8 bytes), pNewPin=(8 bytes)) = CKR_OK",
		`CKA_LABEL="Digital Signature Certificate", CKA_CLASS=CKO_CERTIFICATE, CKA_ID=02]`,
		`CKA_LABEL="Authentication Certificate", CKA_CLASS=CKO_CERTIFICATE, CKA_ID=01]`,
		"call C_Finalize(pReserved=NULL) = CKR_OK",
	} {
		assert.Contains(t, log, want)
	}
	for _, l := range certLens {
		assert.Contains(t, log, l, "certificate values appear as lengths")
	}

	// no secret in any form
	checked := 0
	for _, pin := range []string{traceAuthPIN, traceAuthWrong, traceAuthNew, traceSignPIN, traceSignWrong, traceSignNew} {
		for _, form := range secretForms(pin) {
			checked++
			assert.NotContains(t, log, form, "PIN %q appears in the log as %q", pin, form)
		}
	}
	p := card.Profile()
	personal := []string{p.Name, p.Address, p.BirthDate, strings.ReplaceAll(p.BirthDate, "-", "")}
	for _, field := range strings.Fields(p.Name + " " + p.Address) {
		if len([]rune(field)) >= 2 {
			personal = append(personal, field)
		}
	}
	for _, field := range personal {
		require.NotEmpty(t, field)
		for _, form := range secretForms(field) {
			checked++
			assert.NotContains(t, log, form, "personal data %q appears in the log", field)
		}
	}
	certHex := hex.EncodeToString(signCert)
	for _, h := range append(subjects, certHex[:64], certHex[len(certHex)-64:]) {
		checked++
		assert.NotContains(t, strings.ToLower(log), h[:min(32, len(h))], "certificate bytes appear in the log")
	}
	t.Logf("%d trace lines, %d bytes checked against %d secret forms", len(got), len(b), checked)
}

// At levels 1 and 2 no call is traced.
func TestNoTraceBelowLevel3(t *testing.T) {
	for _, level := range []string{"1", "2"} {
		t.Run("level "+level, func(t *testing.T) {
			hermeticConfig(t)
			freshCard(t, cardA)
			logPath := filepath.Join(t.TempDir(), "log")
			t.Setenv("MYNA_PKCS11_DEBUG", level)
			t.Setenv("MYNA_PKCS11_LOG", logPath)
			require.NoError(t, ctx.Initialize())
			_, err := ctx.GetSlotList(true)
			require.NoError(t, err)
			require.NoError(t, ctx.Finalize())
			b, err := os.ReadFile(logPath)
			require.NoError(t, err)
			assert.Contains(t, string(b), "C_Initialize: ok", "the log is on")
			assert.NotContains(t, string(b), " call ")
		})
	}
}

// ckRV is the CK_RV of a miekg error.
func ckRV(err error) uint {
	var e pkcs11.Error
	switch {
	case err == nil:
		return pkcs11.CKR_OK
	case errors.As(err, &e):
		return uint(e)
	}
	return pkcs11.CKR_GENERAL_ERROR
}

func itoa(n uint) string { return strconv.FormatUint(uint64(n), 10) }
