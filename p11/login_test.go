package p11

import (
	"errors"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/jpki"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// Every malformed PIN is a wrong PIN to C_Login (NSS asks again only
// after CKR_PIN_INCORRECT, see loginPINError), and none reaches the card.
func TestPINPolicyBeforeCard(t *testing.T) {
	tests := []struct {
		name string
		sign bool
		pin  []byte
	}{
		{"auth NULL", false, nil},
		{"auth empty", false, []byte{}},
		{"auth short", false, []byte("123")},
		{"auth long", false, []byte("12345")},
		{"auth letter", false, []byte("12a4")},
		{"auth space", false, []byte("12 4")},
		{"sign NULL", true, nil},
		{"sign 5", true, []byte("ABC12")},
		{"sign 17", true, []byte("ABCDEFGH123456789")},
		{"sign symbol", true, []byte("ABC-123")},
		{"sign non-ASCII", true, []byte("ABC12\xe3")},
	}
	f := newFixture(t)
	auth, sign := f.slots()
	sa, ss := f.open1(auth, false), f.open1(sign, false)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sa
			if tt.sign {
				s = ss
			}
			before := f.card.Stats()
			assert.Equal(t, "CKR_PIN_INCORRECT", rv(f.m.Login(s, ck.CKU_USER, tt.pin)))
			after := f.card.Stats()
			assert.Equal(t, before.APDUs, after.APDUs, "nothing reached the card")
			assert.Equal(t, 3, f.card.TriesLeft(1))
			assert.Equal(t, 5, f.card.TriesLeft(2))
		})
	}
}

func TestLoginAndStates(t *testing.T) {
	f := newFixture(t)
	auth, sign := f.slots()
	ro, rw := f.open1(auth, false), f.open1(auth, true)
	other := f.open1(sign, false)
	state := func(s SessionHandle) uint {
		info, err := f.m.SessionInfo(s)
		require.NoError(t, err)
		return info.State
	}
	assert.Equal(t, uint(ck.CKS_RO_PUBLIC_SESSION), state(ro))
	assert.Equal(t, uint(ck.CKS_RW_PUBLIC_SESSION), state(rw))

	assert.Equal(t, "CKR_USER_TYPE_INVALID", rv(f.m.Login(ro, ck.CKU_SO, []byte("1234"))))
	assert.Equal(t, "CKR_USER_TYPE_INVALID", rv(f.m.Login(ro, 7, []byte("1234"))))
	assert.Equal(t, "CKR_OPERATION_NOT_INITIALIZED", rv(f.m.Login(ro, ck.CKU_CONTEXT_SPECIFIC, []byte("1234"))))
	assert.Equal(t, "CKR_USER_NOT_LOGGED_IN", rv(f.m.Logout(ro)))

	f.login(ro, sim.DefaultAuthPIN)
	assert.Equal(t, uint(ck.CKS_RO_USER_FUNCTIONS), state(ro))
	assert.Equal(t, uint(ck.CKS_RW_USER_FUNCTIONS), state(rw), "login is shared by the token's sessions")
	assert.Equal(t, uint(ck.CKS_RO_PUBLIC_SESSION), state(other), "the other token is not logged in")
	assert.Equal(t, "CKR_USER_ALREADY_LOGGED_IN", rv(f.m.Login(rw, ck.CKU_USER, []byte(sim.DefaultAuthPIN))))

	// Context-specific login re-verifies during a signature.
	key := f.privKey(ro)
	require.NoError(t, f.m.SignInit(ro, Mechanism{Type: ck.CKM_SHA256_RSA_PKCS}, key))
	v := f.card.Stats().Verifies
	require.NoError(t, f.m.Login(ro, ck.CKU_CONTEXT_SPECIFIC, []byte(sim.DefaultAuthPIN)))
	assert.Equal(t, v+1, f.card.Stats().Verifies)
	_, _, err := f.m.Sign(ro, []byte("data"), OutBuf{Len: 256})
	require.NoError(t, err)

	// Logout really drops the PIN on the card.
	require.NoError(t, f.m.Logout(rw))
	assert.Equal(t, uint(ck.CKS_RO_PUBLIC_SESSION), state(ro))
	assertCardForgotPIN(t, f)
}

