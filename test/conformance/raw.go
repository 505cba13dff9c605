// Package conformance checks the return codes of libmyna-pkcs11.so: it
// calls every PKCS#11 function through its C ABI, in the states the
// specification defines, and compares each return code with a table
// written from the specification (conformance_test.go, table_test.go); it
// sweeps every entry of the function list before C_Initialize, after
// C_Finalize and with NULL pointers (sweep_test.go). It is the one home of
// the NULL-pointer and not-initialised checks. This file (cgo is not allowed in _test.go files)
// binds the module test/internal/p11load loaded and makes one raw call with any mix of NULL and
// non-NULL arguments; memory handed to the module is C memory.
package conformance

/*
#cgo CFLAGS: -I${SRCDIR}/../../c
#include <stdlib.h>
#include "pkcs11t.h"
#include "pkcs11f_gen.h"

typedef CK_RV (*get_interface_fn)(CK_UTF8CHAR_PTR, CK_VERSION_PTR, CK_INTERFACE_PTR_PTR, CK_FLAGS);
typedef CK_RV (*get_function_list_fn)(CK_FUNCTION_LIST_PTR_PTR);
typedef CK_RV (*get_interface_list_fn)(CK_INTERFACE_PTR, CK_ULONG_PTR);

static CK_FUNCTION_LIST_3_0 *fl;
static get_function_list_fn get_function_list;
static get_interface_fn get_interface;
static get_interface_list_fn get_interface_list;

static void conf_bind(void *list, void *gfl, void *gi, void *gil)
{
	fl = list;
	get_function_list = (get_function_list_fn)gfl;
	get_interface = (get_interface_fn)gi;
	get_interface_list = (get_interface_list_fn)gil;
}

// conf_call calls function fn with integer arguments u and pointer
// arguments p, each in the order of the function's parameters (an
// argument is in u or in p, never both).
static CK_RV conf_call(int fn, CK_ULONG *u, void **p)
{
	switch (fn) {
#define U(i) (u[i])
#define P(i) (p[i])
	case 0: return fl->C_Initialize(P(0));
	case 1: return fl->C_Finalize(P(0));
	case 2: return fl->C_GetInfo(P(0));
	case 3: return get_function_list(P(0));
	case 4: return fl->C_GetSlotList((CK_BBOOL)U(0), P(1), P(2));
	case 5: return fl->C_GetSlotInfo(U(0), P(1));
	case 6: return fl->C_GetTokenInfo(U(0), P(1));
	case 7: return fl->C_WaitForSlotEvent(U(0), P(1), P(2));
	case 8: return fl->C_GetMechanismList(U(0), P(1), P(2));
	case 9: return fl->C_GetMechanismInfo(U(0), U(1), P(2));
	case 10: return fl->C_InitToken(U(0), P(1), U(2), P(3));
	case 11: return fl->C_InitPIN(U(0), P(1), U(2));
	case 12: return fl->C_SetPIN(U(0), P(1), U(2), P(3), U(4));
	case 13: return fl->C_OpenSession(U(0), U(1), NULL, NULL, P(4));
	case 14: return fl->C_CloseSession(U(0));
	case 15: return fl->C_CloseAllSessions(U(0));
	case 16: return fl->C_GetSessionInfo(U(0), P(1));
	case 17: return fl->C_GetOperationState(U(0), P(1), P(2));
	case 18: return fl->C_SetOperationState(U(0), P(1), U(2), U(3), U(4));
	case 19: return fl->C_Login(U(0), U(1), P(2), U(3));
	case 20: return fl->C_Logout(U(0));
	case 21: return fl->C_CreateObject(U(0), P(1), U(2), P(3));
	case 22: return fl->C_CopyObject(U(0), U(1), P(2), U(3), P(4));
	case 23: return fl->C_DestroyObject(U(0), U(1));
	case 24: return fl->C_GetObjectSize(U(0), U(1), P(2));
	case 25: return fl->C_GetAttributeValue(U(0), U(1), P(2), U(3));
	case 26: return fl->C_SetAttributeValue(U(0), U(1), P(2), U(3));
	case 27: return fl->C_FindObjectsInit(U(0), P(1), U(2));
	case 28: return fl->C_FindObjects(U(0), P(1), U(2), P(3));
	case 29: return fl->C_FindObjectsFinal(U(0));
	case 30: return fl->C_EncryptInit(U(0), P(1), U(2));
	case 31: return fl->C_DecryptInit(U(0), P(1), U(2));
	case 32: return fl->C_DigestInit(U(0), P(1));
	case 33: return fl->C_Digest(U(0), P(1), U(2), P(3), P(4));
	case 34: return fl->C_DigestUpdate(U(0), P(1), U(2));
	case 35: return fl->C_DigestKey(U(0), U(1));
	case 36: return fl->C_DigestFinal(U(0), P(1), P(2));
	case 37: return fl->C_SignInit(U(0), P(1), U(2));
	case 38: return fl->C_Sign(U(0), P(1), U(2), P(3), P(4));
	case 39: return fl->C_SignUpdate(U(0), P(1), U(2));
	case 40: return fl->C_SignFinal(U(0), P(1), P(2));
	case 41: return fl->C_SignRecoverInit(U(0), P(1), U(2));
	case 42: return fl->C_VerifyInit(U(0), P(1), U(2));
	case 43: return fl->C_Verify(U(0), P(1), U(2), P(3), U(4));
	case 44: return fl->C_VerifyUpdate(U(0), P(1), U(2));
	case 45: return fl->C_VerifyFinal(U(0), P(1), U(2));
	case 46: return fl->C_VerifyRecoverInit(U(0), P(1), U(2));
	case 47: return fl->C_GenerateKey(U(0), P(1), P(2), U(3), P(4));
	case 48: return fl->C_GenerateKeyPair(U(0), P(1), P(2), U(3), P(4), U(5), P(6), P(7));
	case 49: return fl->C_SeedRandom(U(0), P(1), U(2));
	case 50: return fl->C_GenerateRandom(U(0), P(1), U(2));
	case 51: return fl->C_GetFunctionStatus(U(0));
	case 52: return fl->C_CancelFunction(U(0));
	case 53: return fl->C_SessionCancel(U(0), U(1));
	case 54: return fl->C_LoginUser(U(0), U(1), P(2), U(3), P(4), U(5));
	case 55: return get_interface(P(0), P(1), P(2), U(3));
	case 56: return fl->C_MessageSignInit(U(0), P(1), U(2));
	case 57: return get_interface_list(P(0), P(1));
#undef U
#undef P
	}
	return 0xFFFFFFFFUL;
}
*/
import "C"

