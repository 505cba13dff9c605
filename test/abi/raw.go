// Package abi tests what libmyna-pkcs11.so does, through its real C ABI
// from a Go host: initialisation arguments, interfaces, tokens and slots,
// login, objects, signing, configuration and the call trace. The return
// codes of NULL pointers and of calls before C_Initialize are
// test/conformance's and test/hostile's; the binary's symbols and tables
// test/cabi's. The tests use github.com/miekg/pkcs11 for ordinary calls;
// this file (cgo is not allowed in _test.go files) reaches what miekg
// cannot: the 3.0 function list, crafted CK_C_INITIALIZE_ARGS and short
// buffers.
//
// Raw opens the same library path as miekg, so both talk to one module
// instance in this process.
package abi

/*
#cgo CFLAGS: -I${SRCDIR}/../../c
#include <stdlib.h>
#include <string.h>
#include "pkcs11t.h"
#include "pkcs11f_gen.h"

typedef CK_RV (*get_interface_fn)(CK_UTF8CHAR_PTR, CK_VERSION_PTR, CK_INTERFACE_PTR_PTR, CK_FLAGS);
typedef CK_RV (*get_interface_list_fn)(CK_INTERFACE_PTR, CK_ULONG_PTR);

static CK_FUNCTION_LIST_3_0 *fl;
static get_interface_fn get_interface;
static get_interface_list_fn get_interface_list;

static void raw_bind(void *list, void *gi, void *gil)
{
	fl = list;
	get_interface = (get_interface_fn)gi;
	get_interface_list = (get_interface_list_fn)gil;
}

static CK_RV dummy_create(CK_VOID_PTR_PTR pp) { *pp = (void *)1; return CKR_OK; }
static CK_RV dummy_mutex(CK_VOID_PTR p) { (void)p; return CKR_OK; }

static CK_RV raw_initialize(int present, CK_FLAGS flags, int nmutex, int reserved)
{
	CK_C_INITIALIZE_ARGS a;
	memset(&a, 0, sizeof a);
	a.flags = flags;
	if (nmutex > 0) a.CreateMutex = dummy_create;
	if (nmutex > 1) a.DestroyMutex = dummy_mutex;
	if (nmutex > 2) a.LockMutex = dummy_mutex;
	if (nmutex > 3) a.UnlockMutex = dummy_mutex;
	if (reserved) a.pReserved = &a;
	return fl->C_Initialize(present ? &a : NULL);
}

static CK_RV raw_finalize(int reserved)
{
	int x;
	return fl->C_Finalize(reserved ? &x : NULL);
}

static CK_RV raw_get_interface(const char *name, int has_version, CK_BYTE major, CK_BYTE minor,
			       CK_FLAGS flags, CK_VERSION *got, CK_FLAGS *got_flags,
			       CK_FUNCTION_LIST_3_0 **got_list)
{
	CK_VERSION v = {major, minor};
	CK_INTERFACE_PTR it = NULL;
	CK_RV rv = get_interface((CK_UTF8CHAR_PTR)name, has_version ? &v : NULL, &it, flags);
	if (rv == CKR_OK && it != NULL) {
		*got = *(CK_VERSION *)it->pFunctionList;
		*got_flags = it->flags;
		*got_list = it->pFunctionList;
		if (strcmp((const char *)it->pInterfaceName, "PKCS 11") != 0)
			return 0xdead;
	}
	return rv;
}

static CK_RV raw_get_interface_list(int null_list, CK_ULONG *count, CK_INTERFACE *out)
{
	return get_interface_list(null_list ? NULL : out, count);
}

static CK_RV raw_get_info(int null_info, CK_INFO *out)
{
	return fl->C_GetInfo(null_info ? NULL : out);
}

static CK_RV raw_get_slot_list(CK_BBOOL present, CK_SLOT_ID *list, CK_ULONG *count)
{
	return fl->C_GetSlotList(present, list, count);
}

static CK_RV raw_get_token_info(CK_SLOT_ID slot, CK_TOKEN_INFO *out)
{
	return fl->C_GetTokenInfo(slot, out);
}

static CK_RV raw_get_mechanism_list(CK_SLOT_ID slot, CK_MECHANISM_TYPE *list, CK_ULONG *count)
{
	return fl->C_GetMechanismList(slot, list, count);
}

static CK_RV raw_open_session(CK_SLOT_ID slot, CK_FLAGS flags, int null_ph, CK_SESSION_HANDLE *ph)
{
	return fl->C_OpenSession(slot, flags, NULL, NULL, null_ph ? NULL : ph);
}

static CK_RV raw_login(CK_SESSION_HANDLE s, CK_USER_TYPE u, CK_UTF8CHAR *pin, CK_ULONG len)
{
	return fl->C_Login(s, u, pin, len);
}

static CK_RV raw_login_user(CK_SESSION_HANDLE s, CK_USER_TYPE u, CK_UTF8CHAR *pin, CK_ULONG len,
			    CK_UTF8CHAR *user, CK_ULONG ulen)
{
	return fl->C_LoginUser(s, u, pin, len, user, ulen);
}

static CK_RV raw_session_cancel(CK_SESSION_HANDLE s, CK_FLAGS flags)
{
	return fl->C_SessionCancel(s, flags);
}

static CK_RV raw_get_attribute_value(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE *t, CK_ULONG n)
{
	return fl->C_GetAttributeValue(s, o, t, n);
}

static CK_RV raw_find_objects_init(CK_SESSION_HANDLE s, CK_ATTRIBUTE *t, CK_ULONG n)
{
	return fl->C_FindObjectsInit(s, t, n);
}

static CK_RV raw_find_objects(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE *objs, CK_ULONG max, CK_ULONG *count)
{
	return fl->C_FindObjects(s, objs, max, count);
}

static CK_RV raw_sign_init(CK_SESSION_HANDLE s, int null_mech, CK_MECHANISM_TYPE m, void *param,
			   CK_ULONG plen, CK_OBJECT_HANDLE key)
{
	CK_MECHANISM mech = {m, param, plen};
	return fl->C_SignInit(s, null_mech ? NULL : &mech, key);
}

// Output-producing calls share one shape: op 0 C_Sign, 1 C_SignFinal,
// 2 C_Digest, 3 C_DigestFinal.
static CK_RV raw_out(int op, CK_SESSION_HANDLE s, CK_BYTE *data, CK_ULONG dlen, CK_BYTE *out,
		     CK_ULONG *outlen)
{
	switch (op) {
	case 0: return fl->C_Sign(s, data, dlen, out, outlen);
	case 1: return fl->C_SignFinal(s, out, outlen);
	case 2: return fl->C_Digest(s, data, dlen, out, outlen);
	case 3: return fl->C_DigestFinal(s, out, outlen);
	}
	return CKR_GENERAL_ERROR;
}

static CK_RV raw_wait_for_slot_event(CK_FLAGS flags, int null_slot, int reserved, CK_SLOT_ID *slot)
{
	int x;
	return fl->C_WaitForSlotEvent(flags, null_slot ? NULL : slot, reserved ? &x : NULL);
}

// Functions the module answers in C; op selects one.
static CK_RV raw_unsupported(int op)
{
	CK_MECHANISM m = {0, NULL, 0};
	CK_ULONG n = 0;
	switch (op) {
	case 0: return fl->C_EncryptInit(1, &m, 1);
	case 1: return fl->C_DecryptInit(1, &m, 1);
	case 2: return fl->C_DigestKey(1, 1);
	case 3: return fl->C_SignRecoverInit(1, &m, 1);
	case 4: return fl->C_VerifyRecoverInit(1, &m, 1);
	case 5: return fl->C_GenerateKeyPair(1, &m, NULL, 0, NULL, 0, NULL, NULL);
	case 6: return fl->C_GetOperationState(1, NULL, &n);
	case 7: return fl->C_MessageSignInit(1, &m, 1);
	case 8: return fl->C_MessageEncryptInit(1, &m, 1);
	case 9: return fl->C_VerifyMessage(1, NULL, 0, NULL, 0, NULL, 0);
	case 10: return fl->C_GetFunctionStatus(1);
	case 11: return fl->C_CancelFunction(1);
	}
	return CKR_GENERAL_ERROR;
}
*/
import "C"

