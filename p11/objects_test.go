package p11

import (
	"crypto/x509"
	"encoding/asn1"
	"math/big"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

func TestAuthTokenObjects(t *testing.T) {
	f := newFixture(t)
	auth, _ := f.slots()
	s := f.open1(auth, false)
	certs := f.card.Certificates()

	// Before login: certificate, public key and CA certificate; no private key.
	all := f.find(s)
	assert.Len(t, all, 3)
	assert.Empty(t, f.findClass(s, ck.CKO_PRIVATE_KEY))
	userCert := f.find(s, Attribute{ck.CKA_CLASS, ulong(ck.CKO_CERTIFICATE)}, Attribute{ck.CKA_ID, []byte{1}})
	require.Len(t, userCert, 1)
	c := userCert[0]
	assert.Equal(t, certs.AuthCert, f.attr(s, c, ck.CKA_VALUE))
	parsed, err := x509.ParseCertificate(certs.AuthCert)
	require.NoError(t, err)
	serial, _ := asn1.Marshal(parsed.SerialNumber)
	assert.Equal(t, serial, f.attr(s, c, ck.CKA_SERIAL_NUMBER))
	assert.Equal(t, parsed.RawSubject, f.attr(s, c, ck.CKA_SUBJECT))
	assert.Equal(t, parsed.RawIssuer, f.attr(s, c, ck.CKA_ISSUER))
	assert.Equal(t, ulong(ck.CK_CERTIFICATE_CATEGORY_TOKEN_USER), f.attr(s, c, ck.CKA_CERTIFICATE_CATEGORY))
	assert.Equal(t, ulong(ck.CKC_X_509), f.attr(s, c, ck.CKA_CERTIFICATE_TYPE))
	assert.Equal(t, []byte{0}, f.attr(s, c, ck.CKA_TRUSTED))
	assert.Equal(t, []byte(parsed.NotBefore.UTC().Format("20060102")), f.attr(s, c, ck.CKA_START_DATE))
	assert.Equal(t, parsed.RawSubjectPublicKeyInfo, f.attr(s, c, ck.CKA_PUBLIC_KEY_INFO))
	assert.Len(t, f.attr(s, c, ck.CKA_CHECK_VALUE), 3)

	ca := f.find(s, Attribute{ck.CKA_CLASS, ulong(ck.CKO_CERTIFICATE)}, Attribute{ck.CKA_CERTIFICATE_CATEGORY, ulong(2)})
	require.Len(t, ca, 1)
	assert.Equal(t, certs.AuthCA, f.attr(s, ca[0], ck.CKA_VALUE))
	assert.Equal(t, []byte{3}, f.attr(s, ca[0], ck.CKA_ID))

	pubs := f.findClass(s, ck.CKO_PUBLIC_KEY)
	require.Len(t, pubs, 1)
	pub := pubOf(t, certs.AuthCert)
	assert.Equal(t, pub.N.Bytes(), f.attr(s, pubs[0], ck.CKA_MODULUS))
	assert.Equal(t, big.NewInt(int64(pub.E)).Bytes(), f.attr(s, pubs[0], ck.CKA_PUBLIC_EXPONENT))
	assert.Equal(t, ulong(2048), f.attr(s, pubs[0], ck.CKA_MODULUS_BITS))
	assert.Equal(t, []byte{1}, f.attr(s, pubs[0], ck.CKA_VERIFY))
	assert.Equal(t, []byte{0}, f.attr(s, pubs[0], ck.CKA_ENCRYPT))
	assert.Equal(t, []byte{1}, f.attr(s, pubs[0], ck.CKA_ID))

	// After login the private key appears.
	f.login(s, sim.DefaultAuthPIN)
	key := f.privKey(s)
	for typ, want := range map[uint][]byte{
		ck.CKA_SIGN: {1}, ck.CKA_DECRYPT: {0}, ck.CKA_PRIVATE: {1}, ck.CKA_SENSITIVE: {1},
		ck.CKA_EXTRACTABLE: {0}, ck.CKA_ALWAYS_SENSITIVE: {1}, ck.CKA_NEVER_EXTRACTABLE: {1},
		ck.CKA_ALWAYS_AUTHENTICATE: {0}, ck.CKA_TOKEN: {1}, ck.CKA_MODIFIABLE: {0}, ck.CKA_LOCAL: {1},
		ck.CKA_ID: {1}, ck.CKA_MODULUS: pub.N.Bytes(), ck.CKA_KEY_TYPE: ulong(ck.CKK_RSA),
		ck.CKA_SUBJECT: parsed.RawSubject, ck.CKA_KEY_GEN_MECHANISM: ulong(ck.CKM_RSA_PKCS_KEY_PAIR_GEN),
	} {
		assert.Equal(t, want, f.attr(s, key, typ), ck.AttrName(typ))
	}
	allowed := f.attr(s, key, ck.CKA_ALLOWED_MECHANISMS)
	assert.Len(t, allowed, 6*8)

	// The size protocol, per attribute, in one call.
	reqs := []AttrRequest{
		{Type: ck.CKA_LABEL},                                       // size query
		{Type: ck.CKA_MODULUS, HasBuf: true, BufLen: 10},           // too small
		{Type: ck.CKA_PRIVATE_EXPONENT, HasBuf: true, BufLen: 512}, // sensitive
		{Type: 0x7777, HasBuf: true, BufLen: 8},                    // unknown
		{Type: ck.CKA_ID, HasBuf: true, BufLen: 8},                 // fits
	}
	err = f.m.GetAttributeValue(s, key, reqs)
	assert.Equal(t, "CKR_ATTRIBUTE_SENSITIVE", rv(err))
	assert.Equal(t, uint(len("Authentication Key")), reqs[0].Len)
	assert.Equal(t, ck.CK_UNAVAILABLE_INFORMATION, reqs[1].Len)
	assert.Equal(t, ck.CK_UNAVAILABLE_INFORMATION, reqs[2].Len)
	assert.Equal(t, ck.CK_UNAVAILABLE_INFORMATION, reqs[3].Len)
	assert.Equal(t, []byte{1}, reqs[4].Value)
	assert.Equal(t, uint(1), reqs[4].Len)

	reqs = []AttrRequest{{Type: 0x7777}, {Type: ck.CKA_ID, HasBuf: true, BufLen: 1}}
	assert.Equal(t, "CKR_ATTRIBUTE_TYPE_INVALID", rv(f.m.GetAttributeValue(s, key, reqs)))
	assert.Equal(t, []byte{1}, reqs[1].Value)
	reqs = []AttrRequest{{Type: ck.CKA_VALUE, HasBuf: true, BufLen: 3}}
	assert.Equal(t, "CKR_BUFFER_TOO_SMALL", rv(f.m.GetAttributeValue(s, c, reqs)))

	// Templates: unknown attributes and wrong values simply do not match.
	assert.Empty(t, f.find(s, Attribute{0x7777, []byte{1}}))
	assert.Empty(t, f.find(s, Attribute{ck.CKA_ID, []byte{2}}))
	assert.Len(t, f.find(s, Attribute{ck.CKA_ID, []byte{1}}), 3)
	assert.Empty(t, f.find(s, Attribute{ck.CKA_PRIVATE_EXPONENT, []byte{1}}))

	// Logout hides the private key again.
	require.NoError(t, f.m.Logout(s))
	assert.Empty(t, f.findClass(s, ck.CKO_PRIVATE_KEY))
	assert.Equal(t, "CKR_OBJECT_HANDLE_INVALID", rv(f.m.GetAttributeValue(s, key, []AttrRequest{{Type: ck.CKA_ID}})))
	size, err := f.m.GetObjectSize(s, c)
	require.NoError(t, err)
	assert.Greater(t, size, uint(len(certs.AuthCert)))
}

func TestSignTokenObjectsOnlyWhileLoggedIn(t *testing.T) {
	f := newFixture(t)
	_, sign := f.slots()
	s := f.open1(sign, false)
	certs := f.card.Certificates()
	// Before login: only the CA certificate (public, CKA_ID 04), read
	// only when a search needs it.
	reads := f.card.Stats().ByINS[0xB0]
	assert.Empty(t, f.findClass(s, ck.CKO_PRIVATE_KEY))
	assert.Empty(t, f.findClass(s, ck.CKO_PUBLIC_KEY))
	assert.Equal(t, reads, f.card.Stats().ByINS[0xB0], "a search the CA cannot match reads nothing")
	ca := f.find(s)
	require.Len(t, ca, 1, "only the CA certificate before login")
	assert.Equal(t, []byte{4}, f.attr(s, ca[0], ck.CKA_ID))
	assert.Equal(t, certs.SignCA, f.attr(s, ca[0], ck.CKA_VALUE))
	assert.Equal(t, ulong(ck.CK_CERTIFICATE_CATEGORY_AUTHORITY), f.attr(s, ca[0], ck.CKA_CERTIFICATE_CATEGORY))
	assert.Empty(t, f.find(s, Attribute{ck.CKA_ID, []byte{2}}), "the signature certificate stays hidden")

	f.login(s, sim.DefaultSignPIN)
	userCert := f.find(s, Attribute{ck.CKA_CLASS, ulong(ck.CKO_CERTIFICATE)}, Attribute{ck.CKA_ID, []byte{2}})
	require.Len(t, userCert, 1)
	assert.Equal(t, certs.SignCert, f.attr(s, userCert[0], ck.CKA_VALUE))
	assert.Len(t, f.findClass(s, ck.CKO_PUBLIC_KEY), 1)
	key := f.privKey(s)
	assert.Equal(t, []byte{2}, f.attr(s, key, ck.CKA_ID))
	assert.Len(t, f.find(s), 4)

	require.NoError(t, f.m.Logout(s))
	assert.Equal(t, ca, f.find(s), "only the CA certificate after logout")
	assert.Equal(t, "CKR_OBJECT_HANDLE_INVALID", rv(f.m.GetAttributeValue(s, userCert[0], []AttrRequest{{Type: ck.CKA_VALUE}})))
	f.m.mu.Lock()
	c := f.m.sessions[s].c
	f.m.mu.Unlock()
	c.mu.Lock()
	assert.NotContains(t, c.attrs, objSignCert, "no attribute of the signature certificate is kept")
	c.mu.Unlock()
	_, _, err := c.card.Cert(cardos.SignCert)
	assert.ErrorIs(t, err, cardos.ErrPINRequired, "the card layer gives the signature certificate only while logged in")
}

func TestObjectsAreReadOnly(t *testing.T) {
	f := newFixture(t)
	auth, _ := f.slots()
	ro, rw := f.open1(auth, false), f.open1(auth, true)
	obj := f.find(ro)[0]
	tmpl := []Attribute{{ck.CKA_LABEL, []byte("x")}}
	session := []Attribute{{ck.CKA_TOKEN, boolean(false)}, {ck.CKA_CLASS, ulong(ck.CKO_DATA)}}
	// CKR_TOKEN_WRITE_PROTECTED outranks CKR_SESSION_READ_ONLY (§5.1.6),
	// and session objects are not supported either.
	for _, s := range []SessionHandle{ro, rw} {
		assert.Equal(t, "CKR_TOKEN_WRITE_PROTECTED", rv(f.m.CreateObject(s, tmpl)))
		assert.Equal(t, "CKR_TOKEN_WRITE_PROTECTED", rv(f.m.CreateObject(s, session)))
		assert.Equal(t, "CKR_TOKEN_WRITE_PROTECTED", rv(f.m.CopyObject(s, obj, session)))
		assert.Equal(t, "CKR_TOKEN_WRITE_PROTECTED", rv(f.m.DestroyObject(s, obj)))
		assert.Equal(t, "CKR_TOKEN_WRITE_PROTECTED", rv(f.m.SetAttributeValue(s, obj, tmpl)))
		assert.Equal(t, "CKR_OBJECT_HANDLE_INVALID", rv(f.m.DestroyObject(s, 12345)))
		assert.Equal(t, "CKR_OBJECT_HANDLE_INVALID", rv(f.m.CopyObject(s, 12345, nil)))
	}
	assert.Equal(t, "CKR_SESSION_HANDLE_INVALID", rv(f.m.CreateObject(999, tmpl)))
}

func TestFindOperationRules(t *testing.T) {
	f := newFixture(t)
	auth, _ := f.slots()
	s := f.open1(auth, false)
	_, err := f.m.FindObjects(s, 1)
	assert.Equal(t, "CKR_OPERATION_NOT_INITIALIZED", rv(err))
	assert.Equal(t, "CKR_OPERATION_NOT_INITIALIZED", rv(f.m.FindObjectsFinal(s)))
	require.NoError(t, f.m.FindObjectsInit(s, nil))
	assert.Equal(t, "CKR_OPERATION_ACTIVE", rv(f.m.FindObjectsInit(s, nil)))
	got, err := f.m.FindObjects(s, 10)
	require.NoError(t, err)
	assert.Len(t, got, 3)
	got, err = f.m.FindObjects(s, 10)
	require.NoError(t, err)
	assert.Empty(t, got)
	require.NoError(t, f.m.FindObjectsFinal(s))
	// SessionCancel ends a search (PKCS#11 3.0).
	require.NoError(t, f.m.FindObjectsInit(s, nil))
	require.NoError(t, f.m.SessionCancel(s, ckfFindObjects))
	assert.Equal(t, "CKR_OPERATION_NOT_INITIALIZED", rv(f.m.FindObjectsFinal(s)))
}