// assertCardForgotPIN signs through a separate connection: the card must
// refuse because no PIN is verified.
func assertCardForgotPIN(t *testing.T, f *fixture) {
	t.Helper()
	ctx := sim.NewContext(f.r)
	tr, err := ctx.Connect(f.r.Name())
	require.NoError(t, err)
	defer tr.Close()
	cl := jpki.NewClient(tr)
	_, err = cl.Sign(cardos.AuthKey, []byte{0x01})
	assert.True(t, errors.Is(err, cardos.ErrPINRequired), "the card still has the PIN verified: %v", err)
}

func TestLastSessionCloseLogsOut(t *testing.T) {
	f := newFixture(t)
	auth, _ := f.slots()
	s1, s2 := f.open1(auth, false), f.open1(auth, false)
	f.login(s1, sim.DefaultAuthPIN)
	require.NoError(t, f.m.CloseSession(s1))
	info, err := f.m.SessionInfo(s2)
	require.NoError(t, err)
	assert.Equal(t, uint(ck.CKS_RO_USER_FUNCTIONS), info.State)
	require.NoError(t, f.m.CloseAllSessions(auth))
	assertCardForgotPIN(t, f)
	_, err = f.m.SessionInfo(s2)
	assert.Equal(t, "CKR_SESSION_HANDLE_INVALID", rv(err))
}

func TestFinalizeLogsOutCard(t *testing.T) {
	f := newFixture(t)
	auth, _ := f.slots()
	f.login(f.open1(auth, false), sim.DefaultAuthPIN)
	require.NoError(t, f.m.Finalize())
	assertCardForgotPIN(t, f)
}

func TestAuthLockout(t *testing.T) {
	f := newFixture(t)
	auth, _ := f.slots()
	s := f.open1(auth, false)
	flags := func() uint {
		info, err := f.m.TokenInfo(auth)
		require.NoError(t, err)
		return info.Flags & (ck.CKF_USER_PIN_COUNT_LOW | ck.CKF_USER_PIN_FINAL_TRY | ck.CKF_USER_PIN_LOCKED)
	}
	assert.Zero(t, flags())
	v0 := f.card.Stats().Verifies
	assert.Equal(t, "CKR_PIN_INCORRECT", rv(f.m.Login(s, ck.CKU_USER, []byte("0000"))))
	assert.Equal(t, uint(ck.CKF_USER_PIN_COUNT_LOW), flags())
	assert.Equal(t, "CKR_PIN_INCORRECT", rv(f.m.Login(s, ck.CKU_USER, []byte("0000"))))
	assert.Equal(t, uint(ck.CKF_USER_PIN_COUNT_LOW|ck.CKF_USER_PIN_FINAL_TRY), flags())
	assert.Equal(t, 1, f.card.TriesLeft(1))
	assert.Equal(t, "CKR_PIN_LOCKED", rv(f.m.Login(s, ck.CKU_USER, []byte("0000"))))
	assert.Equal(t, uint(ck.CKF_USER_PIN_LOCKED), flags())
	assert.Equal(t, v0+3, f.card.Stats().Verifies)
	// Locked: even the right PIN does not reach the card.
	assert.Equal(t, "CKR_PIN_LOCKED", rv(f.m.Login(s, ck.CKU_USER, []byte(sim.DefaultAuthPIN))))
	assert.Equal(t, v0+3, f.card.Stats().Verifies, "no VERIFY on a locked PIN")
	// TokenInfo never spends a try.
	assert.Equal(t, 0, f.card.TriesLeft(1))
	assert.Equal(t, 5, f.card.TriesLeft(2))
}