import (
	"unsafe"

	"github.com/myna-pkcs11/myna-pkcs11/test/internal/p11load"
)

// RawOpen loads the module at path (the same instance miekg loads) with
// p11load and binds the Raw* calls to it.
func RawOpen(path string) error {
	m, err := p11load.Open(path)
	if err != nil {
		return err
	}
	C.raw_bind(m.FunctionList, m.GetInterface, m.GetInterfaceList)
	return nil
}

// InitArgs is a crafted CK_C_INITIALIZE_ARGS: Mutexes non-NULL callbacks
// (CreateMutex first), the flags, and a non-NULL pReserved when Reserved.
type InitArgs struct {
	Flags    uint
	Mutexes  int
	Reserved bool
}

// RawInitialize calls C_Initialize with a (nil: NULL pInitArgs).
func RawInitialize(a *InitArgs) uint {
	if a == nil {
		return uint(C.raw_initialize(0, 0, 0, 0))
	}
	return uint(C.raw_initialize(1, C.CK_FLAGS(a.Flags), C.int(a.Mutexes), cbool(a.Reserved)))
}

// RawFinalize calls C_Finalize, with a non-NULL pReserved when reserved.
func RawFinalize(reserved bool) uint { return uint(C.raw_finalize(cbool(reserved))) }

