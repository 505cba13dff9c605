package p11

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos/pkcs1"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

func TestSignMechanisms(t *testing.T) {
	f := newFixture(t)
	auth, sign := f.slots()
	certs := f.card.Certificates()
	data := []byte("the quick brown fox")
	for _, tok := range []struct {
		slot SlotID
		pin  string
		cert []byte
	}{{auth, sim.DefaultAuthPIN, certs.AuthCert}, {sign, sim.DefaultSignPIN, certs.SignCert}} {
		s := f.open1(tok.slot, false)
		f.login(s, tok.pin)
		key := f.privKey(s)
		pub := pubOf(t, tok.cert)
		for mech, h := range signMechs {
			t.Run(ck.MechName(uint(mech)), func(t *testing.T) {
				in := data
				var hashed []byte
				if h != 0 {
					hh := h.New()
					hh.Write(data)
					hashed = hh.Sum(nil)
				} else {
					hashed = pkcs1.DigestInfo(crypto.SHA256, bytes.Repeat([]byte{7}, 32))
					in = hashed
				}
				sig := f.sign(s, key, mech, in)
				assert.NoError(t, rsa.VerifyPKCS1v15(pub, h, hashed, sig))

				// Multi-part gives the same signature (PKCS#1 v1.5 is deterministic).
				require.NoError(t, f.m.SignInit(s, Mechanism{Type: mech}, key))
				require.NoError(t, f.m.SignUpdate(s, in[:5]))
				require.NoError(t, f.m.SignUpdate(s, in[5:]))
				sig2, _, err := f.m.SignFinal(s, OutBuf{Len: 300})
				require.NoError(t, err)
				assert.Equal(t, sig, sig2)

				// Software verification with the public key object.
				pubObj := f.findClass(s, ck.CKO_PUBLIC_KEY)[0]
				require.NoError(t, f.m.VerifyInit(s, Mechanism{Type: mech}, pubObj))
				assert.NoError(t, f.m.Verify(s, in, sig))
				bad := append([]byte(nil), sig...)
				bad[10] ^= 1
				require.NoError(t, f.m.VerifyInit(s, Mechanism{Type: mech}, pubObj))
				assert.Equal(t, "CKR_SIGNATURE_INVALID", rv(f.m.Verify(s, in, bad)))
				require.NoError(t, f.m.VerifyInit(s, Mechanism{Type: mech}, pubObj))
				assert.Equal(t, "CKR_SIGNATURE_LEN_RANGE", rv(f.m.Verify(s, in, sig[:255])))
				require.NoError(t, f.m.VerifyInit(s, Mechanism{Type: mech}, pubObj))
				require.NoError(t, f.m.VerifyUpdate(s, in))
				assert.NoError(t, f.m.VerifyFinal(s, sig))
			})
		}
	}
}

