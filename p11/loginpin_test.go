package p11

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// C_Login's codes for a malformed PIN are the ones browsers ask again
// after, and the message says what was wrong and that the card was not
// asked; C_SetPIN keeps CKR_PIN_INVALID.
func TestLoginPINError(t *testing.T) {
	tests := []struct {
		name string
		sign bool
		pin  string
		rv   uint
		msg  string
	}{
		{"auth length", false, "12345", ck.CKR_PIN_LEN_RANGE, "the authentication PIN has 5 characters, it must have exactly 4 digits"},
		{"auth letter", false, "12a4", ck.CKR_PIN_INCORRECT, "the authentication PIN must be 4 digits 0-9 (not sent to the card, no try spent"},
		{"sign symbol", true, "ABC-123", ck.CKR_PIN_INCORRECT, "the signature password may only contain letters A-Z and digits 0-9 (not sent to the card"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CheckPIN(tc.sign, []byte(tc.pin))
			require.Error(t, err)
			err = loginPINError(err)
			assert.Equal(t, ck.Name(tc.rv), ck.Name(ck.RV(err)))
			assert.Contains(t, err.Error(), tc.msg)
			assert.Contains(t, err.Error(), "no try spent")
			assert.NotContains(t, err.Error(), tc.pin)
		})
	}
	f := newFixture(t)
	auth, _ := f.slots()
	rw := f.open1(auth, true)
	assert.Equal(t, "CKR_PIN_INVALID", rv(f.m.SetPIN(rw, []byte("1234"), []byte("12x4"))))
}
