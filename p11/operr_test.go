package p11

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// Every error return of C_Sign*, C_Verify* and C_Digest* ends the active
// operation, except CKR_BUFFER_TOO_SMALL and a successful length query
// (v2.40 §5.10.2-5.10.5, §5.11.2-5.11.4, §5.12.2-5.12.4; 3.0 §5.12,
// §5.13, §5.15).
func TestErrorsEndOperations(t *testing.T) {
	f := newFixture(t)
	auth, _ := f.slots()
	s := f.open1(auth, false)
	f.login(s, sim.DefaultAuthPIN)
	key := f.privKey(s)
	pub := f.findClass(s, ck.CKO_PUBLIC_KEY)[0]
	sig := f.sign(s, key, ck.CKM_SHA256_RSA_PKCS, []byte("data"))

	initSign := func(mech MechanismType) func() error {
		return func() error { return f.m.SignInit(s, Mechanism{Type: mech}, key) }
	}
	initVerify := func(mech MechanismType) func() error {
		return func() error { return f.m.VerifyInit(s, Mechanism{Type: mech}, pub) }
	}
	initDigest := func() error { return f.m.DigestInit(s, Mechanism{Type: ck.CKM_SHA256}) }
	// Each probe answers CKR_OK while its operation is active.
	probeSign := func() error { _, _, err := f.m.SignFinal(s, OutBuf{Nil: true}); return err }
	probeVerify := func() error { return f.m.VerifyUpdate(s, nil) }
	probeDigest := func() error { _, _, err := f.m.DigestFinal(s, OutBuf{Nil: true}); return err }
	sign := func(data []byte, out OutBuf) func() error {
		return func() error { _, _, err := f.m.Sign(s, data, out); return err }
	}
	signFinal := func(out OutBuf) func() error {
		return func() error { _, _, err := f.m.SignFinal(s, out); return err }
	}
	digest := func(out OutBuf) func() error {
		return func() error { _, _, err := f.m.Digest(s, []byte("abc"), out); return err }
	}
	digestFinal := func(out OutBuf) func() error {
		return func() error { _, _, err := f.m.DigestFinal(s, out); return err }
	}
	then := func(a, b func() error) func() error {
		return func() error {
			if err := a(); err != nil {
				return err
			}
			return b()
		}
	}
	bad := func(flags uint) func() error {
		return func() error { return f.m.ArgumentsBad("C_Test", s, flags) }
	}
	update := func(fn func(SessionHandle, []byte) error, part []byte) func() error {
		return func() error { return fn(s, part) }
	}

	for _, tt := range []struct {
		name        string
		init, call  func() error
		probe       func() error
		want        string
		stillActive bool
	}{
		{"C_Sign length query", initSign(ck.CKM_SHA256_RSA_PKCS), sign([]byte("x"), OutBuf{Nil: true}), probeSign, "CKR_OK", true},
		{"C_Sign short buffer", initSign(ck.CKM_SHA256_RSA_PKCS), sign([]byte("x"), OutBuf{Len: 10}), probeSign, "CKR_BUFFER_TOO_SMALL", true},
		{"C_Sign NULL pulSignatureLen", initSign(ck.CKM_SHA256_RSA_PKCS), bad(ck.CKF_SIGN), probeSign, "CKR_ARGUMENTS_BAD", false},
		{"C_Sign data too long", initSign(ck.CKM_RSA_PKCS), sign(make([]byte, 246), OutBuf{Nil: true}), probeSign, "CKR_DATA_LEN_RANGE", false},
		{"C_Sign after C_SignUpdate", initSign(ck.CKM_SHA256_RSA_PKCS), then(update(f.m.SignUpdate, []byte("a")), sign([]byte("x"), OutBuf{Len: 256})), probeSign, "CKR_OPERATION_ACTIVE", false},
		{"C_SignUpdate NULL pPart", initSign(ck.CKM_SHA256_RSA_PKCS), bad(ck.CKF_SIGN), probeSign, "CKR_ARGUMENTS_BAD", false},
		{"C_SignUpdate over 245 bytes", initSign(ck.CKM_RSA_PKCS), update(f.m.SignUpdate, make([]byte, 246)), probeSign, "CKR_DATA_LEN_RANGE", false},
		{"C_SignFinal length query", initSign(ck.CKM_SHA256_RSA_PKCS), signFinal(OutBuf{Nil: true}), probeSign, "CKR_OK", true},
		{"C_SignFinal short buffer", initSign(ck.CKM_SHA256_RSA_PKCS), signFinal(OutBuf{Len: 255}), probeSign, "CKR_BUFFER_TOO_SMALL", true},
		{"C_SignFinal no data (CKM_RSA_PKCS)", initSign(ck.CKM_RSA_PKCS), signFinal(OutBuf{Len: 256}), probeSign, "CKR_DATA_LEN_RANGE", false},
		{"C_Verify NULL pData", initVerify(ck.CKM_SHA256_RSA_PKCS), bad(ck.CKF_VERIFY), probeVerify, "CKR_ARGUMENTS_BAD", false},
		{"C_Verify wrong signature length", initVerify(ck.CKM_SHA256_RSA_PKCS), func() error { return f.m.Verify(s, []byte("data"), sig[:10]) }, probeVerify, "CKR_SIGNATURE_LEN_RANGE", false},
		{"C_Verify bad signature", initVerify(ck.CKM_SHA256_RSA_PKCS), func() error { return f.m.Verify(s, []byte("other"), sig) }, probeVerify, "CKR_SIGNATURE_INVALID", false},
		{"C_VerifyUpdate NULL pPart", initVerify(ck.CKM_SHA256_RSA_PKCS), bad(ck.CKF_VERIFY), probeVerify, "CKR_ARGUMENTS_BAD", false},
		{"C_VerifyUpdate over 245 bytes", initVerify(ck.CKM_RSA_PKCS), update(f.m.VerifyUpdate, make([]byte, 246)), probeVerify, "CKR_DATA_LEN_RANGE", false},
		{"C_VerifyFinal bad signature", initVerify(ck.CKM_SHA256_RSA_PKCS), func() error { return f.m.VerifyFinal(s, sig) }, probeVerify, "CKR_SIGNATURE_INVALID", false},
		{"C_Digest length query", initDigest, digest(OutBuf{Nil: true}), probeDigest, "CKR_OK", true},
		{"C_Digest short buffer", initDigest, digest(OutBuf{Len: 31}), probeDigest, "CKR_BUFFER_TOO_SMALL", true},
		{"C_Digest NULL pulDigestLen", initDigest, bad(ck.CKF_DIGEST), probeDigest, "CKR_ARGUMENTS_BAD", false},
		{"C_Digest after C_DigestUpdate", initDigest, then(update(f.m.DigestUpdate, []byte("a")), digest(OutBuf{Len: 32})), probeDigest, "CKR_OPERATION_ACTIVE", false},
		{"C_DigestUpdate after a length query", initDigest, then(digest(OutBuf{Nil: true}), update(f.m.DigestUpdate, []byte("a"))), probeDigest, "CKR_OPERATION_ACTIVE", false},
		{"C_DigestFinal length query", initDigest, digestFinal(OutBuf{Nil: true}), probeDigest, "CKR_OK", true},
		{"C_DigestFinal short buffer", initDigest, digestFinal(OutBuf{Len: 1}), probeDigest, "CKR_BUFFER_TOO_SMALL", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, tt.init())
			assert.Equal(t, tt.want, rv(tt.call()))
			if tt.stillActive {
				assert.Equal(t, "CKR_OK", rv(tt.probe()), "the operation stays active")
			} else {
				assert.Equal(t, "CKR_OPERATION_NOT_INITIALIZED", rv(tt.probe()), "the error ended the operation")
			}
			require.NoError(t, f.m.SessionCancel(s, ck.CKF_SIGN|ck.CKF_VERIFY|ck.CKF_DIGEST))
		})
	}
}

// ArgumentsBad ends only the operation named, and an invalid session
// outranks the bad argument (v2.40 §5.1.7).
func TestArgumentsBadEndsOnlyItsOperation(t *testing.T) {
	f := newFixture(t)
	auth, _ := f.slots()
	s := f.open1(auth, false)
	require.NoError(t, f.m.DigestInit(s, Mechanism{Type: ck.CKM_SHA256}))
	assert.Equal(t, "CKR_ARGUMENTS_BAD", rv(f.m.ArgumentsBad("C_Sign", s, ck.CKF_SIGN)), "no sign operation: still a bad argument")
	assert.NoError(t, f.m.DigestUpdate(s, []byte("a")), "the digest goes on")
	assert.Equal(t, "CKR_SESSION_HANDLE_INVALID", rv(f.m.ArgumentsBad("C_Digest", 4242, ck.CKF_DIGEST)))
	assert.Equal(t, "CKR_ARGUMENTS_BAD", rv(f.m.ArgumentsBad("C_Digest", s, ck.CKF_DIGEST)))
	assert.Equal(t, "CKR_OPERATION_NOT_INITIALIZED", rv(f.m.DigestUpdate(s, []byte("a"))))
}
