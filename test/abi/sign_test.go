package abi

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"fmt"
	"sync"
	"testing"

	"github.com/miekg/pkcs11"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/pkcs1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// signMechs maps each signing mechanism to the hash it applies (0: the
// caller passes a DigestInfo to CKM_RSA_PKCS).
var signMechs = map[uint]crypto.Hash{
	pkcs11.CKM_RSA_PKCS:        0,
	pkcs11.CKM_SHA1_RSA_PKCS:   crypto.SHA1,
	pkcs11.CKM_SHA224_RSA_PKCS: crypto.SHA224,
	pkcs11.CKM_SHA256_RSA_PKCS: crypto.SHA256,
	pkcs11.CKM_SHA384_RSA_PKCS: crypto.SHA384,
	pkcs11.CKM_SHA512_RSA_PKCS: crypto.SHA512,
}

// verifySig checks sig over msg made with mech against pub.
func verifySig(t *testing.T, pub *rsa.PublicKey, mech uint, msg, sig []byte) {
	t.Helper()
	h, ok := signMechs[mech]
	require.True(t, ok, "mechanism 0x%x: add it to signMechs", mech)
	if h == 0 { // CKM_RSA_PKCS: msg is the DigestInfo itself
		require.NoError(t, rsa.VerifyPKCS1v15(pub, 0, msg, sig), "mechanism 0x%x", mech)
		return
	}
	d := h.New()
	d.Write(msg)
	require.NoError(t, rsa.VerifyPKCS1v15(pub, h, d.Sum(nil), sig), "mechanism 0x%x", mech)
}

// signer is a logged-in session on one token and the public key of its
// certificate.
type signer struct {
	s    pkcs11.SessionHandle
	key  pkcs11.ObjectHandle
	pub  *rsa.PublicKey
	slot uint
}

func loggedIn(t *testing.T, signToken bool) signer {
	t.Helper()
	state := start(t)
	auth, sign := slots(t)
	slot, pin, der := auth, authPIN, certs(t, state).AuthCert
	if signToken {
		slot, pin, der = sign, signPIN, certs(t, state).SignCert
	}
	s := session(t, slot)
	require.NoError(t, ctx.Login(s, pkcs11.CKU_USER, pin))
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return signer{s: s, key: one(t, s, pkcs11.CKO_PRIVATE_KEY), pub: cert.PublicKey.(*rsa.PublicKey), slot: slot}
}

func mech(m uint) []*pkcs11.Mechanism { return []*pkcs11.Mechanism{pkcs11.NewMechanism(m, nil)} }

func TestSignEveryMechanismBothKeys(t *testing.T) {
	msg := []byte("myna-pkcs11 ABI test message")
	sum := sha256.Sum256(msg)
	for _, signToken := range []bool{false, true} {
		t.Run(fmt.Sprintf("signToken=%v", signToken), func(t *testing.T) {
			sg := loggedIn(t, signToken)
			list, err := ctx.GetMechanismList(sg.slot)
			require.NoError(t, err)
			n := 0
			for _, m := range list {
				info, err := ctx.GetMechanismInfo(sg.slot, []*pkcs11.Mechanism{m})
				require.NoError(t, err)
				if info.Flags&pkcs11.CKF_SIGN == 0 {
					continue
				}
				n++
				input := msg
				if m.Mechanism == pkcs11.CKM_RSA_PKCS {
					input = pkcs1.DigestInfo(crypto.SHA256, sum[:])
				}
				require.NoError(t, ctx.SignInit(sg.s, mech(m.Mechanism), sg.key), "mechanism 0x%x", m.Mechanism)
				sig, err := ctx.Sign(sg.s, input)
				require.NoError(t, err, "mechanism 0x%x", m.Mechanism)
				assert.Len(t, sig, 256)
				verifySig(t, sg.pub, m.Mechanism, input, sig)
			}
			assert.Equal(t, len(signMechs), n, "every signing mechanism was exercised")
		})
	}
}

func TestSignTwoCallProtocol(t *testing.T) {
	sg := loggedIn(t, false)
	sh := uint(sg.s)
	msg := []byte("two-call")
	require.NoError(t, ctx.SignInit(sg.s, mech(pkcs11.CKM_SHA256_RSA_PKCS), sg.key))

	rv, n, _ := RawOut(OpSign, sh, msg, true, 0, false)
	require.Equal(t, rvName(pkcs11.CKR_OK), rvName(rv))
	assert.Equal(t, uint(256), n, "NULL buffer reports the signature length")

	rv, n, _ = RawOut(OpSign, sh, msg, false, 10, false)
	assert.Equal(t, rvName(pkcs11.CKR_BUFFER_TOO_SMALL), rvName(rv))
	assert.Equal(t, uint(256), n)

	rv, n, sig := RawOut(OpSign, sh, msg, false, 300, false)
	require.Equal(t, rvName(pkcs11.CKR_OK), rvName(rv), "the operation survived the size queries")
	assert.Equal(t, uint(256), n)
	verifySig(t, sg.pub, pkcs11.CKM_SHA256_RSA_PKCS, msg, sig)

	rv, _, _ = RawOut(OpSign, sh, msg, false, 300, false)
	assert.Equal(t, rvName(pkcs11.CKR_OPERATION_NOT_INITIALIZED), rvName(rv), "a finished signature ends the operation")
}

