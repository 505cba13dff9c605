package faults

import (
	"crypto/x509"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/pkcs11"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
)

// secretForms lists the ways a secret could show up in a log: as is, upper
// and lower case, hex (both cases, with and without spaces) of its bytes.
func secretForms(s string) []string {
	forms := []string{s, strings.ToLower(s), strings.ToUpper(s)}
	h := hex.EncodeToString([]byte(s))
	forms = append(forms, h, strings.ToUpper(h))
	var spaced []string
	for i := 0; i+1 < len(h); i += 2 {
		spaced = append(spaced, h[i:i+2])
	}
	sp := strings.Join(spaced, " ")
	return append(forms, sp, strings.ToUpper(sp), strings.Join(spaced, ":"))
}

// With the most verbose log, a full session with both PINs (login, wrong
// PIN, sign, SetPIN, logout) and a read of the signature certificate leaves
// no PIN and no personal field of the signature certificate in the log.
func TestLogHasNoPINsOrPersonalData(t *testing.T) {
	for _, scope := range []string{"operation", "session"} {
		t.Run(scope, func(t *testing.T) { logHasNoPINsOrPersonalData(t, scope) })
	}
}

func logHasNoPINsOrPersonalData(t *testing.T, scope string) {
	f := newFxScope(t, scope)
	logPath := filepath.Join(f.dir, "module.log")
	t.Setenv("MYNA_PKCS11_DEBUG", "9")
	t.Setenv("MYNA_PKCS11_LOG", logPath)
	f.init()

	pins := []string{authPIN, signPIN, "9876", "5678", "XYZ789", "xyz789"}
	// auth: a wrong PIN (one try, restored by the right one), login, sign, SetPIN and back, logout
	a, err := ctx.OpenSession(f.auth, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	require.NoError(t, err)
	assert.Equal(t, ckr(pkcs11.CKR_PIN_INCORRECT), rv(ctx.Login(a, pkcs11.CKU_USER, "9876")))
	f.wantVerifies++
	require.NoError(t, f.login(a, f.auth, false))
	_, err = f.signWith(a, "privacy")
	require.NoError(t, err)
	require.NoError(t, ctx.SetPIN(a, authPIN, "5678"))
	require.NoError(t, ctx.SetPIN(a, "5678", authPIN))
	f.wantVerifies += 4 // C_SetPIN verifies the old PIN before CHANGE REFERENCE DATA and the new one after it
	require.NoError(t, ctx.Logout(a))

	// sign: login (lower case), read the certificate, sign, SetPIN and back, logout
	s, err := ctx.OpenSession(f.sign, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	require.NoError(t, err)
	require.NoError(t, ctx.Login(s, pkcs11.CKU_USER, strings.ToLower(signPIN)))
	f.wantVerifies++
	certs := f.find(s, pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_CERTIFICATE), pkcs11.NewAttribute(pkcs11.CKA_ID, []byte{2}))
	require.Len(t, certs, 1)
	attrs, err := ctx.GetAttributeValue(s, certs[0], []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_VALUE, nil), pkcs11.NewAttribute(pkcs11.CKA_SUBJECT, nil)})
	require.NoError(t, err)
	card, err := sim.Open(f.state, sim.Options{})
	require.NoError(t, err)
	require.Equal(t, card.Certificates().SignCert, attrs[0].Value, "the signature certificate was read")
	_, err = f.signWith(s, "privacy sign")
	require.NoError(t, err)
	require.NoError(t, ctx.SetPIN(s, signPIN, "XYZ789"))
	require.NoError(t, ctx.Logout(s))
	require.NoError(t, ctx.Login(s, pkcs11.CKU_USER, "xyz789"))
	f.wantVerifies++
	require.NoError(t, ctx.SetPIN(s, "XYZ789", signPIN))
	f.wantVerifies += 4 // two per C_SetPIN
	require.NoError(t, ctx.Logout(s))
	f.finalize()

	b, err := os.ReadFile(logPath)
	require.NoError(t, err)
	log := string(b)
	require.GreaterOrEqual(t, strings.Count(log, "\n"), 5, "the debug log was written")
	checked := 0
	for _, pin := range pins {
		for _, form := range secretForms(pin) {
			checked++
			assert.NotContains(t, log, form, "PIN %q appears in the log (as %q)", pin, form)
		}
	}
	p := card.Profile()
	birth := strings.ReplaceAll(p.BirthDate, "-", "")
	personal := []string{p.Name, p.Address, p.BirthDate, birth}
	for _, field := range strings.Fields(p.Name + " " + p.Address) {
		if len([]rune(field)) >= 2 {
			personal = append(personal, field)
		}
	}
	// The subject names the holder's municipality and carries a
	// per-holder identifier.
	signCert, err := x509.ParseCertificate(card.Certificates().SignCert)
	require.NoError(t, err)
	personal = append(personal, signCert.Subject.CommonName)
	personal = append(personal, signCert.Subject.Locality...)
	subjectHex := hex.EncodeToString(attrs[1].Value)
	personal = append(personal, subjectHex[:min(64, len(subjectHex))])
	for _, field := range personal {
		require.NotEmpty(t, field)
		for _, form := range secretForms(field) {
			checked++
			assert.NotContains(t, log, form, "personal data %q appears in the log", field)
		}
	}
	t.Logf("log of %d bytes checked against %d forms of %d PINs and %d personal fields", len(b), checked, len(pins), len(personal))
	f.done()
}

