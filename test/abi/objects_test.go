package abi

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"testing"

	"github.com/miekg/pkcs11"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const unavailable = ^uint(0) // CK_UNAVAILABLE_INFORMATION

// certValues returns the CKA_VALUE of every certificate the session sees.
func certValues(t *testing.T, s pkcs11.SessionHandle) [][]byte {
	t.Helper()
	var out [][]byte
	for _, o := range find(t, s, classOf(pkcs11.CKO_CERTIFICATE)) {
		out = append(out, attr(t, s, o, pkcs11.CKA_VALUE))
	}
	return out
}

func containsBytes(list [][]byte, b []byte) bool {
	for _, x := range list {
		if bytes.Equal(x, b) {
			return true
		}
	}
	return false
}

func TestSignCertificateHiddenBeforeLoginAndGoneAfterLogout(t *testing.T) {
	state := start(t)
	_, sign := slots(t)
	c := certs(t, state)
	require.NotEmpty(t, c.SignCert)
	s := session(t, sign)

	// Before login only the sign CA certificate (public, CKA_ID 04).
	before := certValues(t, s)
	assert.Equal(t, [][]byte{c.SignCA}, before, "the signature token shows only its CA certificate before login")
	assert.Len(t, find(t, s), 1)

	require.NoError(t, ctx.Login(s, pkcs11.CKU_USER, signPIN))
	after := certValues(t, s)
	assert.True(t, containsBytes(after, c.SignCert), "the signature certificate appears after login")
	assert.Len(t, find(t, s, classOf(pkcs11.CKO_PRIVATE_KEY)), 1)

	require.NoError(t, ctx.Logout(s))
	assert.False(t, containsBytes(certValues(t, s), c.SignCert), "the signature certificate is gone after logout")
	assert.Len(t, find(t, s), 1, "only the CA certificate after logout")
}

func TestAuthTokenObjects(t *testing.T) {
	state := start(t)
	auth, _ := slots(t)
	c := certs(t, state)
	s := session(t, auth)

	vals := certValues(t, s)
	assert.True(t, containsBytes(vals, c.AuthCert), "authentication certificate visible without login")
	assert.True(t, containsBytes(vals, c.AuthCA), "authentication CA certificate visible without login")
	assert.Empty(t, find(t, s, classOf(pkcs11.CKO_PRIVATE_KEY)), "private key hidden before login")
	pub := one(t, s, pkcs11.CKO_PUBLIC_KEY)

	cert, err := x509.ParseCertificate(c.AuthCert)
	require.NoError(t, err)
	rsaPub := cert.PublicKey.(*rsa.PublicKey)
	assert.Equal(t, rsaPub.N.Bytes(), attr(t, s, pub, pkcs11.CKA_MODULUS), "public key object matches the certificate")

	require.NoError(t, ctx.Login(s, pkcs11.CKU_USER, authPIN))
	priv := one(t, s, pkcs11.CKO_PRIVATE_KEY)
	assert.Equal(t, rsaPub.N.Bytes(), attr(t, s, priv, pkcs11.CKA_MODULUS))
	assert.Equal(t, attr(t, s, pub, pkcs11.CKA_ID), attr(t, s, priv, pkcs11.CKA_ID), "key pair shares CKA_ID")
}

func TestFindObjectsInPieces(t *testing.T) {
	start(t)
	auth, _ := slots(t)
	s := session(t, auth)
	all := find(t, s)
	require.GreaterOrEqual(t, len(all), 3)

	require.Equal(t, rvName(pkcs11.CKR_OK), rvName(RawFindObjectsInit(uint(s), nil, true, 0)), "NULL template with count 0 finds everything")
	assert.Equal(t, rvName(pkcs11.CKR_OPERATION_ACTIVE), rvName(RawFindObjectsInit(uint(s), nil, false, -1)))
	var got []pkcs11.ObjectHandle
	for {
		rv, objs := RawFindObjects(uint(s), 1, false, false)
		require.Equal(t, rvName(pkcs11.CKR_OK), rvName(rv))
		require.LessOrEqual(t, len(objs), 1)
		if len(objs) == 0 {
			break
		}
		got = append(got, pkcs11.ObjectHandle(objs[0]))
	}
	require.NoError(t, ctx.FindObjectsFinal(s))
	assert.ElementsMatch(t, all, got)
	_, _, err := ctx.FindObjects(s, 1)
	assert.Equal(t, pkcs11.Error(pkcs11.CKR_OPERATION_NOT_INITIALIZED), err)

	none := find(t, s, pkcs11.NewAttribute(pkcs11.CKA_LABEL, "no such object"))
	assert.Empty(t, none)
}