import (
	"encoding/binary"
	"unsafe"

	"github.com/myna-pkcs11/myna-pkcs11/test/internal/p11load"
)

// Fn names a PKCS#11 function for Call.
type Fn int

// The functions Call can call, in the order of conf_call's switch.
const (
	FInitialize Fn = iota
	FFinalize
	FGetInfo
	FGetFunctionList
	FGetSlotList
	FGetSlotInfo
	FGetTokenInfo
	FWaitForSlotEvent
	FGetMechanismList
	FGetMechanismInfo
	FInitToken
	FInitPIN
	FSetPIN
	FOpenSession
	FCloseSession
	FCloseAllSessions
	FGetSessionInfo
	FGetOperationState
	FSetOperationState
	FLogin
	FLogout
	FCreateObject
	FCopyObject
	FDestroyObject
	FGetObjectSize
	FGetAttributeValue
	FSetAttributeValue
	FFindObjectsInit
	FFindObjects
	FFindObjectsFinal
	FEncryptInit
	FDecryptInit
	FDigestInit
	FDigest
	FDigestUpdate
	FDigestKey
	FDigestFinal
	FSignInit
	FSign
	FSignUpdate
	FSignFinal
	FSignRecoverInit
	FVerifyInit
	FVerify
	FVerifyUpdate
	FVerifyFinal
	FVerifyRecoverInit
	FGenerateKey
	FGenerateKeyPair
	FSeedRandom
	FGenerateRandom
	FGetFunctionStatus
	FCancelFunction
	FSessionCancel
	FLoginUser
	FGetInterface
	FMessageSignInit
	FGetInterfaceList
)

// Open loads the module at path with p11load and binds Call to it.
func Open(path string) error {
	m, err := p11load.Open(path)
	if err != nil {
		return err
	}
	loaded = m
	C.conf_bind(m.FunctionList, m.GetFunctionList, m.GetInterface, m.GetInterfaceList)
	return nil
}

// loaded is the module Open loaded.
var loaded p11load.Module

// Arg is one argument of Call: an integer (U) or a pointer (Ptr, Null).
type Arg struct {
	u   uint
	p   unsafe.Pointer
	ptr bool
}

// U is an integer argument (CK_ULONG, handle, flags, length).
func U(v uint) Arg { return Arg{u: v} }

// Null is a NULL pointer argument.
var Null = Arg{ptr: true}

// Mem is C memory for one call's buffers; Free releases all of it.
type Mem struct{ blocks []unsafe.Pointer }

// Free releases every block of m.
func (m *Mem) Free() {
	for _, b := range m.blocks {
		C.free(b)
	}
	m.blocks = nil
}

func (m *Mem) alloc(n int) unsafe.Pointer {
	p := C.calloc(C.size_t(max(n, 1)), 1)
	m.blocks = append(m.blocks, p)
	return p
}