func TestSignLockoutAndLowercase(t *testing.T) {
	f := newFixture(t)
	_, sign := f.slots()
	s := f.open1(sign, false)
	flags := func() uint {
		info, err := f.m.TokenInfo(sign)
		require.NoError(t, err)
		return info.Flags & (ck.CKF_USER_PIN_COUNT_LOW | ck.CKF_USER_PIN_FINAL_TRY | ck.CKF_USER_PIN_LOCKED)
	}
	for i := 1; i <= 3; i++ {
		assert.Equal(t, "CKR_PIN_INCORRECT", rv(f.m.Login(s, ck.CKU_USER, []byte("WRONG1"))))
		assert.Equal(t, uint(ck.CKF_USER_PIN_COUNT_LOW), flags(), "after %d wrong", i)
	}
	assert.Equal(t, "CKR_PIN_INCORRECT", rv(f.m.Login(s, ck.CKU_USER, []byte("WRONG1"))))
	assert.Equal(t, uint(ck.CKF_USER_PIN_COUNT_LOW|ck.CKF_USER_PIN_FINAL_TRY), flags())
	// Lower case is upper-cased: the right password in lower case works and
	// restores the counter.
	f.login(s, "abc123")
	assert.Zero(t, flags())
	require.NoError(t, f.m.Logout(s))
	for range 4 {
		f.m.Login(s, ck.CKU_USER, []byte("WRONG1"))
	}
	assert.Equal(t, "CKR_PIN_LOCKED", rv(f.m.Login(s, ck.CKU_USER, []byte("WRONG1"))))
	assert.Equal(t, uint(ck.CKF_USER_PIN_LOCKED), flags())
	assert.Equal(t, 3, f.card.TriesLeft(1), "the auth PIN is untouched")
}

func TestSetPIN(t *testing.T) {
	f := newFixture(t)
	auth, sign := f.slots()
	ro, rw := f.open1(auth, false), f.open1(auth, true)
	assert.Equal(t, "CKR_SESSION_READ_ONLY", rv(f.m.SetPIN(ro, []byte("1234"), []byte("5678"))))

	before := f.card.Stats().APDUs
	assert.Equal(t, "CKR_PIN_LEN_RANGE", rv(f.m.SetPIN(rw, []byte("1234"), []byte("567"))))
	assert.Equal(t, "CKR_PIN_INVALID", rv(f.m.SetPIN(rw, []byte("12x4"), []byte("5678"))))
	assert.Equal(t, before, f.card.Stats().APDUs, "malformed PINs never reach the card")

	assert.Equal(t, "CKR_PIN_INCORRECT", rv(f.m.SetPIN(rw, []byte("9999"), []byte("5678"))))
	require.NoError(t, f.m.SetPIN(rw, []byte("1234"), []byte("5678")))
	assert.Equal(t, 3, f.card.TriesLeft(1))
	assertCardForgotPIN(t, f) // not logged in before: not logged in after
	assert.Equal(t, "CKR_PIN_INCORRECT", rv(f.m.Login(ro, ck.CKU_USER, []byte("1234"))))
	f.login(ro, "5678")

	srw := f.open1(sign, true)
	require.NoError(t, f.m.SetPIN(srw, []byte("abc123"), []byte("newpass9")))
	ss := f.open1(sign, false)
	f.login(ss, "NEWPASS9")
}

func TestInitTokenAndPINUnsupported(t *testing.T) {
	f := newFixture(t)
	auth, _ := f.slots()
	s := f.open1(auth, true)
	assert.Equal(t, "CKR_FUNCTION_NOT_SUPPORTED", rv(f.m.InitToken(auth, []byte("1234"), []byte("x"))))
	assert.Equal(t, "CKR_FUNCTION_NOT_SUPPORTED", rv(f.m.InitPIN(s, []byte("1234"))))
	assert.Equal(t, "CKR_SLOT_ID_INVALID", rv(f.m.InitToken(77, nil, nil)))
	assert.Equal(t, "CKR_SESSION_HANDLE_INVALID", rv(f.m.InitPIN(9999, nil)))
	assert.Equal(t, "CKR_RANDOM_NO_RNG", rv(f.m.SeedRandom(s, []byte{1})))
	err := f.m.GenerateRandom(s)
	assert.Equal(t, "CKR_RANDOM_NO_RNG", rv(err))
}

