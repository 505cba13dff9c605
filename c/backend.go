package main

import (
	"errors"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
)

// openBackend creates the card back end at C_Initialize.
// TODO(c): switch to cardos/backend.Open once it lands.
func openBackend() (cardos.Context, error) {
	return nil, errors.New("c: no card back end linked yet (cardos/backend has not landed)")
}
