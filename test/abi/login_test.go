package abi

import (
	"strings"
	"testing"

	"github.com/miekg/pkcs11"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Simulator key numbers for triesLeft.
const (
	simAuth = 1
	simSign = 2
)

func TestMalformedPINSpendsNoTry(t *testing.T) {
	tests := []struct {
		name string
		sign bool
		pin  string
	}{
		{"auth too short", false, "123"},
		{"auth too long", false, "12345"},
		{"auth empty", false, ""},
		{"auth letter", false, "12a4"},
		{"auth symbol", false, "12-4"},
		{"sign too short", true, "ABC12"},
		{"sign too long", true, strings.Repeat("A", 17)},
		{"sign symbol", true, "ABC-123"},
		{"sign non-ASCII", true, "ABC12あ"},
	}
	state := start(t)
	auth, sign := slots(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			slot, key, max := auth, simAuth, 3
			if tc.sign {
				slot, key, max = sign, simSign, 5
			}
			s := session(t, slot)
			err := ctx.Login(s, pkcs11.CKU_USER, tc.pin)
			assert.Equal(t, pkcs11.Error(pkcs11.CKR_PIN_INCORRECT), err, "every malformed PIN is a wrong PIN to C_Login: NSS asks again only after this code")
			assert.Equal(t, max, triesLeft(t, state, key), "a malformed PIN must not reach the card")
		})
	}
	// A NULL PIN (no protected authentication path) is malformed too.
	s := session(t, auth)
	assert.Equal(t, rvName(pkcs11.CKR_PIN_INCORRECT), rvName(RawLogin(uint(s), pkcs11.CKU_USER, nil, 0)))
	assert.Equal(t, 3, triesLeft(t, state, simAuth))
}

func TestLowerCaseSignPasswordIsUpperCased(t *testing.T) {
	state := start(t)
	_, sign := slots(t)
	s := session(t, sign)
	require.NoError(t, ctx.Login(s, pkcs11.CKU_USER, strings.ToLower(signPIN)))
	assert.Equal(t, 5, triesLeft(t, state, simSign))
}

func tokenFlags(t *testing.T, slot uint) uint {
	t.Helper()
	ti, err := ctx.GetTokenInfo(slot)
	require.NoError(t, err)
	return ti.Flags
}

// pinFlags keeps the three retry flags of a token's flags.
func pinFlags(f uint) uint {
	return f & (pkcs11.CKF_USER_PIN_COUNT_LOW | pkcs11.CKF_USER_PIN_FINAL_TRY | pkcs11.CKF_USER_PIN_LOCKED)
}

func TestWrongPINsLockTheToken(t *testing.T) {
	const (
		low   = pkcs11.CKF_USER_PIN_COUNT_LOW
		final = pkcs11.CKF_USER_PIN_FINAL_TRY
		lock  = pkcs11.CKF_USER_PIN_LOCKED
	)
	tests := []struct {
		name      string
		sign      bool
		wrong     string
		right     string
		key       int
		wantFlags []uint // after 1, 2, ... wrong PINs
	}{
		{"auth PIN, 3 tries", false, "0000", authPIN, simAuth, []uint{low, low | final, lock}},
		{"sign password, 5 tries", true, "WRONG1", signPIN, simSign, []uint{low, low, low, low | final, lock}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			state := start(t)
			auth, sign := slots(t)
			slot := auth
			if tc.sign {
				slot = sign
			}
			s := session(t, slot)
			max := len(tc.wantFlags)
			for i, want := range tc.wantFlags {
				err := ctx.Login(s, pkcs11.CKU_USER, tc.wrong)
				if i < max-1 {
					assert.Equal(t, pkcs11.Error(pkcs11.CKR_PIN_INCORRECT), err, "wrong PIN %d", i+1)
				} else {
					assert.Contains(t, []error{pkcs11.Error(pkcs11.CKR_PIN_INCORRECT), pkcs11.Error(pkcs11.CKR_PIN_LOCKED)}, err, "last wrong PIN")
				}
				assert.Equal(t, max-i-1, triesLeft(t, state, tc.key), "card counter after %d wrong PINs", i+1)
				assert.Equal(t, want, pinFlags(tokenFlags(t, slot)), "token flags after %d wrong PINs", i+1)
			}
			assert.Equal(t, pkcs11.Error(pkcs11.CKR_PIN_LOCKED), ctx.Login(s, pkcs11.CKU_USER, tc.right), "the right PIN no longer helps")
			assert.Equal(t, 0, triesLeft(t, state, tc.key))
		})
	}
}