// Interface is one CK_INTERFACE as seen by the caller.
type Interface struct {
	Name         string
	Major, Minor byte
	Flags        uint
}

// RawGetInterface calls C_GetInterface. name "" passes NULL; version nil
// passes NULL. It returns the version and flags of the interface found.
func RawGetInterface(name string, version *[2]byte, flags uint) (uint, Interface) {
	var cname *C.char
	if name != "" {
		cname = C.CString(name)
		defer C.free(unsafe.Pointer(cname))
	}
	var v C.CK_VERSION
	var f C.CK_FLAGS
	var list *C.CK_FUNCTION_LIST_3_0
	hasV, major, minor := C.int(0), C.CK_BYTE(0), C.CK_BYTE(0)
	if version != nil {
		hasV, major, minor = 1, C.CK_BYTE(version[0]), C.CK_BYTE(version[1])
	}
	rv := C.raw_get_interface(cname, hasV, major, minor, C.CK_FLAGS(flags), &v, &f, &list)
	return uint(rv), Interface{Name: "PKCS 11", Major: byte(v.major), Minor: byte(v.minor), Flags: uint(f)}
}

// RawGetInterfaceList calls C_GetInterfaceList with a buffer of bufLen
// entries (nullList: NULL buffer). It returns the count written back and
// the interfaces copied.
func RawGetInterfaceList(nullList bool, bufLen uint) (uint, uint, []Interface) {
	buf := make([]C.CK_INTERFACE, bufLen+1)
	count := C.CK_ULONG(bufLen)
	rv := C.raw_get_interface_list(cbool(nullList), &count, &buf[0])
	var out []Interface
	if rv == C.CKR_OK && !nullList {
		for _, it := range buf[:count] {
			v := (*C.CK_VERSION)(it.pFunctionList)
			out = append(out, Interface{
				Name:  C.GoString((*C.char)(unsafe.Pointer(it.pInterfaceName))),
				Major: byte(v.major), Minor: byte(v.minor), Flags: uint(it.flags),
			})
		}
	}
	return uint(rv), uint(count), out
}

// RawInfo is CK_INFO with its text fields as the raw padded bytes.
type RawInfo struct {
	ManufacturerID, LibraryDescription []byte
	Major, Minor                       byte
}

// RawGetInfo calls C_GetInfo (nullInfo: with NULL).
func RawGetInfo(nullInfo bool) (uint, RawInfo) {
	var info C.CK_INFO
	rv := C.raw_get_info(cbool(nullInfo), &info)
	return uint(rv), RawInfo{
		ManufacturerID:     C.GoBytes(unsafe.Pointer(&info.manufacturerID[0]), 32),
		LibraryDescription: C.GoBytes(unsafe.Pointer(&info.libraryDescription[0]), 32),
		Major:              byte(info.cryptokiVersion.major), Minor: byte(info.cryptokiVersion.minor),
	}
}