func TestMultiPartSign(t *testing.T) {
	sg := loggedIn(t, true)
	sh := uint(sg.s)
	parts := [][]byte{[]byte("part one, "), []byte("part two, "), {}, []byte("part three")}
	var whole []byte
	require.NoError(t, ctx.SignInit(sg.s, mech(pkcs11.CKM_SHA512_RSA_PKCS), sg.key))
	for _, p := range parts {
		require.NoError(t, ctx.SignUpdate(sg.s, p))
		whole = append(whole, p...)
	}
	rv, n, _ := RawOut(OpSignFinal, sh, nil, true, 0, false)
	require.Equal(t, rvName(pkcs11.CKR_OK), rvName(rv))
	assert.Equal(t, uint(256), n)
	rv, _, _ = RawOut(OpSignFinal, sh, nil, false, 255, false)
	assert.Equal(t, rvName(pkcs11.CKR_BUFFER_TOO_SMALL), rvName(rv))
	rv, _, sig := RawOut(OpSignFinal, sh, nil, false, 256, false)
	require.Equal(t, rvName(pkcs11.CKR_OK), rvName(rv))
	verifySig(t, sg.pub, pkcs11.CKM_SHA512_RSA_PKCS, whole, sig)
}

func TestVerify(t *testing.T) {
	sg := loggedIn(t, false)
	pub := one(t, sg.s, pkcs11.CKO_PUBLIC_KEY)
	msg := []byte("verify me")
	require.NoError(t, ctx.SignInit(sg.s, mech(pkcs11.CKM_SHA256_RSA_PKCS), sg.key))
	sig, err := ctx.Sign(sg.s, msg)
	require.NoError(t, err)

	require.NoError(t, ctx.VerifyInit(sg.s, mech(pkcs11.CKM_SHA256_RSA_PKCS), pub))
	assert.NoError(t, ctx.Verify(sg.s, msg, sig))

	bad := append([]byte{}, sig...)
	bad[10] ^= 1
	require.NoError(t, ctx.VerifyInit(sg.s, mech(pkcs11.CKM_SHA256_RSA_PKCS), pub))
	assert.Equal(t, pkcs11.Error(pkcs11.CKR_SIGNATURE_INVALID), ctx.Verify(sg.s, msg, bad))

	require.NoError(t, ctx.VerifyInit(sg.s, mech(pkcs11.CKM_SHA256_RSA_PKCS), pub))
	require.NoError(t, ctx.VerifyUpdate(sg.s, msg[:4]))
	require.NoError(t, ctx.VerifyUpdate(sg.s, msg[4:]))
	assert.NoError(t, ctx.VerifyFinal(sg.s, sig))
}

func TestOperationCleanupAfterErrors(t *testing.T) {
	sg := loggedIn(t, false)
	// CKM_RSA_PKCS input longer than k-11 bytes fails and ends the operation.
	require.NoError(t, ctx.SignInit(sg.s, mech(pkcs11.CKM_RSA_PKCS), sg.key))
	assert.Equal(t, pkcs11.Error(pkcs11.CKR_OPERATION_ACTIVE), ctx.SignInit(sg.s, mech(pkcs11.CKM_RSA_PKCS), sg.key))
	_, err := ctx.Sign(sg.s, make([]byte, 300))
	assert.Equal(t, pkcs11.Error(pkcs11.CKR_DATA_LEN_RANGE), err)
	_, err = ctx.Sign(sg.s, []byte("x"))
	assert.Equal(t, pkcs11.Error(pkcs11.CKR_OPERATION_NOT_INITIALIZED), err, "the failed C_Sign ended the operation")

	// A bad mechanism or key leaves no operation behind.
	assert.Equal(t, pkcs11.Error(pkcs11.CKR_MECHANISM_INVALID), ctx.SignInit(sg.s, mech(pkcs11.CKM_RSA_PKCS_OAEP), sg.key))
	assert.Equal(t, pkcs11.Error(pkcs11.CKR_KEY_HANDLE_INVALID), ctx.SignInit(sg.s, mech(pkcs11.CKM_SHA256_RSA_PKCS), 0xdead))
	require.NoError(t, ctx.SignInit(sg.s, mech(pkcs11.CKM_SHA256_RSA_PKCS), sg.key), "nothing was left active")
	sig, err := ctx.Sign(sg.s, []byte("after errors"))
	require.NoError(t, err)
	verifySig(t, sg.pub, pkcs11.CKM_SHA256_RSA_PKCS, []byte("after errors"), sig)

	// A mechanism parameter where none belongs.
	rv := RawSignInit(uint(sg.s), pkcs11.CKM_SHA256_RSA_PKCS, []byte{1, 2, 3}, 3, uint(sg.key), false)
	assert.Equal(t, rvName(pkcs11.CKR_MECHANISM_PARAM_INVALID), rvName(rv))
}

