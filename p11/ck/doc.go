// Package ck holds the PKCS#11 (Cryptoki) constants the module uses, under
// the names the specification gives them, plus an error type for return
// values.
//
// The constants are untyped, so they convert without ceremony to uint (the
// CK_ULONG of linux/amd64) and to the C layer's types. Only the values
// that must be all-ones are typed uint.
package ck