// RawGetSlotList calls C_GetSlotList. bufLen < 0 passes a NULL list;
// nullCount passes a NULL pulCount. It returns the count written back.
func RawGetSlotList(tokenPresent bool, bufLen int, nullCount bool) (uint, uint, []uint) {
	return ulongList(bufLen, nullCount, func(list *C.CK_ULONG, count *C.CK_ULONG) C.CK_RV {
		return C.raw_get_slot_list(C.CK_BBOOL(cbool(tokenPresent)), list, count)
	})
}

// RawGetMechanismList is RawGetSlotList for C_GetMechanismList.
func RawGetMechanismList(slot uint, bufLen int, nullCount bool) (uint, uint, []uint) {
	return ulongList(bufLen, nullCount, func(list *C.CK_ULONG, count *C.CK_ULONG) C.CK_RV {
		return C.raw_get_mechanism_list(C.CK_SLOT_ID(slot), list, count)
	})
}

func ulongList(bufLen int, nullCount bool, call func(list, count *C.CK_ULONG) C.CK_RV) (uint, uint, []uint) {
	var list *C.CK_ULONG
	var buf []C.CK_ULONG
	if bufLen >= 0 {
		buf = make([]C.CK_ULONG, bufLen+1) // never a zero-length slice
		for i := range buf {
			buf[i] = 0xAAAA
		}
		list = &buf[0]
	}
	count := C.CK_ULONG(max(bufLen, 0))
	var pcount *C.CK_ULONG
	if !nullCount {
		pcount = &count
	}
	rv := call(list, pcount)
	var out []uint
	if rv == C.CKR_OK && list != nil {
		for _, v := range buf[:count] {
			out = append(out, uint(v))
		}
	}
	return uint(rv), uint(count), out
}

// RawTokenInfo holds CK_TOKEN_INFO's text fields as the raw padded bytes.
type RawTokenInfo struct {
	Label, ManufacturerID, Model, SerialNumber, UTCTime []byte
	Flags                                               uint
}

// RawGetTokenInfo calls C_GetTokenInfo (nullInfo: with NULL).
func RawGetTokenInfo(slot uint, nullInfo bool) (uint, RawTokenInfo) {
	var info C.CK_TOKEN_INFO
	p := &info
	if nullInfo {
		p = nil
	}
	rv := C.raw_get_token_info(C.CK_SLOT_ID(slot), p)
	return uint(rv), RawTokenInfo{
		Label:          C.GoBytes(unsafe.Pointer(&info.label[0]), 32),
		ManufacturerID: C.GoBytes(unsafe.Pointer(&info.manufacturerID[0]), 32),
		Model:          C.GoBytes(unsafe.Pointer(&info.model[0]), 16),
		SerialNumber:   C.GoBytes(unsafe.Pointer(&info.serialNumber[0]), 16),
		UTCTime:        C.GoBytes(unsafe.Pointer(&info.utcTime[0]), 16),
		Flags:          uint(info.flags),
	}
}

// RawOpenSession calls C_OpenSession (nullHandle: NULL phSession).
func RawOpenSession(slot, flags uint, nullHandle bool) (uint, uint) {
	var h C.CK_SESSION_HANDLE
	rv := C.raw_open_session(C.CK_SLOT_ID(slot), C.CK_FLAGS(flags), cbool(nullHandle), &h)
	return uint(rv), uint(h)
}

// cBytes copies b into C memory (nil for a nil b); free with C.free.
func cBytes(b []byte) *C.CK_BYTE {
	if b == nil {
		return nil
	}
	return (*C.CK_BYTE)(C.CBytes(append(b, 0)))
}

// RawLogin calls C_Login with pin (nil: NULL) and an explicit length.
func RawLogin(sess, userType uint, pin []byte, pinLen uint) uint {
	p := cBytes(pin)
	defer C.free(unsafe.Pointer(p))
	return uint(C.raw_login(C.CK_SESSION_HANDLE(sess), C.CK_USER_TYPE(userType), p, C.CK_ULONG(pinLen)))
}

