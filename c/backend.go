package main

import (
	"errors"
	"os"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
)

// openBackend creates the card back end at C_Initialize.
//
// Temporary: only the simulator (MYNA_PKCS11_SIM=<state file>) until
// cardos/backend.Open, which adds PC/SC, lands; then this becomes
// backend.Open.
func openBackend() (cardos.Context, error) {
	path := os.Getenv("MYNA_PKCS11_SIM")
	if path == "" {
		return nil, errors.New("c: PC/SC back end not linked yet; set MYNA_PKCS11_SIM to a simulator state file")
	}
	return sim.OpenContext(path)
}
