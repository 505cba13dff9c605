package ck

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRV(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want uint
	}{
		{"nil", nil, CKR_OK},
		{"plain", Error(CKR_PIN_INCORRECT), CKR_PIN_INCORRECT},
		{"wrapped", fmt.Errorf("login: %w", Error(CKR_PIN_LOCKED)), CKR_PIN_LOCKED},
		{"foreign", errors.New("boom"), CKR_FUNCTION_FAILED},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, RV(tt.err))
		})
	}
}

func TestNames(t *testing.T) {
	assert.Equal(t, "CKR_PIN_INCORRECT", Error(CKR_PIN_INCORRECT).Error())
	assert.Equal(t, "CKR_CRYPTOKI_NOT_INITIALIZED", Name(0x190))
	assert.Equal(t, "CKR_0x00000FFF", Name(0xFFF))
	assert.Equal(t, "CKR_VENDOR_DEFINED+0x5", Name(0x80000005))
	assert.Equal(t, "CKA_ALLOWED_MECHANISMS", AttrName(0x40000600))
	assert.Equal(t, "CKM_SHA256_RSA_PKCS", MechName(0x40))
	assert.Equal(t, ^uint(0), CK_UNAVAILABLE_INFORMATION)
}