func TestGoodLoginResetsTheCounter(t *testing.T) {
	state := start(t)
	auth, _ := slots(t)
	s := session(t, auth)
	assert.Equal(t, pkcs11.Error(pkcs11.CKR_PIN_INCORRECT), ctx.Login(s, pkcs11.CKU_USER, "9999"))
	assert.Equal(t, 2, triesLeft(t, state, simAuth))
	require.NoError(t, ctx.Login(s, pkcs11.CKU_USER, authPIN))
	assert.Equal(t, 3, triesLeft(t, state, simAuth))
	assert.Zero(t, pinFlags(tokenFlags(t, auth)))
	assert.Equal(t, pkcs11.Error(pkcs11.CKR_USER_ALREADY_LOGGED_IN), ctx.Login(s, pkcs11.CKU_USER, authPIN))
	require.NoError(t, ctx.Logout(s))
	assert.Equal(t, pkcs11.Error(pkcs11.CKR_USER_NOT_LOGGED_IN), ctx.Logout(s))
}

func TestSOLoginIsRefused(t *testing.T) {
	state := start(t)
	auth, _ := slots(t)
	s := session(t, auth)
	err := ctx.Login(s, pkcs11.CKU_SO, authPIN)
	assert.Error(t, err)
	assert.Equal(t, 3, triesLeft(t, state, simAuth))
}

func TestLoginStateIsSharedAndEndsWithTheSessions(t *testing.T) {
	start(t)
	auth, _ := slots(t)
	s1 := session(t, auth)
	s2 := session(t, auth)
	require.NoError(t, ctx.Login(s1, pkcs11.CKU_USER, authPIN))
	info, err := ctx.GetSessionInfo(s2)
	require.NoError(t, err)
	assert.Equal(t, uint(pkcs11.CKS_RO_USER_FUNCTIONS), info.State, "login applies to every session of the token")
	require.NoError(t, ctx.CloseAllSessions(auth))
	_, err = ctx.GetSessionInfo(s1)
	assert.Equal(t, pkcs11.Error(pkcs11.CKR_SESSION_HANDLE_INVALID), err)
	s3 := session(t, auth)
	info, err = ctx.GetSessionInfo(s3)
	require.NoError(t, err)
	assert.Equal(t, uint(pkcs11.CKS_RO_PUBLIC_SESSION), info.State, "closing every session logs out")
}

func TestSetPIN(t *testing.T) {
	state := start(t)
	auth, _ := slots(t)
	ro := session(t, auth)
	assert.Equal(t, pkcs11.Error(pkcs11.CKR_SESSION_READ_ONLY), ctx.SetPIN(ro, authPIN, "4321"))

	rw, err := ctx.OpenSession(auth, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	require.NoError(t, err)
	t.Cleanup(func() { _ = ctx.CloseSession(rw) })
	assert.Equal(t, pkcs11.Error(pkcs11.CKR_PIN_LEN_RANGE), ctx.SetPIN(rw, authPIN, "12345"), "malformed new PIN")
	assert.Equal(t, 3, triesLeft(t, state, simAuth), "a malformed new PIN spends no try")
	assert.Equal(t, pkcs11.Error(pkcs11.CKR_PIN_INCORRECT), ctx.SetPIN(rw, "0000", "4321"), "wrong old PIN")
	assert.Equal(t, 2, triesLeft(t, state, simAuth))

	require.NoError(t, ctx.SetPIN(rw, authPIN, "4321"))
	assert.Equal(t, 3, triesLeft(t, state, simAuth))
	_ = ctx.Logout(rw)
	assert.Equal(t, pkcs11.Error(pkcs11.CKR_PIN_INCORRECT), ctx.Login(rw, pkcs11.CKU_USER, authPIN), "the old PIN is gone")
	require.NoError(t, ctx.Login(rw, pkcs11.CKU_USER, "4321"), "the new PIN works")
}

func TestLoginUserAndSessionCancelReachTheCore(t *testing.T) {
	start(t)
	auth, _ := slots(t)
	assert.Equal(t, rvName(pkcs11.CKR_SESSION_HANDLE_INVALID), rvName(RawLoginUser(0xdead, pkcs11.CKU_USER, []byte(authPIN), nil)))
	assert.Equal(t, rvName(pkcs11.CKR_SESSION_HANDLE_INVALID), rvName(RawSessionCancel(0xdead, pkcs11.CKF_SIGN)))
	s := session(t, auth)
	assert.Equal(t, rvName(pkcs11.CKR_OK), rvName(RawSessionCancel(uint(s), pkcs11.CKF_SIGN)), "cancelling nothing is fine")
}
