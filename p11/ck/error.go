package ck

import (
	"errors"
	"fmt"
)

// Error is a PKCS#11 return value (a CKR_ constant) used as a Go error.
// Wrap it with fmt.Errorf("...: %w", ck.Error(ck.CKR_...)) to add detail;
// RV still finds it.
type Error uint

// Error returns the spec name of the return value, e.g. "CKR_PIN_INCORRECT".
func (e Error) Error() string { return Name(uint(e)) }

// RV maps an error to the CK_RV the C layer returns: nil is CKR_OK, an
// Error found anywhere in the chain (errors.As) is itself, and anything
// else is CKR_FUNCTION_FAILED.
func RV(err error) uint {
	if err == nil {
		return CKR_OK
	}
	var e Error
	if errors.As(err, &e) {
		return uint(e)
	}
	return CKR_FUNCTION_FAILED
}

// Name returns the spec name of a return value, or "CKR_0x…" for a value
// the package does not know (vendor-defined ones included).
func Name(rv uint) string {
	if n, ok := rvNames[rv]; ok {
		return n
	}
	if rv&CKR_VENDOR_DEFINED != 0 {
		return fmt.Sprintf("CKR_VENDOR_DEFINED+0x%X", rv&^CKR_VENDOR_DEFINED)
	}
	return fmt.Sprintf("CKR_0x%08X", rv)
}
