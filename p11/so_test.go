package p11

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// The tokens have no security officer: C_Login(CKU_SO) is refused with
// CKR_USER_TYPE_INVALID without a VERIFY, and no CKF_SO_PIN_* flag is set
// whatever the state of the user PIN (fresh, count low, locked).
func TestNoSecurityOfficer(t *testing.T) {
	const soFlags = ck.CKF_SO_PIN_COUNT_LOW | ck.CKF_SO_PIN_FINAL_TRY | ck.CKF_SO_PIN_LOCKED | ck.CKF_SO_PIN_TO_BE_CHANGED
	f := newFixture(t)
	auth, sign := f.slots()
	for _, slot := range []SlotID{auth, sign} {
		s := f.open1(slot, true)
		verifies := f.card.Stats().Verifies
		assert.Equal(t, "CKR_USER_TYPE_INVALID", rv(f.m.Login(s, ck.CKU_SO, []byte("12345678"))))
		assert.Equal(t, verifies, f.card.Stats().Verifies, "no VERIFY for CKU_SO")
		info, err := f.m.TokenInfo(slot)
		require.NoError(t, err)
		assert.Zero(t, info.Flags&soFlags, "slot %d", slot)
	}
	s := f.open1(auth, false)
	for i, want := range []uint{ck.CKF_USER_PIN_COUNT_LOW, ck.CKF_USER_PIN_FINAL_TRY, ck.CKF_USER_PIN_LOCKED} {
		f.m.Login(s, ck.CKU_USER, []byte("9999"))
		info, err := f.m.TokenInfo(auth)
		require.NoError(t, err)
		assert.NotZero(t, info.Flags&want, "after %d wrong PINs", i+1)
		assert.Zero(t, info.Flags&soFlags, "after %d wrong PINs", i+1)
	}
}
