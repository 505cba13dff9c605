package p11

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// wellFormedPIN is the policy written out independently of pin.go: the auth
// PIN is exactly 4 ASCII digits; the sign password 6–16 ASCII letters and
// digits (lower case is upper-cased).
func wellFormedPIN(pin []byte, sign bool) bool {
	if !sign {
		if len(pin) != 4 {
			return false
		}
		for _, c := range pin {
			if c < '0' || c > '9' {
				return false
			}
		}
		return true
	}
	if len(pin) < 6 || len(pin) > 16 {
		return false
	}
	for _, c := range pin {
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

// FuzzLoginPIN logs in with random bytes. A PIN outside the policy never
// reaches the card (no VERIFY, no try spent) and gets CKR_PIN_INCORRECT
// (see loginPINError); a well-formed one is sent exactly once.
func FuzzLoginPIN(f *testing.F) {
	for _, s := range []string{"1234", "0000", "123", "12345", "12a4", "ABC123", "abc123", "ABC12", "ABCDEFGHIJKLMNOP", "ABCDEFGHIJKLMNOPQ", "ABC 123", "", "１２３４", "12\x004"} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, pin []byte, sign bool) {
		fx := newFixture(t)
		a, b := fx.slots()
		slot := a
		ti, err := fx.m.TokenInfo(a)
		require.NoError(t, err)
		if (ti.MinPinLen == 6) != sign {
			slot = b
		}
		s := fx.open1(slot, false)
		before := fx.card.Stats().Verifies
		err = fx.m.Login(s, ck.CKU_USER, append([]byte(nil), pin...))
		sent := fx.card.Stats().Verifies - before
		if !wellFormedPIN(pin, sign) {
			assert.Zero(t, sent, "a malformed PIN %q reached the card", pin)
			assert.Equal(t, ck.Name(ck.CKR_PIN_INCORRECT), ck.Name(ck.RV(err)), "PIN %q", pin)
			assert.Equal(t, sim.AuthMaxTries, fx.card.TriesLeft(1))
			assert.Equal(t, sim.SignMaxTries, fx.card.TriesLeft(2))
			return
		}
		assert.Equal(t, uint64(1), sent, "a well-formed PIN is sent exactly once")
		right := []byte(sim.DefaultAuthPIN)
		if sign {
			right = []byte(sim.DefaultSignPIN)
			pin = bytes.ToUpper(pin)
		}
		if bytes.Equal(pin, right) {
			assert.NoError(t, err)
		} else {
			assert.Equal(t, uint(ck.CKR_PIN_INCORRECT), ck.RV(err))
		}
		require.NoError(t, fx.card.AdminReset())
	})
}