// Before login no call reveals the signature certificate: an empty
// template finds nothing, and every attribute of every handle 0..1000
// (and the handle the certificate had during an earlier login) is
// CKR_OBJECT_HANDLE_INVALID on the sign token and on the auth token.
func TestSignCertificateUnreadableBeforeLogin(t *testing.T) {
	f := newFx(t)
	f.init()
	// learn the handle the certificate has while logged in, then log out
	s := f.open(f.sign)
	require.NoError(t, f.login(s, f.sign, false))
	during := f.find(s, pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_CERTIFICATE), pkcs11.NewAttribute(pkcs11.CKA_ID, []byte{2}))
	require.Len(t, during, 1)
	require.NoError(t, ctx.Logout(s))

	// Before login the sign token shows its CA certificate (public,
	// CKA_ID 04) and nothing else.
	public := map[pkcs11.ObjectHandle]bool{}
	for _, h := range f.find(s) {
		attrs, err := ctx.GetAttributeValue(s, h, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_ID, nil)})
		require.NoError(t, err)
		assert.Equal(t, []byte{4}, attrs[0].Value, "empty template before login: only the CA certificate")
		public[h] = true
	}
	a := f.open(f.auth)
	types := []uint{pkcs11.CKA_CLASS, pkcs11.CKA_VALUE, pkcs11.CKA_SUBJECT, pkcs11.CKA_ISSUER, pkcs11.CKA_SERIAL_NUMBER,
		pkcs11.CKA_ID, pkcs11.CKA_LABEL, pkcs11.CKA_MODULUS, pkcs11.CKA_PUBLIC_EXPONENT, pkcs11.CKA_PUBLIC_KEY_INFO,
		pkcs11.CKA_CERTIFICATE_TYPE, pkcs11.CKA_START_DATE, pkcs11.CKA_END_DATE}
	certs := func() sim.Certs {
		c, err := sim.Open(f.state, sim.Options{})
		require.NoError(t, err)
		return c.Certificates()
	}()
	certDER := certs.SignCert
	leaks, calls := 0, 0
	handles := []pkcs11.ObjectHandle{during[0]}
	for h := pkcs11.ObjectHandle(0); h <= 1000; h++ {
		handles = append(handles, h)
	}
	for _, h := range handles {
		for _, typ := range types {
			calls++
			attrs, err := ctx.GetAttributeValue(s, h, []*pkcs11.Attribute{pkcs11.NewAttribute(typ, nil)})
			if public[h] {
				if err == nil && typ == pkcs11.CKA_VALUE {
					assert.Equal(t, certs.SignCA, attrs[0].Value, "the public object is the CA certificate")
				}
				continue
			}
			if err == nil {
				leaks++
				t.Errorf("sign token handle %d attribute 0x%x readable before login (%d bytes)", h, typ, len(attrs[0].Value))
				continue
			}
			assert.Equal(t, ckr(pkcs11.CKR_OBJECT_HANDLE_INVALID), rv(err))
			// the auth token may have objects of its own, but never the sign certificate
			calls++
			if attrs, err := ctx.GetAttributeValue(a, h, []*pkcs11.Attribute{pkcs11.NewAttribute(typ, nil)}); err == nil && typ == pkcs11.CKA_VALUE {
				assert.NotEqual(t, certDER, attrs[0].Value, "auth session handle %d returns the sign certificate", h)
			}
		}
	}
	t.Logf("%d GetAttributeValue calls before login, %d revealed anything on the sign token", calls, leaks)
	record(t, map[string]any{"privacy_calls": calls, "privacy_leaks": leaks})
	f.done()
}
