// Command c is the C ABI of myna-pkcs11: built with -buildmode=c-shared it
// becomes libmyna-pkcs11.so, a PKCS#11 3.0 module.
//
// The layer only translates. C (glue.c and the generated glue_gen.c) holds
// the function tables, the interface discovery and the fork guard; the Go
// exports here decode C arguments, call the pure-Go core p11.Module and
// encode the results. Policy lives in p11.
//
// Rules every export follows:
//   - a deferred recover turns a panic into CKR_GENERAL_ERROR;
//   - m.Initialized() is checked first, then NULL pointers (CKR_ARGUMENTS_BAD);
//   - lengths are bounded before any unsafe.Slice;
//   - inputs are copied into Go at the call and no C pointer is kept after
//     it returns; no Go pointer is ever stored in C memory.
package main

/*
#cgo CFLAGS: -Wall -Werror=incompatible-pointer-types -Werror=missing-field-initializers -Werror=implicit-function-declaration -Werror=int-conversion
#include "cabi.h"
*/
import "C"

import (
	"github.com/myna-pkcs11/myna-pkcs11/cardos/mynacard"
	"github.com/myna-pkcs11/myna-pkcs11/p11"
)

// mod is the one module instance of the process.
var mod = p11.NewModule(openBackend, mynacard.Attach)

func main() {}

//export goPing
func goPing() {}

// goAtExit runs as the process exits (glue.c's destructor); see
// p11.Module.AtExit.
//
//export goAtExit
func goAtExit() {
	defer func() { recover() }() // the process is ending: never crash it
	mod.AtExit()
}
