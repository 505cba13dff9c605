package main

/*
#include "cabi.h"
*/
import "C"

import (
	"fmt"
	"strings"
	"time"
	"unsafe"

	"github.com/myna-pkcs11/myna-pkcs11/p11"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// tracer builds the log line of one PKCS#11 call at log level 3, in the
// spirit of OpenSC's pkcs11-spy but on one line: the function, its
// arguments decoded, the CK_RV by name, what the call returned through
// its pointers, and the time it took. Every export starts with
//
//	t := trace("C_Name")
//	defer t.end(&r)
//	defer guard(&r)
//
// so that the line carries the final CK_RV (after guard turned a panic
// into CKR_GENERAL_ERROR), then adds its arguments. A nil *tracer
// (tracing off, the usual case) ignores every method, so the cost of an
// untraced call is one check of the log level.
//
// Arguments are read from C before the call and results after it, only
// where the export itself reads or writes: a NULL pointer is shown as
// NULL, counts are bounded as in marshal.go, and an output is read only
// for the CK_RVs that define it. PINs, data, signatures and attribute
// values other than the public ones of tracefmt.go appear as lengths.
type tracer struct {
	tr    *p11.Trace
	init  bool // C_Initialize: take the log after the call, which opens it
	start time.Time
	name  string
	args  []string
	outs  []func(r C.CK_RV) string // each returns "" when it has nothing to say
}

// trace starts the line of a call named name, or returns nil when the
// module does not log at level 3.
func trace(name string) *tracer {
	tr := mod.Trace()
	if tr == nil {
		return nil
	}
	return &tracer{tr: tr, name: name}
}

// traceInit starts the line of C_Initialize, which is written when the
// configuration read by the call asks for level 3.
func traceInit() *tracer {
	return &tracer{init: true, start: time.Now(), name: "C_Initialize"}
}

// end writes the line with the result *r and releases the log. It never
// panics into the host.
func (t *tracer) end(r *C.CK_RV) {
	if t == nil {
		return
	}
	if t.init {
		if t.tr = mod.Trace(); t.tr == nil {
			return
		}
	}
	var b strings.Builder
	defer func() {
		if recover() != nil {
			b.WriteString(" <trace failed>")
		}
		t.tr.End(t.start, b.String())
	}()
	fmt.Fprintf(&b, "%s(%s) = %s", t.name, strings.Join(t.args, ", "), ck.Name(uint(*r)))
	sep := "; "
	for _, out := range t.outs {
		if s := out(*r); s != "" {
			b.WriteString(sep)
			b.WriteString(s)
			sep = ", "
		}
	}
}

// arg adds "name=value".
func (t *tracer) arg(name, value string) {
	if t != nil {
		t.args = append(t.args, name+"="+value)
	}
}

// num adds a number (a handle, a slot ID, a count).
func (t *tracer) num(name string, v uint) {
	if t != nil {
		t.arg(name, fmtUint(v))
	}
}

// flags adds a flags word with its bits by name.
func (t *tracer) flags(name string, v uint, names []ck.Flag) {
	if t != nil {
		t.arg(name, fmtFlags(v, names))
	}
}

// secret adds a buffer that is never logged (PIN, data, signature) by its
// length.
func (t *tracer) secret(name string, p unsafe.Pointer, n C.CK_ULONG) {
	if t != nil {
		t.arg(name, fmtSecret(p == nil, uint(n)))
	}
}

// ptr adds whether an opaque pointer is NULL.
func (t *tracer) ptr(name string, p unsafe.Pointer) {
	if t != nil {
		if p == nil {
			t.arg(name, "NULL")
		} else {
			t.arg(name, "set")
		}
	}
}

// mechanism adds a CK_MECHANISM.
func (t *tracer) mechanism(name string, p C.CK_MECHANISM_PTR) {
	if t == nil {
		return
	}
	if p == nil {
		t.arg(name, fmtMechanism(true, 0, 0))
		return
	}
	t.arg(name, fmtMechanism(false, uint(p.mechanism), uint(p.ulParameterLen)))
}

// initArgs adds C_Initialize's CK_C_INITIALIZE_ARGS.
func (t *tracer) initArgs(p C.CK_VOID_PTR) {
	if t == nil {
		return
	}
	if p == nil {
		t.arg("pInitArgs", "NULL")
		return
	}
	a := (*C.CK_C_INITIALIZE_ARGS)(p)
	n := 0
	for _, set := range []bool{a.CreateMutex != nil, a.DestroyMutex != nil, a.LockMutex != nil, a.UnlockMutex != nil} {
		if set {
			n++
		}
	}
	reserved := "NULL"
	if a.pReserved != nil {
		reserved = "set"
	}
	t.arg("pInitArgs", fmt.Sprintf("{flags=%s, mutex callbacks=%d, pReserved=%s}", fmtFlags(uint(a.flags), initFlags), n, reserved))
}

// readTemplate reads a caller's template; with values it copies the
// values of public types that fit the buffer lengths in bufLens (the
// lengths before the call, nil to use the current ones).
func readTemplate(p C.CK_ATTRIBUTE_PTR, n C.CK_ULONG, bufLens []uint, values bool) []traceAttr {
	if p == nil || n == 0 || n > maxCount {
		return nil
	}
	src := unsafe.Slice(p, int(n))
	out := make([]traceAttr, len(src))
	for i := range src {
		a := traceAttr{Type: uint(src[i]._type), Len: uint(src[i].ulValueLen)}
		limit := a.Len
		if bufLens != nil {
			limit = bufLens[i]
		}
		if _, public := publicAttrs[a.Type]; values && public && src[i].pValue != nil &&
			a.Len != ck.CK_UNAVAILABLE_INFORMATION && a.Len <= limit && a.Len <= maxShown {
			a.Value = C.GoBytes(unsafe.Pointer(src[i].pValue), C.int(a.Len))
		}
		out[i] = a
	}
	return out
}

// template adds an input template (C_FindObjectsInit, C_CreateObject,
// ...): types, lengths, public values.
func (t *tracer) template(name string, p C.CK_ATTRIBUTE_PTR, n C.CK_ULONG) {
	if t == nil {
		return
	}
	if p == nil {
		t.arg(name, "NULL")
	} else if n > maxCount {
		t.arg(name, "(too long)")
	} else {
		t.arg(name, fmtTemplate(readTemplate(p, n, nil, true)))
	}
	t.num("ulCount", uint(n))
}

// outTemplate adds C_GetAttributeValue's template as the call left it:
// each type with the length returned and, for public types whose value
// was written, the value.
func (t *tracer) outTemplate(p C.CK_ATTRIBUTE_PTR, n C.CK_ULONG) {
	if t == nil {
		return
	}
	t.num("ulCount", uint(n))
	if p == nil || n > maxCount {
		return
	}
	src := unsafe.Slice(p, int(n))
	bufLens := make([]uint, len(src))
	for i := range src {
		if src[i].pValue != nil {
			bufLens[i] = uint(src[i].ulValueLen)
		}
	}
	t.outs = append(t.outs, func(r C.CK_RV) string {
		switch r {
		case rvOK, rvSensitive, rvTypeInvalid, rvTooSmall:
			return "pTemplate=" + fmtTemplate(readTemplate(p, n, bufLens, true))
		}
		return ""
	})
}

// outNum adds the number a call returns through p (a handle, a slot ID,
// a length) when the call succeeded, or also on CKR_BUFFER_TOO_SMALL
// (output lengths).
func outNum[T ~uint64](t *tracer, name string, p *T, tooSmallToo bool) {
	if t == nil || p == nil {
		return
	}
	t.outs = append(t.outs, func(r C.CK_RV) string {
		if r == rvOK || (tooSmallToo && r == rvTooSmall) {
			return fmt.Sprintf("*%s=%d", name, uint64(*p))
		}
		return ""
	})
}

// outList adds the list a call writes to p with its length in *pulCount
// (slots, mechanisms, object handles), formatting each entry with f.
func outList[T ~uint64](t *tracer, name string, p *T, pulCount *C.CK_ULONG, f func(uint) string) {
	if t == nil || pulCount == nil {
		return
	}
	t.outs = append(t.outs, func(r C.CK_RV) string {
		n := uint(*pulCount)
		switch {
		case r == rvTooSmall || (r == rvOK && p == nil):
			return fmt.Sprintf("*pulCount=%d", n)
		case r != rvOK:
			return ""
		case n > maxCount:
			return fmt.Sprintf("%s=(%d entries)", name, n)
		}
		vals := make([]uint, n)
		for i, v := range unsafe.Slice(p, int(n)) {
			vals[i] = uint(v)
		}
		return name + "=" + fmtList(vals, f)
	})
}

// out adds a result computed by f after a successful call.
func (t *tracer) out(f func() string) {
	if t == nil {
		return
	}
	t.outs = append(t.outs, func(r C.CK_RV) string {
		if r != rvOK {
			return ""
		}
		return f()
	})
}

// trimField shows a blank-padded PKCS#11 text field.
func trimField[T ~uint8 | ~int8](f []T) string {
	b := make([]byte, len(f))
	for i, c := range f {
		b[i] = byte(c)
	}
	return fmt.Sprintf("%q", strings.TrimRight(string(b), " "))
}

// fmtBool shows a CK_BBOOL.
func fmtBool(b C.CK_BBOOL) string {
	if b == C.CK_FALSE {
		return "CK_FALSE"
	}
	return "CK_TRUE"
}