func TestGetAttributeValueTwoCallProtocol(t *testing.T) {
	state := start(t)
	auth, _ := slots(t)
	want := certs(t, state).AuthCert
	s := session(t, auth)
	var cert pkcs11.ObjectHandle
	for _, o := range find(t, s, classOf(pkcs11.CKO_CERTIFICATE)) {
		if bytes.Equal(attr(t, s, o, pkcs11.CKA_VALUE), want) {
			cert = o
		}
	}
	require.NotZero(t, cert)
	sh, oh, n := uint(s), uint(cert), uint(len(want))

	rv, out := RawGetAttributeValue(sh, oh, []AttrIn{{Type: pkcs11.CKA_VALUE, Null: true}}, false)
	require.Equal(t, rvName(pkcs11.CKR_OK), rvName(rv))
	assert.Equal(t, n, out[0].Len, "NULL pValue reports the length")

	rv, out = RawGetAttributeValue(sh, oh, []AttrIn{{Type: pkcs11.CKA_VALUE, BufLen: n - 1}}, false)
	assert.Equal(t, rvName(pkcs11.CKR_BUFFER_TOO_SMALL), rvName(rv))
	assert.Equal(t, unavailable, out[0].Len, "a short buffer gets CK_UNAVAILABLE_INFORMATION")

	rv, out = RawGetAttributeValue(sh, oh, []AttrIn{{Type: pkcs11.CKA_VALUE, BufLen: n + 10}}, false)
	require.Equal(t, rvName(pkcs11.CKR_OK), rvName(rv))
	assert.Equal(t, n, out[0].Len)
	assert.Equal(t, want, out[0].Value)

	// An unknown attribute next to a good one: the good one is still filled.
	rv, out = RawGetAttributeValue(sh, oh, []AttrIn{
		{Type: pkcs11.CKA_VALUE, BufLen: n},
		{Type: 0x8765_4321, BufLen: 16},
		{Type: pkcs11.CKA_CLASS, BufLen: 8},
	}, false)
	assert.Equal(t, rvName(pkcs11.CKR_ATTRIBUTE_TYPE_INVALID), rvName(rv))
	assert.Equal(t, want, out[0].Value)
	assert.Equal(t, unavailable, out[1].Len)
	assert.Equal(t, uint(8), out[2].Len)
	assert.Equal(t, []byte{1, 0, 0, 0, 0, 0, 0, 0}, out[2].Value, "CKO_CERTIFICATE as a little-endian CK_ULONG")

	rv, _ = RawGetAttributeValue(sh, 0xdead, []AttrIn{{Type: pkcs11.CKA_CLASS, BufLen: 8}}, false)
	assert.Equal(t, rvName(pkcs11.CKR_OBJECT_HANDLE_INVALID), rvName(rv))
}

func TestPrivateKeyAttributesAreSensitive(t *testing.T) {
	start(t)
	auth, _ := slots(t)
	s := session(t, auth)
	require.NoError(t, ctx.Login(s, pkcs11.CKU_USER, authPIN))
	priv := one(t, s, pkcs11.CKO_PRIVATE_KEY)
	rv, out := RawGetAttributeValue(uint(s), uint(priv), []AttrIn{
		{Type: pkcs11.CKA_PRIVATE_EXPONENT, BufLen: 512},
		{Type: pkcs11.CKA_SENSITIVE, BufLen: 1},
		{Type: pkcs11.CKA_EXTRACTABLE, BufLen: 1},
		{Type: pkcs11.CKA_SIGN, BufLen: 1},
	}, false)
	assert.Equal(t, rvName(pkcs11.CKR_ATTRIBUTE_SENSITIVE), rvName(rv))
	assert.Equal(t, unavailable, out[0].Len)
	assert.Equal(t, []byte{1}, out[1].Value, "CKA_SENSITIVE true")
	assert.Equal(t, []byte{0}, out[2].Value, "CKA_EXTRACTABLE false")
	assert.Equal(t, []byte{1}, out[3].Value, "CKA_SIGN true")
}

func TestObjectsAreReadOnly(t *testing.T) {
	start(t)
	auth, _ := slots(t)
	s := session(t, auth)
	_, err := ctx.CreateObject(s, []*pkcs11.Attribute{classOf(pkcs11.CKO_DATA), pkcs11.NewAttribute(pkcs11.CKA_LABEL, "x")})
	assert.Error(t, err)
	obj := find(t, s)[0]
	assert.Error(t, ctx.DestroyObject(s, obj))
	assert.Error(t, ctx.SetAttributeValue(s, obj, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_LABEL, "y")}))
	assert.Contains(t, find(t, s), obj, "the object is still there")
}