func TestSignSizeProtocolAndErrors(t *testing.T) {
	f := newFixture(t)
	auth, _ := f.slots()
	s := f.open1(auth, false)
	f.login(s, sim.DefaultAuthPIN)
	key := f.privKey(s)
	pubObj := f.findClass(s, ck.CKO_PUBLIC_KEY)[0]
	cert := f.findClass(s, ck.CKO_CERTIFICATE)[0]

	_, _, err := f.m.Sign(s, []byte("x"), OutBuf{Len: 256})
	assert.Equal(t, "CKR_OPERATION_NOT_INITIALIZED", rv(err))

	require.NoError(t, f.m.SignInit(s, Mechanism{Type: ck.CKM_SHA256_RSA_PKCS}, key))
	assert.Equal(t, "CKR_OPERATION_ACTIVE", rv(f.m.SignInit(s, Mechanism{Type: ck.CKM_SHA256_RSA_PKCS}, key)))
	sigs := f.card.Stats().Signatures
	_, need, err := f.m.Sign(s, []byte("x"), OutBuf{Nil: true})
	require.NoError(t, err)
	assert.Equal(t, uint(256), need)
	_, need, err = f.m.Sign(s, []byte("x"), OutBuf{Len: 100})
	assert.Equal(t, "CKR_BUFFER_TOO_SMALL", rv(err))
	assert.Equal(t, uint(256), need)
	assert.Equal(t, sigs, f.card.Stats().Signatures, "size queries cost no signature")
	sig, n, err := f.m.Sign(s, []byte("x"), OutBuf{Len: 256})
	require.NoError(t, err)
	assert.Len(t, sig, 256)
	assert.Equal(t, uint(256), n)
	_, _, err = f.m.Sign(s, []byte("x"), OutBuf{Len: 256})
	assert.Equal(t, "CKR_OPERATION_NOT_INITIALIZED", rv(err), "the operation ended")

	// Too long for CKM_RSA_PKCS ends the operation.
	require.NoError(t, f.m.SignInit(s, Mechanism{Type: ck.CKM_RSA_PKCS}, key))
	_, _, err = f.m.Sign(s, make([]byte, 246), OutBuf{Len: 256})
	assert.Equal(t, "CKR_DATA_LEN_RANGE", rv(err))
	require.NoError(t, f.m.SignInit(s, Mechanism{Type: ck.CKM_RSA_PKCS}, key), "no stuck operation")
	_, _, err = f.m.Sign(s, make([]byte, 245), OutBuf{Len: 256})
	require.NoError(t, err)

	for _, tt := range []struct {
		name string
		mech Mechanism
		key  ObjectHandle
		want string
	}{
		{"PSS", Mechanism{Type: ck.CKM_RSA_PKCS_PSS}, key, "CKR_MECHANISM_INVALID"},
		{"OAEP", Mechanism{Type: ck.CKM_RSA_PKCS_OAEP}, key, "CKR_MECHANISM_INVALID"},
		{"param", Mechanism{Type: ck.CKM_SHA256_RSA_PKCS, Param: []byte{1}}, key, "CKR_MECHANISM_PARAM_INVALID"},
		{"bad handle", Mechanism{Type: ck.CKM_SHA256_RSA_PKCS}, 4242, "CKR_KEY_HANDLE_INVALID"},
		{"certificate", Mechanism{Type: ck.CKM_SHA256_RSA_PKCS}, cert, "CKR_KEY_HANDLE_INVALID"},
		{"public key", Mechanism{Type: ck.CKM_SHA256_RSA_PKCS}, pubObj, "CKR_KEY_FUNCTION_NOT_PERMITTED"},
	} {
		assert.Equal(t, tt.want, rv(f.m.SignInit(s, tt.mech, tt.key)), tt.name)
	}
	assert.Equal(t, "CKR_KEY_FUNCTION_NOT_PERMITTED", rv(f.m.VerifyInit(s, Mechanism{Type: ck.CKM_SHA256_RSA_PKCS}, key)))

	// Signing needs login.
	require.NoError(t, f.m.Logout(s))
	assert.Equal(t, "CKR_USER_NOT_LOGGED_IN", rv(f.m.SignInit(s, Mechanism{Type: ck.CKM_SHA256_RSA_PKCS}, key)))

	// A key of the other token is not a key of this session.
	_, sign := f.slots()
	ss := f.open1(sign, false)
	assert.Equal(t, "CKR_KEY_HANDLE_INVALID", rv(f.m.SignInit(ss, Mechanism{Type: ck.CKM_SHA256_RSA_PKCS}, key)))
}

func TestDigest(t *testing.T) {
	f := newFixture(t)
	auth, _ := f.slots()
	s := f.open1(auth, false)
	for mech, h := range hashes {
		hh := h.New()
		hh.Write([]byte("abc"))
		want := hh.Sum(nil)
		require.NoError(t, f.m.DigestInit(s, Mechanism{Type: mech}))
		_, n, err := f.m.Digest(s, []byte("abc"), OutBuf{Nil: true})
		require.NoError(t, err)
		assert.Equal(t, uint(len(want)), n)
		_, _, err = f.m.Digest(s, []byte("abc"), OutBuf{Len: 1})
		assert.Equal(t, "CKR_BUFFER_TOO_SMALL", rv(err))
		got, _, err := f.m.Digest(s, []byte("abc"), OutBuf{Len: 64})
		require.NoError(t, err)
		assert.Equal(t, want, got, ck.MechName(uint(mech)))

		require.NoError(t, f.m.DigestInit(s, Mechanism{Type: mech}))
		require.NoError(t, f.m.DigestUpdate(s, []byte("a")))
		require.NoError(t, f.m.DigestUpdate(s, []byte("bc")))
		got, _, err = f.m.DigestFinal(s, OutBuf{Len: 64})
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	assert.Equal(t, "CKR_MECHANISM_INVALID", rv(f.m.DigestInit(s, Mechanism{Type: ck.CKM_MD5})))
	require.NoError(t, f.m.DigestInit(s, Mechanism{Type: ck.CKM_SHA256}))
	assert.Equal(t, "CKR_OPERATION_ACTIVE", rv(f.m.DigestInit(s, Mechanism{Type: ck.CKM_SHA256})))
}

func TestMechanisms(t *testing.T) {
	f := newFixture(t)
	auth, sign := f.slots()
	for _, slot := range []SlotID{auth, sign} {
		list, err := f.m.MechanismList(slot)
		require.NoError(t, err)
		assert.ElementsMatch(t, mechanisms, list)
		info, err := f.m.MechanismInfo(slot, ck.CKM_SHA256_RSA_PKCS)
		require.NoError(t, err)
		assert.Equal(t, MechanismInfo{2048, 2048, ck.CKF_HW | ck.CKF_SIGN | ck.CKF_VERIFY}, info)
		info, err = f.m.MechanismInfo(slot, ck.CKM_SHA384)
		require.NoError(t, err)
		assert.Equal(t, uint(ck.CKF_DIGEST), info.Flags)
		_, err = f.m.MechanismInfo(slot, ck.CKM_RSA_PKCS_PSS)
		assert.Equal(t, "CKR_MECHANISM_INVALID", rv(err))
	}
}
