package p11

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// C_Login answers every malformed PIN CKR_PIN_INCORRECT, the code after
// which NSS asks again, and the message says what was wrong and that the
// card was not asked, never the PIN; C_SetPIN keeps the policy's codes.
func TestLoginPINError(t *testing.T) {
	tests := []struct {
		name string
		sign bool
		pin  string
		msg  string
	}{
		{"auth short", false, "123", "the authentication PIN has 3 characters, it must have exactly 4 digits (not sent to the card, no try spent"},
		{"auth long", false, "12345", "the authentication PIN has 5 characters, it must have exactly 4 digits (not sent to the card, no try spent"},
		{"auth empty", false, "", "the authentication PIN has 0 characters, it must have exactly 4 digits (not sent to the card, no try spent"},
		{"auth letter", false, "12a4", "the authentication PIN must be 4 digits 0-9 (not sent to the card, no try spent"},
		{"sign short", true, "ABC12", "the signature password has 5 characters, it must have 6 to 16 (not sent to the card"},
		{"sign symbol", true, "ABC-123", "the signature password may only contain letters A-Z and digits 0-9 (not sent to the card"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CheckPIN(keyOf(tc.sign), []byte(tc.pin))
			require.Error(t, err)
			err = loginPINError(err)
			assert.Equal(t, "CKR_PIN_INCORRECT", ck.Name(ck.RV(err)))
			assert.Contains(t, err.Error(), tc.msg)
			assert.NotContains(t, err.Error(), "CKR_PIN_LEN_RANGE")
			assert.NotContains(t, err.Error(), "CKR_PIN_INVALID")
			if tc.pin != "" {
				assert.NotContains(t, err.Error(), tc.pin)
			}
		})
	}
	f := newFixture(t)
	auth, _ := f.slots()
	rw := f.open1(auth, true)
	assert.Equal(t, "CKR_PIN_INVALID", rv(f.m.SetPIN(rw, []byte("1234"), []byte("12x4"))))
	assert.Equal(t, "CKR_PIN_LEN_RANGE", rv(f.m.SetPIN(rw, []byte("1234"), []byte("123"))))
}