// RawLoginUser calls the 3.0 C_LoginUser.
func RawLoginUser(sess, userType uint, pin, user []byte) uint {
	p, u := cBytes(pin), cBytes(user)
	defer C.free(unsafe.Pointer(p))
	defer C.free(unsafe.Pointer(u))
	return uint(C.raw_login_user(C.CK_SESSION_HANDLE(sess), C.CK_USER_TYPE(userType),
		p, C.CK_ULONG(len(pin)), u, C.CK_ULONG(len(user))))
}

// RawSessionCancel calls the 3.0 C_SessionCancel.
func RawSessionCancel(sess, flags uint) uint {
	return uint(C.raw_session_cancel(C.CK_SESSION_HANDLE(sess), C.CK_FLAGS(flags)))
}

// AttrIn is one entry of a crafted C_GetAttributeValue template: a NULL
// pValue (Null) or a buffer of BufLen bytes.
type AttrIn struct {
	Type   uint
	Null   bool
	BufLen uint
}

// AttrOut is what came back: ulValueLen and the bytes written (Value is
// nil for a NULL pValue).
type AttrOut struct {
	Len   uint
	Value []byte
}

// RawGetAttributeValue calls C_GetAttributeValue with a crafted template
// in C memory. nullTemplate passes NULL with len(in) as the count.
func RawGetAttributeValue(sess, obj uint, in []AttrIn, nullTemplate bool) (uint, []AttrOut) {
	n := len(in)
	tmpl := (*C.CK_ATTRIBUTE)(C.calloc(C.size_t(max(n, 1)), C.size_t(unsafe.Sizeof(C.CK_ATTRIBUTE{}))))
	defer C.free(unsafe.Pointer(tmpl))
	t := unsafe.Slice(tmpl, max(n, 1))
	for i, a := range in {
		t[i]._type = C.CK_ATTRIBUTE_TYPE(a.Type)
		t[i].ulValueLen = C.CK_ULONG(a.BufLen)
		if !a.Null {
			t[i].pValue = C.CK_VOID_PTR(C.calloc(C.size_t(a.BufLen+1), 1))
			defer C.free(unsafe.Pointer(t[i].pValue))
		}
	}
	p := tmpl
	if nullTemplate {
		p = nil
	}
	rv := C.raw_get_attribute_value(C.CK_SESSION_HANDLE(sess), C.CK_OBJECT_HANDLE(obj), p, C.CK_ULONG(n))
	out := make([]AttrOut, n)
	for i, a := range in {
		out[i].Len = uint(t[i].ulValueLen)
		if !a.Null {
			k := a.BufLen
			if out[i].Len <= a.BufLen {
				k = out[i].Len
			}
			out[i].Value = C.GoBytes(unsafe.Pointer(t[i].pValue), C.int(k))
		}
	}
	return uint(rv), out
}

// Attr is one input template entry for RawFindObjectsInit.
type Attr struct {
	Type  uint
	Value []byte
	// NullWithLen, when not zero, passes a NULL pValue with this
	// ulValueLen (an invalid template entry).
	NullWithLen uint
}

// RawFindObjectsInit calls C_FindObjectsInit with a template in C memory;
// count overrides the count passed when >= 0, nullTemplate passes NULL.
func RawFindObjectsInit(sess uint, attrs []Attr, nullTemplate bool, count int) uint {
	n := len(attrs)
	tmpl := (*C.CK_ATTRIBUTE)(C.calloc(C.size_t(max(n, 1)), C.size_t(unsafe.Sizeof(C.CK_ATTRIBUTE{}))))
	defer C.free(unsafe.Pointer(tmpl))
	t := unsafe.Slice(tmpl, max(n, 1))
	for i, a := range attrs {
		t[i]._type = C.CK_ATTRIBUTE_TYPE(a.Type)
		t[i].ulValueLen = C.CK_ULONG(len(a.Value))
		if a.NullWithLen != 0 {
			t[i].ulValueLen = C.CK_ULONG(a.NullWithLen)
		} else if a.Value != nil {
			t[i].pValue = C.CK_VOID_PTR(unsafe.Pointer(cBytes(a.Value)))
			defer C.free(unsafe.Pointer(t[i].pValue))
		}
	}
	p := tmpl
	if nullTemplate {
		p = nil
	}
	if count < 0 {
		count = n
	}
	return uint(C.raw_find_objects_init(C.CK_SESSION_HANDLE(sess), p, C.CK_ULONG(count)))
}