// Buf is a pointer argument to n bytes of C memory holding b (zeroes
// past it).
func (m *Mem) Buf(n int, b []byte) Arg {
	p := m.alloc(n)
	copy(unsafe.Slice((*byte)(p), max(n, 1)), b)
	return Arg{p: p, ptr: true}
}

// Bytes is a pointer argument to a copy of b.
func (m *Mem) Bytes(b []byte) Arg { return m.Buf(len(b), b) }

// Ulong is a pointer argument to a CK_ULONG holding v.
func (m *Mem) Ulong(v uint) Arg { return m.Bytes(binary.NativeEndian.AppendUint64(nil, uint64(v))) }

// Mechanism is a pointer argument to a CK_MECHANISM without parameter.
func (m *Mem) Mechanism(mech uint) Arg { return m.MechanismParam(mech, Null, 0) }

// MechanismParam is a pointer argument to a CK_MECHANISM with pParameter
// param (a pointer argument) and ulParameterLen n.
func (m *Mem) MechanismParam(mech uint, param Arg, n uint) Arg {
	p := (*C.CK_MECHANISM)(m.alloc(int(unsafe.Sizeof(C.CK_MECHANISM{}))))
	p.mechanism = C.CK_MECHANISM_TYPE(mech)
	p.pParameter = C.CK_VOID_PTR(param.p)
	p.ulParameterLen = C.CK_ULONG(n)
	return Arg{p: unsafe.Pointer(p), ptr: true}
}

// Attr is one template entry: Value nil with Len 0 is a NULL pValue;
// Value nil with Len > 0 is a buffer of Len bytes; NullLen > 0 is a NULL
// pValue with ulValueLen NullLen.
type Attr struct {
	Type    uint
	Value   []byte
	Len     uint
	NullLen uint
}

// Template is a pointer argument to a CK_ATTRIBUTE array in C memory.
func (m *Mem) Template(attrs ...Attr) Arg {
	size := int(unsafe.Sizeof(C.CK_ATTRIBUTE{}))
	p := m.alloc(size * len(attrs))
	t := unsafe.Slice((*C.CK_ATTRIBUTE)(p), max(len(attrs), 1))
	for i, a := range attrs {
		t[i]._type = C.CK_ATTRIBUTE_TYPE(a.Type)
		switch {
		case a.Value != nil:
			t[i].pValue = C.CK_VOID_PTR(m.Bytes(a.Value).p)
			t[i].ulValueLen = C.CK_ULONG(len(a.Value))
		case a.Len > 0:
			t[i].pValue = C.CK_VOID_PTR(m.alloc(int(a.Len)))
			t[i].ulValueLen = C.CK_ULONG(a.Len)
		case a.NullLen > 0:
			t[i].ulValueLen = C.CK_ULONG(a.NullLen)
		}
	}
	return Arg{p: p, ptr: true}
}

// TemplateLens returns ulValueLen of each of the n entries of template a.
func TemplateLens(a Arg, n int) []uint {
	t := unsafe.Slice((*C.CK_ATTRIBUTE)(a.p), n)
	out := make([]uint, n)
	for i := range t {
		out[i] = uint(t[i].ulValueLen)
	}
	return out
}

// Read returns the first n bytes a pointer argument points to.
func Read(a Arg, n int) []byte { return C.GoBytes(a.p, C.int(n)) }

// ReadUlong returns the CK_ULONG a pointer argument points to.
func ReadUlong(a Arg) uint { return uint(*(*C.CK_ULONG)(a.p)) }

// ReadUlongs returns n CK_ULONGs a pointer argument points to.
func ReadUlongs(a Arg, n int) []uint {
	s := unsafe.Slice((*C.CK_ULONG)(a.p), max(n, 1))
	out := make([]uint, n)
	for i := range out {
		out[i] = uint(s[i])
	}
	return out
}

// maxArgs is the most parameters a PKCS#11 function has.
const maxArgs = 8

// Call calls fn with args and returns its CK_RV.
func Call(fn Fn, args ...Arg) uint {
	u := (*C.CK_ULONG)(C.calloc(maxArgs, C.size_t(unsafe.Sizeof(C.CK_ULONG(0)))))
	p := (*unsafe.Pointer)(C.calloc(maxArgs, C.size_t(unsafe.Sizeof(unsafe.Pointer(nil)))))
	defer C.free(unsafe.Pointer(u))
	defer C.free(unsafe.Pointer(p))
	us, ps := unsafe.Slice(u, maxArgs), unsafe.Slice(p, maxArgs)
	for i, a := range args {
		if a.ptr {
			ps[i] = a.p
		} else {
			us[i] = C.CK_ULONG(a.u)
		}
	}
	return uint(C.conf_call(C.int(fn), u, (*unsafe.Pointer)(unsafe.Pointer(p))))
}