func TestNoSignCertCard(t *testing.T) {
	f := newFixture(t)
	f.r.Insert(genCard(t, "nosign"))
	_, sign := f.slots()
	s := f.open1(sign, false)
	f.login(s, sim.DefaultSignPIN)
	assert.Empty(t, f.findClass(s, ck.CKO_PRIVATE_KEY), "no signature key on a card without signature certificate")
	assert.Empty(t, f.findClass(s, ck.CKO_PUBLIC_KEY))
	certs := f.findClass(s, ck.CKO_CERTIFICATE)
	require.Len(t, certs, 1, "only the CA certificate")
	assert.Equal(t, ulong(ck.CK_CERTIFICATE_CATEGORY_AUTHORITY), f.attr(s, certs[0], ck.CKA_CERTIFICATE_CATEGORY))
	info, err := f.m.TokenInfo(sign)
	require.NoError(t, err)
	assert.Equal(t, "My Number Card (Sign: none)", info.Label)
	assert.Zero(t, info.Flags&ck.CKF_USER_PIN_INITIALIZED)
	require.NoError(t, f.m.Logout(s))
	assert.Equal(t, "CKR_USER_PIN_NOT_INITIALIZED", rv(f.m.Login(s, ck.CKU_USER, []byte(sim.DefaultSignPIN))))
}

func TestFaceAuthCard(t *testing.T) {
	f := newFixture(t)
	face := genCard(t, "face")
	f.r.Insert(face)
	auth, sign := f.slots()
	for slot, pin := range map[SlotID]string{auth: "1234", sign: "ABC123"} {
		info, err := f.m.TokenInfo(slot)
		require.NoError(t, err)
		assert.NotZero(t, info.Flags&ck.CKF_USER_PIN_LOCKED)
		s := f.open1(slot, false)
		v := face.Stats().Verifies
		assert.Equal(t, "CKR_PIN_LOCKED", rv(f.m.Login(s, ck.CKU_USER, []byte(pin))))
		assert.Equal(t, v, face.Stats().Verifies)
	}
}

func TestNoSignCertKnownBeforeLogin(t *testing.T) {
	f := newFixture(t)
	card := genCard(t, "nosign")
	require.NoError(t, card.SetQuirks(sim.Quirks{NoSignCertEF: sim.SignEFAbsent}))
	f.r.Insert(card)
	_, sign := f.slots()
	info, err := f.m.TokenInfo(sign)
	require.NoError(t, err)
	assert.Equal(t, "My Number Card (Sign: none)", info.Label)
	s := f.open1(sign, false)
	v := card.Stats().Verifies
	assert.Equal(t, "CKR_USER_PIN_NOT_INITIALIZED", rv(f.m.Login(s, ck.CKU_USER, []byte(sim.DefaultSignPIN))))
	assert.Equal(t, v, card.Stats().Verifies)
}

func TestLogNeverHoldsPINs(t *testing.T) {
	path := t.TempDir() + "/p11.log"
	t.Setenv("MYNA_PKCS11_DEBUG", "2")
	t.Setenv("MYNA_PKCS11_LOG", path)
	f := newFixture(t)
	auth, sign := f.slots()
	sa, ss := f.open1(auth, true), f.open1(sign, true)
	assert.Equal(t, "CKR_PIN_INCORRECT", rv(f.m.Login(sa, ck.CKU_USER, []byte("9876"))))
	assert.Equal(t, "CKR_PIN_INCORRECT", rv(f.m.Login(sa, ck.CKU_USER, []byte("98x6"))))
	f.login(ss, "abc123")
	assert.Equal(t, "CKR_PIN_INCORRECT", rv(f.m.SetPIN(sa, []byte("5555"), []byte("4444"))))
	require.NoError(t, f.m.Finalize())
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	log := string(b)
	assert.Contains(t, log, "C_Login")
	assert.Contains(t, log, "CKR_PIN_INCORRECT")
	for _, secret := range []string{"9876", "98x6", "abc123", "ABC123", "5555", "4444"} {
		assert.NotContains(t, log, secret)
	}
	assert.NotContains(t, log, string(f.card.Certificates().SignCert[:40]))
}
