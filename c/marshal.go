package main

/*
#include "cabi.h"
*/
import "C"

import (
	"unicode/utf8"
	"unsafe"

	"github.com/myna-pkcs11/myna-pkcs11/p11"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// Bounds for caller-supplied sizes. Anything larger is not a sensible
// PKCS#11 argument for this module and would overflow int conversions.
const (
	maxBytes = 1 << 28 // one input buffer
	maxCount = 1 << 16 // template entries
)

// Return values used while marshalling.
const (
	rvOK          = C.CK_RV(ck.CKR_OK)
	rvArgsBad     = C.CK_RV(ck.CKR_ARGUMENTS_BAD)
	rvGeneral     = C.CK_RV(ck.CKR_GENERAL_ERROR)
	rvTooSmall    = C.CK_RV(ck.CKR_BUFFER_TOO_SMALL)
	rvTypeInvalid = C.CK_RV(ck.CKR_ATTRIBUTE_TYPE_INVALID)
	rvSensitive   = C.CK_RV(ck.CKR_ATTRIBUTE_SENSITIVE)
)

// rv converts a p11 error to a CK_RV.
func rv(err error) C.CK_RV { return C.CK_RV(ck.RV(err)) }

// guard turns a panic escaping an export into CKR_GENERAL_ERROR; a panic
// must never unwind into the host.
func guard(r *C.CK_RV) {
	if recover() != nil {
		*r = rvGeneral
	}
}

// inBytes copies a caller buffer into Go. It returns nil for a NULL pointer
// with zero length, an empty non-nil slice for a non-NULL pointer with zero
// length, and ok=false for NULL with a length or a length out of bounds.
func inBytes(p unsafe.Pointer, n C.CK_ULONG) (b []byte, ok bool) {
	if n > maxBytes {
		return nil, false
	}
	if p == nil {
		return nil, n == 0
	}
	if n == 0 {
		return []byte{}, true
	}
	return C.GoBytes(p, C.int(n)), true
}

// inTemplate copies a CK_ATTRIBUTE array into Go.
func inTemplate(p C.CK_ATTRIBUTE_PTR, n C.CK_ULONG) ([]p11.Attribute, bool) {
	if n == 0 {
		return nil, true
	}
	if p == nil || n > maxCount {
		return nil, false
	}
	src := unsafe.Slice(p, int(n))
	out := make([]p11.Attribute, len(src))
	for i := range src {
		v, ok := inBytes(unsafe.Pointer(src[i].pValue), src[i].ulValueLen)
		if !ok {
			return nil, false
		}
		out[i] = p11.Attribute{Type: uint(src[i]._type), Value: v}
	}
	return out, true
}

// inMechanism copies a CK_MECHANISM, including its parameter, into Go.
func inMechanism(p C.CK_MECHANISM_PTR) (p11.Mechanism, bool) {
	if p == nil {
		return p11.Mechanism{}, false
	}
	m := p11.Mechanism{Type: p11.MechanismType(p.mechanism)}
	if p.pParameter == nil {
		return m, p.ulParameterLen == 0
	}
	param, ok := inBytes(unsafe.Pointer(p.pParameter), p.ulParameterLen)
	m.Param = param
	return m, ok
}

// outBuf describes a caller's output buffer (pointer and *pulLen).
func outBuf(p C.CK_BYTE_PTR, pulLen C.CK_ULONG_PTR) p11.OutBuf {
	return p11.OutBuf{Nil: p == nil, Len: uint(*pulLen)}
}

// writeOut completes the two-call protocol of C_Sign, C_SignFinal,
// C_Digest and C_DigestFinal from the core's answer.
func writeOut(p C.CK_BYTE_PTR, pulLen C.CK_ULONG_PTR, out p11.OutBuf, data []byte, need uint, err error) C.CK_RV {
	r := rv(err)
	switch {
	case r == rvOK && out.Nil:
		*pulLen = C.CK_ULONG(need)
	case r == rvOK:
		if uint(len(data)) > out.Len {
			return rvGeneral // the core broke its contract; never overrun the caller
		}
		if len(data) > 0 {
			copy(unsafe.Slice((*byte)(unsafe.Pointer(p)), len(data)), data)
		}
		*pulLen = C.CK_ULONG(len(data))
	case r == rvTooSmall:
		*pulLen = C.CK_ULONG(need)
	}
	return r
}

// writeULongs completes the two-call protocol of C_GetSlotList and
// C_GetMechanismList.
func writeULongs[T ~uint64, V ~uint](p *T, pulCount C.CK_ULONG_PTR, vals []V) C.CK_RV {
	n := C.CK_ULONG(len(vals))
	if p == nil {
		*pulCount = n
		return rvOK
	}
	if *pulCount < n {
		*pulCount = n
		return rvTooSmall
	}
	if n > 0 {
		dst := unsafe.Slice(p, len(vals))
		for i, v := range vals {
			dst[i] = T(v)
		}
	}
	*pulCount = n
	return rvOK
}

// pad writes s into a fixed-width PKCS#11 text field: truncated at a UTF-8
// character boundary, then blank-padded.
func pad[T ~uint8](dst []T, s string) {
	if len(s) > len(dst) {
		cut := len(dst)
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	for i := range dst {
		if i < len(s) {
			dst[i] = T(s[i])
		} else {
			dst[i] = ' '
		}
	}
}

// version converts a p11.Version.
func version(v p11.Version) C.CK_VERSION {
	return C.CK_VERSION{major: C.CK_BYTE(v.Major), minor: C.CK_BYTE(v.Minor)}
}
