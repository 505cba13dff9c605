package p11

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

func TestCheckPIN(t *testing.T) {
	tests := []struct {
		name string
		sign bool
		pin  string
		want string
		rv   uint
	}{
		{"auth ok", false, "1234", "1234", ck.CKR_OK},
		{"auth short", false, "123", "", ck.CKR_PIN_LEN_RANGE},
		{"auth long", false, "12345", "", ck.CKR_PIN_LEN_RANGE},
		{"auth empty", false, "", "", ck.CKR_PIN_LEN_RANGE},
		{"auth letter", false, "12a4", "", ck.CKR_PIN_INVALID},
		{"sign ok", true, "ABC123", "ABC123", ck.CKR_OK},
		{"sign lower-case upper-cased", true, "abc123", "ABC123", ck.CKR_OK},
		{"sign 16", true, "ABCDEFGH12345678", "ABCDEFGH12345678", ck.CKR_OK},
		{"sign short", true, "ABC12", "", ck.CKR_PIN_LEN_RANGE},
		{"sign long", true, "ABCDEFGH123456789", "", ck.CKR_PIN_LEN_RANGE},
		{"sign symbol", true, "ABC-123", "", ck.CKR_PIN_INVALID},
		{"sign non-ASCII", true, "ABC12\xe3", "", ck.CKR_PIN_INVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CheckPIN(keyOf(tt.sign), []byte(tt.pin))
			require.Equal(t, ck.Name(tt.rv), ck.Name(ck.RV(err)))
			assert.Equal(t, tt.want, string(got))
			if err != nil && tt.pin != "" {
				assert.NotContains(t, err.Error(), tt.pin, "errors never repeat the PIN")
			}
		})
	}
}

// keyOf is the key of the sign or the auth token.
func keyOf(sign bool) cardos.Key {
	if sign {
		return signToken
	}
	return authToken
}