func TestSignNeedsLogin(t *testing.T) {
	start(t)
	auth, _ := slots(t)
	s := session(t, auth)
	// The private key is invisible before login, so use the public key's
	// handle: either way the signature must be refused.
	pub := one(t, s, pkcs11.CKO_PUBLIC_KEY)
	err := ctx.SignInit(s, mech(pkcs11.CKM_SHA256_RSA_PKCS), pub)
	if err == nil {
		_, err = ctx.Sign(s, []byte("x"))
	}
	assert.Error(t, err)
}

func TestDigest(t *testing.T) {
	start(t)
	auth, _ := slots(t)
	s := session(t, auth)
	sh := uint(s)
	msg := []byte("digest me")
	for m, want := range map[uint][]byte{
		pkcs11.CKM_SHA_1:  sha1Sum(msg),
		pkcs11.CKM_SHA256: sha256Sum(msg),
		pkcs11.CKM_SHA512: sha512Sum(msg),
	} {
		require.NoError(t, ctx.DigestInit(s, mech(m)))
		rv, n, _ := RawOut(OpDigest, sh, msg, true, 0, false)
		require.Equal(t, rvName(pkcs11.CKR_OK), rvName(rv))
		assert.Equal(t, uint(len(want)), n)
		rv, _, _ = RawOut(OpDigest, sh, msg, false, n-1, false)
		assert.Equal(t, rvName(pkcs11.CKR_BUFFER_TOO_SMALL), rvName(rv))
		rv, _, got := RawOut(OpDigest, sh, msg, false, n, false)
		require.Equal(t, rvName(pkcs11.CKR_OK), rvName(rv))
		assert.Equal(t, want, got, "mechanism 0x%x", m)

		require.NoError(t, ctx.DigestInit(s, mech(m)))
		require.NoError(t, ctx.DigestUpdate(s, msg[:3]))
		require.NoError(t, ctx.DigestUpdate(s, msg[3:]))
		rv, _, got = RawOut(OpDigestFinal, sh, nil, false, 64, false)
		require.Equal(t, rvName(pkcs11.CKR_OK), rvName(rv))
		assert.Equal(t, want, got, "multi-part mechanism 0x%x", m)
	}
}

func sha1Sum(b []byte) []byte   { s := sha1.Sum(b); return s[:] }
func sha256Sum(b []byte) []byte { s := sha256.Sum256(b); return s[:] }
func sha512Sum(b []byte) []byte { s := sha512.Sum512(b); return s[:] }

func TestNoRandomNumberGenerator(t *testing.T) {
	start(t)
	auth, _ := slots(t)
	s := session(t, auth)
	_, err := ctx.GenerateRandom(s, 16)
	assert.Equal(t, pkcs11.Error(pkcs11.CKR_RANDOM_NO_RNG), err)
	assert.Equal(t, pkcs11.Error(pkcs11.CKR_RANDOM_NO_RNG), ctx.SeedRandom(s, []byte("seed")), "no RNG takes priority over SEED_NOT_SUPPORTED")
}

func TestConcurrentCallsFromManyGoroutines(t *testing.T) {
	sg := loggedIn(t, false)
	auth := sg.slot
	const workers, rounds = 8, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			s, err := ctx.OpenSession(auth, pkcs11.CKF_SERIAL_SESSION)
			if err != nil {
				errs <- err
				return
			}
			defer ctx.CloseSession(s)
			for i := 0; i < rounds; i++ {
				if _, err := ctx.GetTokenInfo(auth); err != nil {
					errs <- fmt.Errorf("worker %d GetTokenInfo: %w", w, err)
				}
				if err := ctx.FindObjectsInit(s, []*pkcs11.Attribute{classOf(pkcs11.CKO_CERTIFICATE)}); err != nil {
					errs <- fmt.Errorf("worker %d FindObjectsInit: %w", w, err)
					continue
				}
				objs, _, err := ctx.FindObjects(s, 10)
				_ = ctx.FindObjectsFinal(s)
				if err != nil || len(objs) == 0 {
					errs <- fmt.Errorf("worker %d FindObjects: %v (%d objects)", w, err, len(objs))
					continue
				}
				if _, err := ctx.GetAttributeValue(s, objs[0], []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_VALUE, nil)}); err != nil {
					errs <- fmt.Errorf("worker %d GetAttributeValue: %w", w, err)
				}
				if w%2 == 0 { // half the workers sign (login is per token, shared by sessions)
					msg := []byte(fmt.Sprintf("worker %d round %d", w, i))
					if err := ctx.SignInit(s, mech(pkcs11.CKM_SHA256_RSA_PKCS), sg.key); err != nil {
						errs <- fmt.Errorf("worker %d SignInit: %w", w, err)
						continue
					}
					sig, err := ctx.Sign(s, msg)
					if err == nil {
						d := sha256.Sum256(msg)
						err = rsa.VerifyPKCS1v15(sg.pub, crypto.SHA256, d[:], sig)
					}
					if err != nil {
						errs <- fmt.Errorf("worker %d Sign: %w", w, err)
					}
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	assert.Empty(t, all)
}
