package main

/*
#include "cabi.h"
*/
import "C"

import (
	"unsafe"

	"github.com/myna-pkcs11/myna-pkcs11/p11"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// opCall is a C_Sign*, C_Verify* or C_Digest* export: its name and the
// operation it belongs to (CKF_SIGN, CKF_VERIFY or CKF_DIGEST).
type opCall struct {
	name string
	op   uint
}

var (
	opSign         = opCall{"C_Sign", ck.CKF_SIGN}
	opSignUpdate   = opCall{"C_SignUpdate", ck.CKF_SIGN}
	opSignFinal    = opCall{"C_SignFinal", ck.CKF_SIGN}
	opVerify       = opCall{"C_Verify", ck.CKF_VERIFY}
	opVerifyUpdate = opCall{"C_VerifyUpdate", ck.CKF_VERIFY}
	opVerifyFinal  = opCall{"C_VerifyFinal", ck.CKF_VERIFY}
	opDigest       = opCall{"C_Digest", ck.CKF_DIGEST}
	opDigestUpdate = opCall{"C_DigestUpdate", ck.CKF_DIGEST}
	opDigestFinal  = opCall{"C_DigestFinal", ck.CKF_DIGEST}
)

// argsBad answers arguments the call cannot use: p11 decides the code
// and ends the operation, as every error of these calls must.
func (c opCall) argsBad(hSession C.CK_SESSION_HANDLE) C.CK_RV {
	return rv(mod.ArgumentsBad(c.name, p11.SessionHandle(hSession), c.op))
}

//export goSignInit
func goSignInit(hSession C.CK_SESSION_HANDLE, pMechanism C.CK_MECHANISM_PTR, hKey C.CK_OBJECT_HANDLE) (r C.CK_RV) {
	t := trace("C_SignInit")
	defer t.end(&r)
	defer guard(&r)
	return initKeyOp(t, hSession, pMechanism, hKey, mod.SignInit)
}

//export goSign
func goSign(hSession C.CK_SESSION_HANDLE, pData C.CK_BYTE_PTR, ulDataLen C.CK_ULONG, pSignature C.CK_BYTE_PTR, pulSignatureLen C.CK_ULONG_PTR) (r C.CK_RV) {
	t := trace("C_Sign")
	defer t.end(&r)
	defer guard(&r)
	return oneShot(t, opSign, hSession, pData, ulDataLen, "pSignature", pSignature, "pulSignatureLen", pulSignatureLen, mod.Sign)
}

//export goSignUpdate
func goSignUpdate(hSession C.CK_SESSION_HANDLE, pPart C.CK_BYTE_PTR, ulPartLen C.CK_ULONG) (r C.CK_RV) {
	t := trace("C_SignUpdate")
	defer t.end(&r)
	defer guard(&r)
	return updatePart(t, opSignUpdate, hSession, pPart, ulPartLen, mod.SignUpdate)
}

//export goSignFinal
func goSignFinal(hSession C.CK_SESSION_HANDLE, pSignature C.CK_BYTE_PTR, pulSignatureLen C.CK_ULONG_PTR) (r C.CK_RV) {
	t := trace("C_SignFinal")
	defer t.end(&r)
	defer guard(&r)
	return finalOut(t, opSignFinal, hSession, "pSignature", pSignature, "pulSignatureLen", pulSignatureLen, mod.SignFinal)
}

//export goVerifyInit
func goVerifyInit(hSession C.CK_SESSION_HANDLE, pMechanism C.CK_MECHANISM_PTR, hKey C.CK_OBJECT_HANDLE) (r C.CK_RV) {
	t := trace("C_VerifyInit")
	defer t.end(&r)
	defer guard(&r)
	return initKeyOp(t, hSession, pMechanism, hKey, mod.VerifyInit)
}

//export goVerify
func goVerify(hSession C.CK_SESSION_HANDLE, pData C.CK_BYTE_PTR, ulDataLen C.CK_ULONG, pSignature C.CK_BYTE_PTR, ulSignatureLen C.CK_ULONG) (r C.CK_RV) {
	t := trace("C_Verify")
	defer t.end(&r)
	defer guard(&r)
	t.num("hSession", uint(hSession))
	t.secret("pData", unsafe.Pointer(pData), ulDataLen)
	t.secret("pSignature", unsafe.Pointer(pSignature), ulSignatureLen)
	if err := mod.Initialized(); err != nil {
		return rv(err)
	}
	data, ok := inBytes(unsafe.Pointer(pData), ulDataLen)
	sig, ok2 := inBytes(unsafe.Pointer(pSignature), ulSignatureLen)
	if !ok || !ok2 {
		return opVerify.argsBad(hSession)
	}
	return rv(mod.Verify(p11.SessionHandle(hSession), data, sig))
}

//export goVerifyUpdate
func goVerifyUpdate(hSession C.CK_SESSION_HANDLE, pPart C.CK_BYTE_PTR, ulPartLen C.CK_ULONG) (r C.CK_RV) {
	t := trace("C_VerifyUpdate")
	defer t.end(&r)
	defer guard(&r)
	return updatePart(t, opVerifyUpdate, hSession, pPart, ulPartLen, mod.VerifyUpdate)
}

//export goVerifyFinal
func goVerifyFinal(hSession C.CK_SESSION_HANDLE, pSignature C.CK_BYTE_PTR, ulSignatureLen C.CK_ULONG) (r C.CK_RV) {
	t := trace("C_VerifyFinal")
	defer t.end(&r)
	defer guard(&r)
	t.num("hSession", uint(hSession))
	t.secret("pSignature", unsafe.Pointer(pSignature), ulSignatureLen)
	if err := mod.Initialized(); err != nil {
		return rv(err)
	}
	sig, ok := inBytes(unsafe.Pointer(pSignature), ulSignatureLen)
	if !ok {
		return opVerifyFinal.argsBad(hSession)
	}
	return rv(mod.VerifyFinal(p11.SessionHandle(hSession), sig))
}

//export goDigestInit
func goDigestInit(hSession C.CK_SESSION_HANDLE, pMechanism C.CK_MECHANISM_PTR) (r C.CK_RV) {
	t := trace("C_DigestInit")
	defer t.end(&r)
	defer guard(&r)
	t.num("hSession", uint(hSession))
	t.mechanism("pMechanism", pMechanism)
	if err := mod.Initialized(); err != nil {
		return rv(err)
	}
	m, ok := inMechanism(pMechanism)
	if !ok {
		return rvArgsBad
	}
	return rv(mod.DigestInit(p11.SessionHandle(hSession), m))
}

//export goDigest
func goDigest(hSession C.CK_SESSION_HANDLE, pData C.CK_BYTE_PTR, ulDataLen C.CK_ULONG, pDigest C.CK_BYTE_PTR, pulDigestLen C.CK_ULONG_PTR) (r C.CK_RV) {
	t := trace("C_Digest")
	defer t.end(&r)
	defer guard(&r)
	return oneShot(t, opDigest, hSession, pData, ulDataLen, "pDigest", pDigest, "pulDigestLen", pulDigestLen, mod.Digest)
}

//export goDigestUpdate
func goDigestUpdate(hSession C.CK_SESSION_HANDLE, pPart C.CK_BYTE_PTR, ulPartLen C.CK_ULONG) (r C.CK_RV) {
	t := trace("C_DigestUpdate")
	defer t.end(&r)
	defer guard(&r)
	return updatePart(t, opDigestUpdate, hSession, pPart, ulPartLen, mod.DigestUpdate)
}

//export goDigestFinal
func goDigestFinal(hSession C.CK_SESSION_HANDLE, pDigest C.CK_BYTE_PTR, pulDigestLen C.CK_ULONG_PTR) (r C.CK_RV) {
	t := trace("C_DigestFinal")
	defer t.end(&r)
	defer guard(&r)
	return finalOut(t, opDigestFinal, hSession, "pDigest", pDigest, "pulDigestLen", pulDigestLen, mod.DigestFinal)
}

//export goSeedRandom
func goSeedRandom(hSession C.CK_SESSION_HANDLE, pSeed C.CK_BYTE_PTR, ulSeedLen C.CK_ULONG) (r C.CK_RV) {
	t := trace("C_SeedRandom")
	defer t.end(&r)
	defer guard(&r)
	t.num("hSession", uint(hSession))
	t.secret("pSeed", unsafe.Pointer(pSeed), ulSeedLen)
	if err := mod.Initialized(); err != nil {
		return rv(err)
	}
	seed, ok := inBytes(unsafe.Pointer(pSeed), ulSeedLen)
	if !ok {
		return rvArgsBad
	}
	return rv(mod.SeedRandom(p11.SessionHandle(hSession), seed))
}

//export goGenerateRandom
func goGenerateRandom(hSession C.CK_SESSION_HANDLE, pRandomData C.CK_BYTE_PTR, ulRandomLen C.CK_ULONG) (r C.CK_RV) {
	t := trace("C_GenerateRandom")
	defer t.end(&r)
	defer guard(&r)
	t.num("hSession", uint(hSession))
	t.num("ulRandomLen", uint(ulRandomLen))
	if err := mod.Initialized(); err != nil {
		return rv(err)
	}
	if (pRandomData == nil && ulRandomLen != 0) || ulRandomLen > maxBytes {
		return rvArgsBad
	}
	// The card has no random generator: p11 only checks the session.
	return rv(mod.GenerateRandom(p11.SessionHandle(hSession)))
}

// updatePart is the body of C_SignUpdate, C_VerifyUpdate and
// C_DigestUpdate: trace, check, copy the part in and call update.
func updatePart(t *tracer, c opCall, hSession C.CK_SESSION_HANDLE, pPart C.CK_BYTE_PTR, ulPartLen C.CK_ULONG, update func(p11.SessionHandle, []byte) error) C.CK_RV {
	t.num("hSession", uint(hSession))
	t.secret("pPart", unsafe.Pointer(pPart), ulPartLen)
	if err := mod.Initialized(); err != nil {
		return rv(err)
	}
	part, ok := inBytes(unsafe.Pointer(pPart), ulPartLen)
	if !ok {
		return c.argsBad(hSession)
	}
	return rv(update(p11.SessionHandle(hSession), part))
}

// finalOut is the body of C_SignFinal and C_DigestFinal: trace, check,
// call final with the caller's buffer and write the result back with the
// two-call size protocol.
func finalOut(t *tracer, c opCall, hSession C.CK_SESSION_HANDLE, pName string, p C.CK_BYTE_PTR, lenName string, pulLen C.CK_ULONG_PTR, final func(p11.SessionHandle, p11.OutBuf) ([]byte, uint, error)) C.CK_RV {
	t.num("hSession", uint(hSession))
	t.ptr(pName, unsafe.Pointer(p))
	outNum(t, lenName, pulLen, true)
	if err := mod.Initialized(); err != nil {
		return rv(err)
	}
	if pulLen == nil {
		return c.argsBad(hSession)
	}
	out := outBuf(p, pulLen)
	res, need, err := final(p11.SessionHandle(hSession), out)
	return writeOut(p, pulLen, out, res, need, err)
}

// oneShot is the body of C_Sign and C_Digest: trace, check, copy the data
// in, call op with the caller's buffer and write the result back with the
// two-call size protocol.
func oneShot(t *tracer, c opCall, hSession C.CK_SESSION_HANDLE, pData C.CK_BYTE_PTR, ulDataLen C.CK_ULONG, pName string, p C.CK_BYTE_PTR, lenName string, pulLen C.CK_ULONG_PTR, op func(p11.SessionHandle, []byte, p11.OutBuf) ([]byte, uint, error)) C.CK_RV {
	t.num("hSession", uint(hSession))
	t.secret("pData", unsafe.Pointer(pData), ulDataLen)
	t.ptr(pName, unsafe.Pointer(p))
	outNum(t, lenName, pulLen, true)
	if err := mod.Initialized(); err != nil {
		return rv(err)
	}
	data, ok := inBytes(unsafe.Pointer(pData), ulDataLen)
	if !ok || pulLen == nil {
		return c.argsBad(hSession)
	}
	out := outBuf(p, pulLen)
	res, need, err := op(p11.SessionHandle(hSession), data, out)
	return writeOut(p, pulLen, out, res, need, err)
}

// initKeyOp is the body of C_SignInit and C_VerifyInit: trace, check,
// copy the mechanism in and call init.
func initKeyOp(t *tracer, hSession C.CK_SESSION_HANDLE, pMechanism C.CK_MECHANISM_PTR, hKey C.CK_OBJECT_HANDLE, init func(p11.SessionHandle, p11.Mechanism, p11.ObjectHandle) error) C.CK_RV {
	t.num("hSession", uint(hSession))
	t.mechanism("pMechanism", pMechanism)
	t.num("hKey", uint(hKey))
	if err := mod.Initialized(); err != nil {
		return rv(err)
	}
	m, ok := inMechanism(pMechanism)
	if !ok {
		return rvArgsBad
	}
	return rv(init(p11.SessionHandle(hSession), m, p11.ObjectHandle(hKey)))
}