// RawFindObjects calls C_FindObjects with room for max handles
// (nullHandles: NULL phObject; nullCount: NULL pulObjectCount).
func RawFindObjects(sess, maxObjs uint, nullHandles, nullCount bool) (uint, []uint) {
	buf := make([]C.CK_OBJECT_HANDLE, maxObjs+1)
	var count C.CK_ULONG
	ph, pc := &buf[0], &count
	if nullHandles {
		ph = nil
	}
	if nullCount {
		pc = nil
	}
	rv := C.raw_find_objects(C.CK_SESSION_HANDLE(sess), ph, C.CK_ULONG(maxObjs), pc)
	var out []uint
	if rv == C.CKR_OK {
		for _, h := range buf[:count] {
			out = append(out, uint(h))
		}
	}
	return uint(rv), out
}

// RawSignInit calls C_SignInit (nullMech: NULL pMechanism; param nil: NULL
// pParameter with paramLen as given).
func RawSignInit(sess, mech uint, param []byte, paramLen uint, key uint, nullMech bool) uint {
	p := cBytes(param)
	defer C.free(unsafe.Pointer(p))
	return uint(C.raw_sign_init(C.CK_SESSION_HANDLE(sess), cbool(nullMech), C.CK_MECHANISM_TYPE(mech),
		unsafe.Pointer(p), C.CK_ULONG(paramLen), C.CK_OBJECT_HANDLE(key)))
}

// Output operations for RawOut.
const (
	OpSign = iota
	OpSignFinal
	OpDigest
	OpDigestFinal
)

// RawOut calls C_Sign, C_SignFinal, C_Digest or C_DigestFinal with data
// and an output buffer of outLen bytes (nullOut: NULL buffer with *pulLen
// = outLen; nullLen: NULL pulLen). It returns *pulLen after the call and
// the bytes written.
func RawOut(op int, sess uint, data []byte, nullOut bool, outLen uint, nullLen bool) (uint, uint, []byte) {
	d := cBytes(data)
	defer C.free(unsafe.Pointer(d))
	var out *C.CK_BYTE
	if !nullOut {
		out = (*C.CK_BYTE)(C.calloc(C.size_t(outLen+1), 1))
		defer C.free(unsafe.Pointer(out))
	}
	n := C.CK_ULONG(outLen)
	pn := &n
	if nullLen {
		pn = nil
	}
	rv := C.raw_out(C.int(op), C.CK_SESSION_HANDLE(sess), d, C.CK_ULONG(len(data)), out, pn)
	var got []byte
	if rv == C.CKR_OK && out != nil && uint(n) <= outLen {
		got = C.GoBytes(unsafe.Pointer(out), C.int(n))
	}
	return uint(rv), uint(n), got
}

// RawWaitForSlotEvent calls C_WaitForSlotEvent.
func RawWaitForSlotEvent(flags uint, nullSlot, reserved bool) (uint, uint) {
	var slot C.CK_SLOT_ID
	rv := C.raw_wait_for_slot_event(C.CK_FLAGS(flags), cbool(nullSlot), cbool(reserved), &slot)
	return uint(rv), uint(slot)
}

// Unsupported names the functions RawUnsupported can call, by index.
var Unsupported = []string{
	"C_EncryptInit", "C_DecryptInit", "C_DigestKey", "C_SignRecoverInit", "C_VerifyRecoverInit",
	"C_GenerateKeyPair", "C_GetOperationState", "C_MessageSignInit", "C_MessageEncryptInit",
	"C_VerifyMessage", "C_GetFunctionStatus", "C_CancelFunction",
}

// RawUnsupported calls Unsupported[i] with harmless arguments.
func RawUnsupported(i int) uint { return uint(C.raw_unsupported(C.int(i))) }

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}
