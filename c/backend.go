package main

import "github.com/myna-pkcs11/myna-pkcs11/cardos/backend"

// openBackend creates the card back end at C_Initialize: the simulator when
// MYNA_PKCS11_SIM names a state file, PC/SC otherwise.
var openBackend = backend.Open
