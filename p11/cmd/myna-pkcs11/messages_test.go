package main

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
)

// A card that answers 9000 to the PIN change but keeps the old PIN: the
// command says so at once, and which PIN to try first.
func TestChangePINUnconfirmed(t *testing.T) {
	path := freshCard(t, sim.Profile{})
	c, err := sim.Open(path, sim.Options{})
	require.NoError(t, err)
	require.NoError(t, c.SetQuirks(sim.Quirks{ChangeStores: sim.ChangeKeepsOld}))
	_, errs, rc := runCmd(t, "1234\n5678\n5678\n", "change-pin", "auth", "--pin-stdin", "--yes")
	assert.Equal(t, 1, rc)
	assert.Contains(t, errs, "refused the new PIN")
	assert.Contains(t, errs, "Do not rely on the new PIN")
	assert.Contains(t, errs, "2 of 3 tries left")
	a, _ := tries(t, path)
	assert.Equal(t, 2, a, "the confirmation spent one try")
}

// Each card-level error a person can meet gets a message and advice
// that name its cause.
func TestExplainCardErrors(t *testing.T) {
	for _, tt := range []struct {
		err         error
		msg, advice string
	}{
		{fmt.Errorf("pcsc: establish context: %w", cardos.ErrAccessDenied), "refused this program", "polkit"},
		{fmt.Errorf("pcsc: establish context (is pcscd running?): %w", cardos.ErrNoService), "not running", "pcscd"},
		{fmt.Errorf("x: %w", cardos.ErrPINChangeUnconfirmed), "refused the new PIN", "Do not rely on the new PIN"},
	} {
		ce := explain(tt.err)
		assert.Contains(t, ce.msg, tt.msg)
		assert.Contains(t, ce.advice, tt.advice)
	}
}
