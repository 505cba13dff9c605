package conformance

import (
	"sort"

	"github.com/stretchr/testify/assert"

	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// Buffer sizes of the structures the module fills.
const (
	infoSize      = 128 // CK_INFO, CK_SLOT_INFO and CK_SESSION_INFO fit
	tokenInfoSize = 256 // CK_TOKEN_INFO
	sigLen        = 256 // RSA-2048
	sha256Len     = 32
	interfaceSize = 24 // CK_INTERFACE
)

const soFlags = ck.CKF_SO_PIN_COUNT_LOW | ck.CKF_SO_PIN_FINAL_TRY | ck.CKF_SO_PIN_LOCKED | ck.CKF_SO_PIN_TO_BE_CHANGED

// wrongPIN is a well-formed PIN that is not the token's (a try is spent
// on the run's own copy of the card).
func wrongPIN(tok token) []byte {
	if tok.name == "sign" {
		return []byte("WRONG99")
	}
	return []byte("9999")
}

// okIf answers CKR_OK when cond holds, else CKR_GENERAL_ERROR (for rules
// about a value rather than a code; the assertion says which).
func okIf(e *env, cond bool, msg string, args ...any) uint {
	if !assert.Truef(e.t, cond, msg, args...) {
		return ck.CKR_GENERAL_ERROR
	}
	return ck.CKR_OK
}

// signature has the token sign "data" and returns the signature.
func (e *env) signature() []byte {
	e.ok(Call(FSignInit, U(e.s), e.mech(ck.CKM_SHA256_RSA_PKCS), U(e.priv)), "C_SignInit")
	out, n := e.m.Buf(sigLen, nil), e.m.Ulong(sigLen)
	e.ok(Call(FSign, U(e.s), e.m.Bytes([]byte("data")), U(4), out, n), "C_Sign")
	return Read(out, int(ReadUlong(n)))
}

// outCall calls a C_Sign/C_Digest-shaped function (data, out, *len) or
// its Final (out, *len) with an output buffer of n bytes (n < 0: NULL).
func outCall(e *env, fn Fn, n int) (uint, uint) {
	out, pn := Null, e.m.Ulong(uint(max(n, 0)))
	if n >= 0 {
		out = e.m.Buf(n, nil)
	}
	var rv uint
	if fn == FSign || fn == FDigest {
		rv = Call(fn, U(e.s), e.m.Bytes([]byte("data")), U(4), out, pn)
	} else {
		rv = Call(fn, U(e.s), out, pn)
	}
	return rv, ReadUlong(pn)
}

func table() []rule {
	t := []rule{
		// --- General purpose (v2.40 §5.4) ---
		{sec: "§5.4.1", text: "C_Initialize when initialised: CKR_CRYPTOKI_ALREADY_INITIALIZED", in: noSession,
			call: func(e *env) uint { return Call(FInitialize, Null) }, want: ck.CKR_CRYPTOKI_ALREADY_INITIALIZED},
		{sec: "§5.4.2", text: "C_Finalize with pReserved not NULL: CKR_ARGUMENTS_BAD", in: noSession,
			call: func(e *env) uint { return Call(FFinalize, e.m.Buf(8, nil)) }, want: ck.CKR_ARGUMENTS_BAD},
		{sec: "§5.4.2", text: "C_Finalize ends the module: sessions are gone", in: roPublic,
			call: func(e *env) uint { return Call(FFinalize, Null) }, want: ck.CKR_OK,
			next: func(e *env) uint { return Call(FGetSessionInfo, U(e.s), e.m.Buf(infoSize, nil)) }, nextWant: ck.CKR_CRYPTOKI_NOT_INITIALIZED},
		{sec: "§5.4.3", text: "C_GetInfo with NULL pInfo: CKR_ARGUMENTS_BAD", in: noSession,
			call: func(e *env) uint { return Call(FGetInfo, Null) }, want: ck.CKR_ARGUMENTS_BAD},
		{sec: "§5.4.4", text: "C_GetFunctionList works before C_Initialize", in: notInit,
			call: func(e *env) uint { return Call(FGetFunctionList, e.m.Buf(8, nil)) }, want: ck.CKR_OK},
		{sec: "§5.4.4", text: "C_GetFunctionList with NULL ppFunctionList: CKR_ARGUMENTS_BAD", in: notInit,
			call: func(e *env) uint { return Call(FGetFunctionList, Null) }, want: ck.CKR_ARGUMENTS_BAD},
		{sec: "3.0 §5.4 C_GetInterface", text: "C_GetInterface(\"PKCS 11\") works before C_Initialize", in: notInit,
			call: func(e *env) uint {
				return Call(FGetInterface, e.m.Bytes([]byte("PKCS 11\x00")), Null, e.m.Buf(8, nil), U(0))
			}, want: ck.CKR_OK},
		{sec: "3.0 §5.4 C_GetInterface", text: "C_GetInterface(\"PKCS 11\") with NULL ppInterface: CKR_ARGUMENTS_BAD", in: notInit,
			call: func(e *env) uint { return Call(FGetInterface, e.m.Bytes([]byte("PKCS 11\x00")), Null, Null, U(0)) }, want: ck.CKR_ARGUMENTS_BAD},
		{sec: "3.0 §5.4 C_GetInterface", text: "C_GetInterface with every pointer NULL: CKR_ARGUMENTS_BAD", in: notInit,
			call: func(e *env) uint { return Call(FGetInterface, Null, Null, Null, U(0)) }, want: ck.CKR_ARGUMENTS_BAD},
		{sec: "3.0 §5.4 C_GetInterfaceList", text: "C_GetInterfaceList with NULL pulCount: CKR_ARGUMENTS_BAD", in: notInit,
			call: func(e *env) uint { return Call(FGetInterfaceList, e.m.Buf(5*interfaceSize, nil), Null) }, want: ck.CKR_ARGUMENTS_BAD},
		{sec: "3.0 §5.4 C_GetInterfaceList", text: "C_GetInterfaceList with both pointers NULL: CKR_ARGUMENTS_BAD", in: notInit,
			call: func(e *env) uint { return Call(FGetInterfaceList, Null, Null) }, want: ck.CKR_ARGUMENTS_BAD},

		// --- Slot and token management (§5.5) ---
		{sec: "§5.5.1, §5.2", text: "C_GetSlotList with NULL pSlotList: CKR_OK and the count", in: noSession,
			call: func(e *env) uint {
				n := e.m.Ulong(0)
				rv := Call(FGetSlotList, U(1), Null, n)
				return max(rv, okIf(e, ReadUlong(n) == 2, "count %d", ReadUlong(n)))
			}, want: ck.CKR_OK},
		{sec: "§5.5.1, §5.2", text: "C_GetSlotList with a buffer too small: CKR_BUFFER_TOO_SMALL and the count", in: noSession,
			call: func(e *env) uint {
				n := e.m.Ulong(1)
				rv := Call(FGetSlotList, U(1), e.m.Buf(8, nil), n)
				okIf(e, ReadUlong(n) == 2, "count %d", ReadUlong(n))
				return rv
			}, want: ck.CKR_BUFFER_TOO_SMALL},
		{sec: "§5.5.1", text: "C_GetSlotList with NULL pulCount: CKR_ARGUMENTS_BAD", in: noSession,
			call: func(e *env) uint { return Call(FGetSlotList, U(1), Null, Null) }, want: ck.CKR_ARGUMENTS_BAD},
		{sec: "§5.5.2", text: "C_GetSlotInfo of an unknown slot: CKR_SLOT_ID_INVALID", in: noSession,
			call: func(e *env) uint { return Call(FGetSlotInfo, U(badSlot), e.m.Buf(infoSize, nil)) }, want: ck.CKR_SLOT_ID_INVALID},
		{sec: "§5.5.2", text: "C_GetSlotInfo with NULL pInfo: CKR_ARGUMENTS_BAD", in: noSession,
			call: func(e *env) uint { return Call(FGetSlotInfo, U(e.slot), Null) }, want: ck.CKR_ARGUMENTS_BAD},
		{sec: "§5.5.3", text: "C_GetTokenInfo of an unknown slot: CKR_SLOT_ID_INVALID", in: noSession,
			call: func(e *env) uint { return Call(FGetTokenInfo, U(badSlot), e.m.Buf(tokenInfoSize, nil)) }, want: ck.CKR_SLOT_ID_INVALID},
		{sec: "§5.5.3", text: "C_GetTokenInfo with NULL pInfo: CKR_ARGUMENTS_BAD", in: noSession,
			call: func(e *env) uint { return Call(FGetTokenInfo, U(e.slot), Null) }, want: ck.CKR_ARGUMENTS_BAD},
		{sec: "§3.2 CK_TOKEN_INFO", text: "no CKF_SO_PIN_* flag (the token has no security officer), CKF_WRITE_PROTECTED set", in: roPublic,
			call: func(e *env) uint {
				f := e.tokenFlags()
				return okIf(e, f&soFlags == 0 && f&ck.CKF_WRITE_PROTECTED != 0 && f&ck.CKF_LOGIN_REQUIRED != 0, "flags %#x", f)
			}, want: ck.CKR_OK},
		{sec: "§3.2 CK_TOKEN_INFO", text: "still no CKF_SO_PIN_* flag after C_Login(CKU_SO) was refused", in: roPublic,
			call: func(e *env) uint {
				Call(FLogin, U(e.s), U(ck.CKU_SO), e.m.Bytes([]byte("12345678")), U(8))
				f := e.tokenFlags()
				return okIf(e, f&soFlags == 0, "flags %#x", f)
			}, want: ck.CKR_OK},
		{sec: "§5.5.4", text: "C_WaitForSlotEvent(CKF_DONT_BLOCK) returns at once: an event or CKR_NO_EVENT", in: noSession,
			call: func(e *env) uint { return Call(FWaitForSlotEvent, U(ck.CKF_DONT_BLOCK), e.m.Ulong(0), Null) },
			want: ck.CKR_NO_EVENT, also: []uint{ck.CKR_OK}},
		{sec: "§5.5.4", text: "C_WaitForSlotEvent with pReserved not NULL: CKR_ARGUMENTS_BAD", in: noSession,
			call: func(e *env) uint { return Call(FWaitForSlotEvent, U(ck.CKF_DONT_BLOCK), e.m.Ulong(0), e.m.Buf(8, nil)) }, want: ck.CKR_ARGUMENTS_BAD},
		{sec: "§5.5.5, §5.2", text: "C_GetMechanismList with NULL pMechanismList: CKR_OK and the count", in: noSession,
			call: func(e *env) uint {
				n := e.m.Ulong(0)
				rv := Call(FGetMechanismList, U(e.slot), Null, n)
				return max(rv, okIf(e, ReadUlong(n) > 0, "count %d", ReadUlong(n)))
			}, want: ck.CKR_OK},
		{sec: "§5.5.5, §5.2", text: "C_GetMechanismList with a buffer too small: CKR_BUFFER_TOO_SMALL", in: noSession,
			call: func(e *env) uint { return Call(FGetMechanismList, U(e.slot), e.m.Buf(8, nil), e.m.Ulong(1)) }, want: ck.CKR_BUFFER_TOO_SMALL},
		{sec: "§5.5.5", text: "C_GetMechanismList of an unknown slot: CKR_SLOT_ID_INVALID", in: noSession,
			call: func(e *env) uint { return Call(FGetMechanismList, U(badSlot), Null, e.m.Ulong(0)) }, want: ck.CKR_SLOT_ID_INVALID},
		{sec: "§5.5.6", text: "C_GetMechanismInfo of a mechanism not offered: CKR_MECHANISM_INVALID", in: noSession,
			call: func(e *env) uint { return Call(FGetMechanismInfo, U(e.slot), U(ck.CKM_MD5), e.m.Buf(24, nil)) }, want: ck.CKR_MECHANISM_INVALID},
		{sec: "§5.5.6", text: "C_GetMechanismInfo of an unknown slot: CKR_SLOT_ID_INVALID", in: noSession,
			call: func(e *env) uint { return Call(FGetMechanismInfo, U(badSlot), U(ck.CKM_SHA256), e.m.Buf(24, nil)) }, want: ck.CKR_SLOT_ID_INVALID},
		{sec: "§5.5.7, §5.1.6", text: "C_InitToken: CKR_FUNCTION_NOT_SUPPORTED (the card cannot be initialised)", in: noSession,
			call: func(e *env) uint {
				return Call(FInitToken, U(e.slot), e.m.Bytes([]byte("12345678")), U(8), e.m.Buf(32, []byte("label")))
			}, want: ck.CKR_FUNCTION_NOT_SUPPORTED},
		{sec: "§5.5.8, §5.1.6", text: "C_InitPIN: CKR_FUNCTION_NOT_SUPPORTED (no security officer: only the municipal office resets a PIN)", in: rwPublic,
			call: func(e *env) uint {
				return Call(FInitPIN, U(e.s), e.m.Bytes([]byte(e.tok.pin)), U(uint(len(e.tok.pin))))
			},
			want: ck.CKR_FUNCTION_NOT_SUPPORTED, also: []uint{ck.CKR_USER_NOT_LOGGED_IN}},
		{sec: "§5.5.9", text: "C_SetPIN in a read-only session: CKR_SESSION_READ_ONLY", in: roPublic,
			call: func(e *env) uint {
				p := []byte(e.tok.pin)
				return Call(FSetPIN, U(e.s), e.m.Bytes(p), U(uint(len(p))), e.m.Bytes(p), U(uint(len(p))))
			}, want: ck.CKR_SESSION_READ_ONLY},
		{sec: "§5.5.9", text: "C_SetPIN with NULL pOldPin and a length: CKR_ARGUMENTS_BAD", in: rwPublic,
			call: func(e *env) uint {
				p := []byte(e.tok.pin)
				return Call(FSetPIN, U(e.s), Null, U(uint(len(p))), e.m.Bytes(p), U(uint(len(p))))
			}, want: ck.CKR_ARGUMENTS_BAD},

		// --- Session management (§5.6) ---
		{sec: "§5.6.1", text: "C_OpenSession without CKF_SERIAL_SESSION: CKR_SESSION_PARALLEL_NOT_SUPPORTED", in: noSession,
			call: func(e *env) uint { return Call(FOpenSession, U(e.slot), U(0), Null, Null, e.m.Ulong(0)) }, want: ck.CKR_SESSION_PARALLEL_NOT_SUPPORTED},
		{sec: "§5.6.1", text: "C_OpenSession on an unknown slot: CKR_SLOT_ID_INVALID", in: noSession,
			call: func(e *env) uint {
				return Call(FOpenSession, U(badSlot), U(ck.CKF_SERIAL_SESSION), Null, Null, e.m.Ulong(0))
			}, want: ck.CKR_SLOT_ID_INVALID},
		{sec: "§5.6.1", text: "C_OpenSession with NULL phSession: CKR_ARGUMENTS_BAD", in: noSession,
			call: func(e *env) uint { return Call(FOpenSession, U(e.slot), U(ck.CKF_SERIAL_SESSION), Null, Null, Null) }, want: ck.CKR_ARGUMENTS_BAD},
		{sec: "§5.6.2", text: "a closed session's handle is invalid", in: roPublic,
			call: func(e *env) uint { return Call(FCloseSession, U(e.s)) }, want: ck.CKR_OK,
			next: func(e *env) uint { return Call(FGetSessionInfo, U(e.s), e.m.Buf(infoSize, nil)) }, nextWant: ck.CKR_SESSION_HANDLE_INVALID},
		{sec: "§5.6.2", text: "closing the last session of the token logs it out", in: roUser,
			call: func(e *env) uint { return Call(FCloseSession, U(e.s)) }, want: ck.CKR_OK,
			next: func(e *env) uint {
				st := e.sessionState(e.open(false))
				return okIf(e, st == ck.CKS_RO_PUBLIC_SESSION, "state %d", st)
			}, nextWant: ck.CKR_OK},
		{sec: "§5.6.3", text: "C_CloseAllSessions of an unknown slot: CKR_SLOT_ID_INVALID", in: noSession,
			call: func(e *env) uint { return Call(FCloseAllSessions, U(badSlot)) }, want: ck.CKR_SLOT_ID_INVALID},
		{sec: "§5.6.3", text: "C_CloseAllSessions invalidates the token's sessions", in: roPublic,
			call: func(e *env) uint { return Call(FCloseAllSessions, U(e.slot)) }, want: ck.CKR_OK,
			next: func(e *env) uint { return Call(FCloseSession, U(e.s)) }, nextWant: ck.CKR_SESSION_HANDLE_INVALID},
		{sec: "§5.6.4", text: "C_GetSessionInfo with NULL pInfo: CKR_ARGUMENTS_BAD", in: roPublic,
			call: func(e *env) uint { return Call(FGetSessionInfo, U(e.s), Null) }, want: ck.CKR_ARGUMENTS_BAD},
		{sec: "§5.6.5, §5.1.6", text: "C_GetOperationState: CKR_FUNCTION_NOT_SUPPORTED", in: signActive,
			call: func(e *env) uint { return Call(FGetOperationState, U(e.s), Null, e.m.Ulong(0)) }, want: ck.CKR_FUNCTION_NOT_SUPPORTED},
		{sec: "§5.6.6, §5.1.6", text: "C_SetOperationState: CKR_FUNCTION_NOT_SUPPORTED", in: roPublic,
			call: func(e *env) uint { return Call(FSetOperationState, U(e.s), e.m.Buf(8, nil), U(8), U(0), U(0)) }, want: ck.CKR_FUNCTION_NOT_SUPPORTED},
		{sec: "§5.6.7", text: "C_Login(CKU_USER) when logged in: CKR_USER_ALREADY_LOGGED_IN", in: roUser,
			call: func(e *env) uint { return e.login(e.s) }, want: ck.CKR_USER_ALREADY_LOGGED_IN},
		{sec: "§5.6.7", text: "a login holds for every session of the token", in: roUser,
			call: func(e *env) uint {
				st := e.sessionState(e.open(true))
				return okIf(e, st == ck.CKS_RW_USER_FUNCTIONS, "state %d", st)
			}, want: ck.CKR_OK},
		{sec: "§5.6.7", text: "C_Login with an unknown user type: CKR_USER_TYPE_INVALID", in: roPublic,
			call: func(e *env) uint {
				return Call(FLogin, U(e.s), U(7), e.m.Bytes([]byte(e.tok.pin)), U(uint(len(e.tok.pin))))
			}, want: ck.CKR_USER_TYPE_INVALID},
		{sec: "§5.6.7; README", text: "C_Login(CKU_SO): CKR_USER_TYPE_INVALID (the token has no security officer)", in: rwPublic,
			call: func(e *env) uint { return Call(FLogin, U(e.s), U(ck.CKU_SO), e.m.Bytes([]byte("12345678")), U(8)) }, want: ck.CKR_USER_TYPE_INVALID,
			next: func(e *env) uint {
				st := e.sessionState(e.s)
				return okIf(e, st == ck.CKS_RW_PUBLIC_SESSION, "state %d", st)
			}, nextWant: ck.CKR_OK},
		{sec: "§5.6.7", text: "C_Login(CKU_CONTEXT_SPECIFIC) without an operation: CKR_OPERATION_NOT_INITIALIZED", in: roUser,
			call: func(e *env) uint {
				return Call(FLogin, U(e.s), U(ck.CKU_CONTEXT_SPECIFIC), e.m.Bytes([]byte(e.tok.pin)), U(uint(len(e.tok.pin))))
			}, want: ck.CKR_OPERATION_NOT_INITIALIZED},
		{sec: "§5.6.7", text: "C_Login(CKU_CONTEXT_SPECIFIC) during a signing operation: CKR_OK, the operation goes on", in: signActive,
			call: func(e *env) uint {
				return Call(FLogin, U(e.s), U(ck.CKU_CONTEXT_SPECIFIC), e.m.Bytes([]byte(e.tok.pin)), U(uint(len(e.tok.pin))))
			}, want: ck.CKR_OK, next: probeSign, nextWant: ck.CKR_OK},
		{sec: "§5.6.7", text: "C_Login with a wrong PIN: CKR_PIN_INCORRECT, still logged out", in: roPublic,
			call: func(e *env) uint {
				p := wrongPIN(e.tok)
				return Call(FLogin, U(e.s), U(ck.CKU_USER), e.m.Bytes(p), U(uint(len(p))))
			}, want: ck.CKR_PIN_INCORRECT,
			next: func(e *env) uint { return Call(FLogout, U(e.s)) }, nextWant: ck.CKR_USER_NOT_LOGGED_IN},
		{sec: "§5.6.7", text: "C_Login with a PIN of the wrong length: CKR_PIN_INCORRECT (C_Login's codes include no length error), still logged out", in: roPublic,
			call: func(e *env) uint {
				p := []byte("12345678901234567") // too long for either token
				return Call(FLogin, U(e.s), U(ck.CKU_USER), e.m.Bytes(p), U(uint(len(p))))
			}, want: ck.CKR_PIN_INCORRECT,
			next: func(e *env) uint { return Call(FLogout, U(e.s)) }, nextWant: ck.CKR_USER_NOT_LOGGED_IN},
		{sec: "§5.6.7", text: "C_Login with NULL pPin and a length: CKR_ARGUMENTS_BAD", in: roPublic,
			call: func(e *env) uint { return Call(FLogin, U(e.s), U(ck.CKU_USER), Null, U(4)) }, want: ck.CKR_ARGUMENTS_BAD},
		{sec: "§5.6.8", text: "C_Logout when not logged in: CKR_USER_NOT_LOGGED_IN", in: roPublic,
			call: func(e *env) uint { return Call(FLogout, U(e.s)) }, want: ck.CKR_USER_NOT_LOGGED_IN},
		{sec: "§5.6.8", text: "after C_Logout a private object's handle is invalid", in: afterLogout,
			call: func(e *env) uint {
				return Call(FGetAttributeValue, U(e.s), U(e.priv), e.m.Template(Attr{Type: ck.CKA_CLASS}), U(1))
			}, want: ck.CKR_OBJECT_HANDLE_INVALID},
		{sec: "3.0 §5.6 C_LoginUser", text: "C_LoginUser(CKU_USER) logs in as C_Login does", in: roPublic,
			call: func(e *env) uint {
				return Call(FLoginUser, U(e.s), U(ck.CKU_USER), e.m.Bytes([]byte(e.tok.pin)), U(uint(len(e.tok.pin))), e.m.Bytes([]byte("user")), U(4))
			}, want: ck.CKR_OK,
			next: func(e *env) uint {
				st := e.sessionState(e.s)
				return okIf(e, st == ck.CKS_RO_USER_FUNCTIONS, "state %d", st)
			}, nextWant: ck.CKR_OK},
		{sec: "3.0 §5.6 C_SessionCancel", text: "C_SessionCancel(CKF_SIGN) ends the signing operation", in: signActive,
			call: func(e *env) uint { return Call(FSessionCancel, U(e.s), U(ck.CKF_SIGN)) }, want: ck.CKR_OK,
			next: probeSign, nextWant: ck.CKR_OPERATION_NOT_INITIALIZED},

		// --- Object management (§5.7) ---
		{sec: "§5.7.1, §5.1.6", text: "C_CreateObject of a token object in a read-only session: CKR_TOKEN_WRITE_PROTECTED (outranks CKR_SESSION_READ_ONLY)", in: roPublic,
			call: func(e *env) uint { return createData(e, true) }, want: ck.CKR_TOKEN_WRITE_PROTECTED},
		{sec: "§5.7.1, §5.1.6", text: "C_CreateObject of a token object in a read/write session: CKR_TOKEN_WRITE_PROTECTED", in: rwUser,
			call: func(e *env) uint { return createData(e, true) }, want: ck.CKR_TOKEN_WRITE_PROTECTED},
		{sec: "§5.7.1, §3.2; README", text: "C_CreateObject of a session object (CKA_TOKEN false): CKR_TOKEN_WRITE_PROTECTED (not supported)", in: roPublic,
			call: func(e *env) uint { return createData(e, false) }, want: ck.CKR_TOKEN_WRITE_PROTECTED},
		{sec: "§5.7.1, §3.2; README", text: "C_CreateObject of a session object in a read/write session: CKR_TOKEN_WRITE_PROTECTED", in: rwPublic,
			call: func(e *env) uint { return createData(e, false) }, want: ck.CKR_TOKEN_WRITE_PROTECTED},
		{sec: "§5.7.1", text: "C_CreateObject with NULL pTemplate and a count: CKR_ARGUMENTS_BAD", in: rwPublic,
			call: func(e *env) uint { return Call(FCreateObject, U(e.s), Null, U(2), e.m.Ulong(0)) }, want: ck.CKR_ARGUMENTS_BAD},
		{sec: "§5.7.2, §5.1.6", text: "C_CopyObject in a read-only session: CKR_TOKEN_WRITE_PROTECTED", in: roUser,
			call: func(e *env) uint { return copyObj(e, e.cert) }, want: ck.CKR_TOKEN_WRITE_PROTECTED},
		{sec: "§5.7.2, §5.1.6", text: "C_CopyObject in a read/write session: CKR_TOKEN_WRITE_PROTECTED", in: rwUser,
			call: func(e *env) uint { return copyObj(e, e.cert) }, want: ck.CKR_TOKEN_WRITE_PROTECTED},
		{sec: "§5.7.2", text: "C_CopyObject of an unknown object: CKR_OBJECT_HANDLE_INVALID", in: rwUser,
			call: func(e *env) uint { return copyObj(e, badObject) }, want: ck.CKR_OBJECT_HANDLE_INVALID},
		{sec: "§5.7.3, §5.1.6", text: "C_DestroyObject in a read-only session: CKR_TOKEN_WRITE_PROTECTED", in: roUser,
			call: func(e *env) uint { return Call(FDestroyObject, U(e.s), U(e.cert)) }, want: ck.CKR_TOKEN_WRITE_PROTECTED},
		{sec: "§5.7.3, §5.1.6", text: "C_DestroyObject in a read/write session: CKR_TOKEN_WRITE_PROTECTED", in: rwUser,
			call: func(e *env) uint { return Call(FDestroyObject, U(e.s), U(e.priv)) }, want: ck.CKR_TOKEN_WRITE_PROTECTED},
		{sec: "§5.7.3", text: "C_DestroyObject of an unknown object: CKR_OBJECT_HANDLE_INVALID", in: rwUser,
			call: func(e *env) uint { return Call(FDestroyObject, U(e.s), U(badObject)) }, want: ck.CKR_OBJECT_HANDLE_INVALID},
		{sec: "§5.7.4", text: "C_GetObjectSize with NULL pulSize: CKR_ARGUMENTS_BAD", in: roUser,
			call: func(e *env) uint { return Call(FGetObjectSize, U(e.s), U(e.cert), Null) }, want: ck.CKR_ARGUMENTS_BAD},
		{sec: "§5.7.4", text: "C_GetObjectSize of an unknown object: CKR_OBJECT_HANDLE_INVALID", in: roUser,
			call: func(e *env) uint { return Call(FGetObjectSize, U(e.s), U(badObject), e.m.Ulong(0)) }, want: ck.CKR_OBJECT_HANDLE_INVALID},
		{sec: "§5.7.5, §5.2", text: "C_GetAttributeValue with NULL pValue: CKR_OK and the length", in: roUser,
			call: func(e *env) uint {
				tmpl := e.m.Template(Attr{Type: ck.CKA_VALUE})
				rv := Call(FGetAttributeValue, U(e.s), U(e.cert), tmpl, U(1))
				n := TemplateLens(tmpl, 1)[0]
				return max(rv, okIf(e, n > 100 && n != ck.CK_UNAVAILABLE_INFORMATION, "ulValueLen %d", n))
			}, want: ck.CKR_OK},
		{sec: "§5.7.5", text: "C_GetAttributeValue with a buffer too small: CKR_BUFFER_TOO_SMALL, ulValueLen CK_UNAVAILABLE_INFORMATION", in: roUser,
			call: func(e *env) uint { return attrOne(e, e.cert, Attr{Type: ck.CKA_VALUE, Len: 10}) }, want: ck.CKR_BUFFER_TOO_SMALL},
		{sec: "§5.7.5", text: "C_GetAttributeValue of a sensitive attribute: CKR_ATTRIBUTE_SENSITIVE, ulValueLen CK_UNAVAILABLE_INFORMATION", in: roUser,
			call: func(e *env) uint { return attrOne(e, e.priv, Attr{Type: ck.CKA_PRIVATE_EXPONENT, Len: 512}) }, want: ck.CKR_ATTRIBUTE_SENSITIVE},
		{sec: "§5.7.5", text: "C_GetAttributeValue of an attribute the object lacks: CKR_ATTRIBUTE_TYPE_INVALID, ulValueLen CK_UNAVAILABLE_INFORMATION", in: roUser,
			call: func(e *env) uint { return attrOne(e, e.cert, Attr{Type: ck.CKA_MODULUS, Len: 512}) }, want: ck.CKR_ATTRIBUTE_TYPE_INVALID},
		{sec: "§5.7.5", text: "C_GetAttributeValue processes every attribute: the valid one is answered beside the sensitive one", in: roUser,
			call: func(e *env) uint {
				tmpl := e.m.Template(Attr{Type: ck.CKA_PRIVATE_EXPONENT}, Attr{Type: ck.CKA_ID})
				rv := Call(FGetAttributeValue, U(e.s), U(e.priv), tmpl, U(2))
				lens := TemplateLens(tmpl, 2)
				okIf(e, lens[0] == ck.CK_UNAVAILABLE_INFORMATION && lens[1] == 1, "ulValueLen %v", lens)
				return rv
			}, want: ck.CKR_ATTRIBUTE_SENSITIVE},
		{sec: "§5.7.5", text: "C_GetAttributeValue with NULL pTemplate and a count: CKR_ARGUMENTS_BAD", in: roUser,
			call: func(e *env) uint { return Call(FGetAttributeValue, U(e.s), U(e.cert), Null, U(1)) }, want: ck.CKR_ARGUMENTS_BAD},
		{sec: "§5.7.6, §5.1.6", text: "C_SetAttributeValue in a read-only session: CKR_TOKEN_WRITE_PROTECTED", in: roUser,
			call: func(e *env) uint { return setLabel(e) }, want: ck.CKR_TOKEN_WRITE_PROTECTED},
		{sec: "§5.7.6, §5.1.6", text: "C_SetAttributeValue in a read/write session: CKR_TOKEN_WRITE_PROTECTED", in: rwUser,
			call: func(e *env) uint { return setLabel(e) }, want: ck.CKR_TOKEN_WRITE_PROTECTED},
		{sec: "§4.4 CKA_PRIVATE", text: "private objects are not found while logged out", in: roPublic,
			call: func(e *env) uint { return okIf(e, e.priv == 0, "private key %d found before login", e.priv) }, want: ck.CKR_OK},
		{sec: "§4.4 CKA_PRIVATE", text: "the private key is found once logged in", in: roUser,
			call: func(e *env) uint { return okIf(e, e.priv != 0, "no private key after login") }, want: ck.CKR_OK},
		{sec: "§5.7.7", text: "C_FindObjectsInit while a search is active: CKR_OPERATION_ACTIVE, the search goes on", in: findActive,
			call: func(e *env) uint { return Call(FFindObjectsInit, U(e.s), Null, U(0)) }, want: ck.CKR_OPERATION_ACTIVE,
			next: probeFind, nextWant: ck.CKR_OK},
		{sec: "§5.7.7", text: "C_FindObjectsInit with NULL pTemplate and a count: CKR_ARGUMENTS_BAD", in: roPublic,
			call: func(e *env) uint { return Call(FFindObjectsInit, U(e.s), Null, U(1)) }, want: ck.CKR_ARGUMENTS_BAD},
		{sec: "§5.7.8", text: "C_FindObjects without C_FindObjectsInit: CKR_OPERATION_NOT_INITIALIZED", in: roPublic,
			call: probeFind, want: ck.CKR_OPERATION_NOT_INITIALIZED},
		{sec: "§5.7.7", text: "C_FindObjectsInit with a NULL pValue and a length in the template: CKR_ARGUMENTS_BAD", in: roPublic,
			call: func(e *env) uint {
				return Call(FFindObjectsInit, U(e.s), e.m.Template(Attr{Type: ck.CKA_CLASS, NullLen: 8}), U(1))
			}, want: ck.CKR_ARGUMENTS_BAD},
		{sec: "§5.7.8", text: "C_FindObjects with NULL phObject: CKR_ARGUMENTS_BAD, the search goes on", in: findActive,
			call: func(e *env) uint { return Call(FFindObjects, U(e.s), Null, U(8), e.m.Ulong(0)) }, want: ck.CKR_ARGUMENTS_BAD,
			next: probeFind, nextWant: ck.CKR_OK},
		{sec: "§5.7.8", text: "C_FindObjects with NULL pulObjectCount: CKR_ARGUMENTS_BAD", in: findActive,
			call: func(e *env) uint { return Call(FFindObjects, U(e.s), e.m.Buf(8, nil), U(1), Null) }, want: ck.CKR_ARGUMENTS_BAD},
		{sec: "§5.7.9", text: "C_FindObjectsFinal without C_FindObjectsInit: CKR_OPERATION_NOT_INITIALIZED", in: roPublic,
			call: func(e *env) uint { return Call(FFindObjectsFinal, U(e.s)) }, want: ck.CKR_OPERATION_NOT_INITIALIZED},
		{sec: "§5.7.9", text: "C_FindObjectsFinal ends the search", in: findActive,
			call: func(e *env) uint { return Call(FFindObjectsFinal, U(e.s)) }, want: ck.CKR_OK,
			next: probeFind, nextWant: ck.CKR_OPERATION_NOT_INITIALIZED},
		{sec: "module (README)", text: "the auth certificate is public: found before login", in: roPublic, only: "auth",
			call: func(e *env) uint { return okIf(e, e.cert != 0, "auth certificate not found before login") }, want: ck.CKR_OK},
		{sec: "module (README)", text: "the sign token shows its CA certificate (ID 04) before login, not its certificate (ID 02)", in: roPublic, only: "sign",
			call: func(e *env) uint {
				ca := e.find(e.s, ck.CKO_CERTIFICATE, 4)
				return okIf(e, len(ca) == 1 && e.cert == 0 && e.pub == 0, "CA %v, certificate %d, public key %d", ca, e.cert, e.pub)
			}, want: ck.CKR_OK},

		// --- Encryption, decryption (§5.8, §5.9): the card cannot ---
		{sec: "§5.8.1, §5.1.6", text: "C_EncryptInit: CKR_FUNCTION_NOT_SUPPORTED", in: roUser,
			call: func(e *env) uint { return Call(FEncryptInit, U(e.s), e.mech(ck.CKM_RSA_PKCS), U(e.pub)) }, want: ck.CKR_FUNCTION_NOT_SUPPORTED},
		{sec: "§5.9.1, §5.1.6", text: "C_DecryptInit: CKR_FUNCTION_NOT_SUPPORTED", in: roUser,
			call: func(e *env) uint { return Call(FDecryptInit, U(e.s), e.mech(ck.CKM_RSA_PKCS), U(e.priv)) }, want: ck.CKR_FUNCTION_NOT_SUPPORTED},

		// --- Message digesting (§5.10) ---
		{sec: "§5.10.1", text: "C_DigestInit of a mechanism not offered: CKR_MECHANISM_INVALID", in: roPublic,
			call: func(e *env) uint { return Call(FDigestInit, U(e.s), e.mech(ck.CKM_MD5)) }, want: ck.CKR_MECHANISM_INVALID},
		{sec: "§5.10.1", text: "C_DigestInit while a digest is active: CKR_OPERATION_ACTIVE, the digest goes on", in: digestActive,
			call: func(e *env) uint { return Call(FDigestInit, U(e.s), e.mech(ck.CKM_SHA256)) }, want: ck.CKR_OPERATION_ACTIVE,
			next: probeDigest, nextWant: ck.CKR_OK},
		{sec: "§5.10.1", text: "C_DigestInit with NULL pMechanism: CKR_ARGUMENTS_BAD", in: roPublic,
			call: func(e *env) uint { return Call(FDigestInit, U(e.s), Null) }, want: ck.CKR_ARGUMENTS_BAD},
		{sec: "§5.10.2", text: "C_Digest without C_DigestInit: CKR_OPERATION_NOT_INITIALIZED", in: roPublic,
			call: func(e *env) uint { rv, _ := outCall(e, FDigest, 64); return rv }, want: ck.CKR_OPERATION_NOT_INITIALIZED},
		{sec: "§5.10.2, §5.2", text: "C_Digest with NULL pDigest: CKR_OK and the length, the digest goes on", in: digestActive,
			call: func(e *env) uint {
				rv, n := outCall(e, FDigest, -1)
				return max(rv, okIf(e, n == sha256Len, "length %d", n))
			}, want: ck.CKR_OK,
			next: probeDigest, nextWant: ck.CKR_OK},
		{sec: "§5.10.2, §5.2", text: "C_Digest with a buffer too small: CKR_BUFFER_TOO_SMALL and the length, the digest goes on", in: digestActive,
			call: func(e *env) uint { rv, n := outCall(e, FDigest, 8); okIf(e, n == sha256Len, "length %d", n); return rv },
			want: ck.CKR_BUFFER_TOO_SMALL, next: probeDigest, nextWant: ck.CKR_OK},
		{sec: "§5.10.2", text: "C_Digest with NULL pulDigestLen: CKR_ARGUMENTS_BAD, the digest ends", in: digestActive,
			call: func(e *env) uint { return Call(FDigest, U(e.s), e.m.Bytes([]byte("x")), U(1), e.m.Buf(64, nil), Null) },
			want: ck.CKR_ARGUMENTS_BAD, next: probeDigest, nextWant: ck.CKR_OPERATION_NOT_INITIALIZED},
		{sec: "§5.10.2", text: "C_Digest with NULL pData and a length: CKR_ARGUMENTS_BAD, the digest ends", in: digestActive,
			call: func(e *env) uint { return Call(FDigest, U(e.s), Null, U(5), e.m.Buf(64, nil), e.m.Ulong(64)) },
			want: ck.CKR_ARGUMENTS_BAD, next: probeDigest, nextWant: ck.CKR_OPERATION_NOT_INITIALIZED},
		{sec: "§5.10.2", text: "a successful C_Digest ends the digest", in: digestActive,
			call: func(e *env) uint { rv, _ := outCall(e, FDigest, 64); return rv }, want: ck.CKR_OK,
			next: probeDigest, nextWant: ck.CKR_OPERATION_NOT_INITIALIZED},
		{sec: "§5.10.3", text: "C_DigestUpdate without C_DigestInit: CKR_OPERATION_NOT_INITIALIZED", in: roPublic,
			call: func(e *env) uint { return Call(FDigestUpdate, U(e.s), e.m.Bytes([]byte("x")), U(1)) }, want: ck.CKR_OPERATION_NOT_INITIALIZED},
		{sec: "§5.10.3", text: "C_DigestUpdate with NULL pPart and a length: CKR_ARGUMENTS_BAD, the digest ends", in: digestActive,
			call: func(e *env) uint { return Call(FDigestUpdate, U(e.s), Null, U(5)) }, want: ck.CKR_ARGUMENTS_BAD,
			next: probeDigest, nextWant: ck.CKR_OPERATION_NOT_INITIALIZED},
		{sec: "§5.10.4, §5.1.6", text: "C_DigestKey: CKR_FUNCTION_NOT_SUPPORTED", in: digestActive,
			call: func(e *env) uint { return Call(FDigestKey, U(e.s), U(e.pub)) }, want: ck.CKR_FUNCTION_NOT_SUPPORTED},
		{sec: "§5.10.5, §5.2", text: "C_DigestFinal with a buffer too small: CKR_BUFFER_TOO_SMALL, the digest goes on", in: digestActive,
			call: func(e *env) uint { rv, _ := outCall(e, FDigestFinal, 8); return rv }, want: ck.CKR_BUFFER_TOO_SMALL,
			next: probeDigest, nextWant: ck.CKR_OK},
		{sec: "§5.10.5", text: "C_DigestFinal with NULL pulDigestLen: CKR_ARGUMENTS_BAD, the digest ends", in: digestActive,
			call: func(e *env) uint { return Call(FDigestFinal, U(e.s), e.m.Buf(64, nil), Null) }, want: ck.CKR_ARGUMENTS_BAD,
			next: probeDigest, nextWant: ck.CKR_OPERATION_NOT_INITIALIZED},
		{sec: "§5.10.5", text: "a successful C_DigestFinal ends the digest", in: digestActive,
			call: func(e *env) uint { rv, _ := outCall(e, FDigestFinal, 64); return rv }, want: ck.CKR_OK,
			next: probeDigest, nextWant: ck.CKR_OPERATION_NOT_INITIALIZED},

		// --- Signing (§5.11) ---
		{sec: "§5.11.1", text: "C_SignInit with a private key while logged out: CKR_USER_NOT_LOGGED_IN", in: afterLogout,
			call: func(e *env) uint { return Call(FSignInit, U(e.s), e.mech(ck.CKM_SHA256_RSA_PKCS), U(e.priv)) },
			want: ck.CKR_USER_NOT_LOGGED_IN, also: []uint{ck.CKR_KEY_HANDLE_INVALID}},
		{sec: "§5.11.1", text: "C_SignInit with a mechanism not offered: CKR_MECHANISM_INVALID", in: roUser,
			call: func(e *env) uint { return Call(FSignInit, U(e.s), e.mech(ck.CKM_RSA_PKCS_PSS), U(e.priv)) }, want: ck.CKR_MECHANISM_INVALID},
		{sec: "§5.11.1", text: "C_SignInit with the public key (CKA_SIGN false): CKR_KEY_FUNCTION_NOT_PERMITTED", in: roUser,
			call: func(e *env) uint { return Call(FSignInit, U(e.s), e.mech(ck.CKM_SHA256_RSA_PKCS), U(e.pub)) }, want: ck.CKR_KEY_FUNCTION_NOT_PERMITTED},
		{sec: "§5.11.1", text: "C_SignInit with a certificate: CKR_KEY_HANDLE_INVALID", in: roUser,
			call: func(e *env) uint { return Call(FSignInit, U(e.s), e.mech(ck.CKM_SHA256_RSA_PKCS), U(e.cert)) }, want: ck.CKR_KEY_HANDLE_INVALID},
		{sec: "§5.11.1", text: "C_SignInit with an unknown handle: CKR_KEY_HANDLE_INVALID", in: roUser,
			call: func(e *env) uint { return Call(FSignInit, U(e.s), e.mech(ck.CKM_SHA256_RSA_PKCS), U(badObject)) }, want: ck.CKR_KEY_HANDLE_INVALID},
		{sec: "§5.11.1", text: "C_SignInit while signing: CKR_OPERATION_ACTIVE, the operation goes on", in: signActive,
			call: func(e *env) uint { return Call(FSignInit, U(e.s), e.mech(ck.CKM_SHA256_RSA_PKCS), U(e.priv)) }, want: ck.CKR_OPERATION_ACTIVE,
			next: probeSign, nextWant: ck.CKR_OK},
		{sec: "§5.11.1", text: "C_SignInit with a NULL pParameter and a length: CKR_ARGUMENTS_BAD", in: roUser,
			call: func(e *env) uint {
				return Call(FSignInit, U(e.s), e.m.MechanismParam(ck.CKM_SHA256_RSA_PKCS, Null, 8), U(e.priv))
			}, want: ck.CKR_ARGUMENTS_BAD},
		{sec: "§5.11.1", text: "C_SignInit with NULL pMechanism: CKR_ARGUMENTS_BAD", in: roUser,
			call: func(e *env) uint { return Call(FSignInit, U(e.s), Null, U(e.priv)) }, want: ck.CKR_ARGUMENTS_BAD},
		{sec: "§5.11.2", text: "C_Sign without C_SignInit: CKR_OPERATION_NOT_INITIALIZED", in: roUser,
			call: func(e *env) uint { rv, _ := outCall(e, FSign, sigLen); return rv }, want: ck.CKR_OPERATION_NOT_INITIALIZED},
		{sec: "§5.11.2, §5.2", text: "C_Sign with NULL pSignature: CKR_OK and the length, the operation goes on", in: signActive,
			call: func(e *env) uint {
				rv, n := outCall(e, FSign, -1)
				return max(rv, okIf(e, n == sigLen, "length %d", n))
			}, want: ck.CKR_OK,
			next: probeSign, nextWant: ck.CKR_OK},
		{sec: "§5.11.2, §5.2", text: "C_Sign with a buffer too small: CKR_BUFFER_TOO_SMALL and the length, the operation goes on", in: signActive,
			call: func(e *env) uint { rv, n := outCall(e, FSign, 100); okIf(e, n == sigLen, "length %d", n); return rv },
			want: ck.CKR_BUFFER_TOO_SMALL, next: probeSign, nextWant: ck.CKR_OK},
		{sec: "§5.11.2", text: "C_Sign with NULL pulSignatureLen: CKR_ARGUMENTS_BAD, the operation ends", in: signActive,
			call: func(e *env) uint { return Call(FSign, U(e.s), e.m.Bytes([]byte("x")), U(1), Null, Null) }, want: ck.CKR_ARGUMENTS_BAD,
			next: probeSign, nextWant: ck.CKR_OPERATION_NOT_INITIALIZED},
		{sec: "§5.11.2", text: "C_Sign with NULL pData and a length: CKR_ARGUMENTS_BAD, the operation ends", in: signActive,
			call: func(e *env) uint { return Call(FSign, U(e.s), Null, U(5), e.m.Buf(sigLen, nil), e.m.Ulong(sigLen)) }, want: ck.CKR_ARGUMENTS_BAD,
			next: probeSign, nextWant: ck.CKR_OPERATION_NOT_INITIALIZED},
		{sec: "§5.11.2", text: "C_Sign(CKM_RSA_PKCS) of more than the key can sign: CKR_DATA_LEN_RANGE, the operation ends", in: roUser,
			call: func(e *env) uint {
				e.ok(Call(FSignInit, U(e.s), e.mech(ck.CKM_RSA_PKCS), U(e.priv)), "C_SignInit")
				return Call(FSign, U(e.s), e.m.Buf(246, nil), U(246), e.m.Buf(sigLen, nil), e.m.Ulong(sigLen))
			}, want: ck.CKR_DATA_LEN_RANGE, next: probeSign, nextWant: ck.CKR_OPERATION_NOT_INITIALIZED},
		{sec: "§5.11.2", text: "C_Sign after C_SignUpdate (it cannot end a multi-part operation): an error that ends the operation", in: signActive,
			call: func(e *env) uint {
				e.ok(Call(FSignUpdate, U(e.s), e.m.Bytes([]byte("x")), U(1)), "C_SignUpdate")
				rv, _ := outCall(e, FSign, sigLen)
				return rv
			}, want: ck.CKR_OPERATION_ACTIVE, next: probeSign, nextWant: ck.CKR_OPERATION_NOT_INITIALIZED},
		{sec: "§5.11.2", text: "a successful C_Sign ends the operation", in: signActive,
			call: func(e *env) uint { rv, _ := outCall(e, FSign, sigLen); return rv }, want: ck.CKR_OK,
			next: probeSign, nextWant: ck.CKR_OPERATION_NOT_INITIALIZED},
		{sec: "§5.11.3", text: "C_SignUpdate without C_SignInit: CKR_OPERATION_NOT_INITIALIZED", in: roUser,
			call: func(e *env) uint { return Call(FSignUpdate, U(e.s), e.m.Bytes([]byte("x")), U(1)) }, want: ck.CKR_OPERATION_NOT_INITIALIZED},
		{sec: "§5.11.3", text: "C_SignUpdate with NULL pPart and a length: CKR_ARGUMENTS_BAD, the operation ends", in: signActive,
			call: func(e *env) uint { return Call(FSignUpdate, U(e.s), Null, U(5)) }, want: ck.CKR_ARGUMENTS_BAD,
			next: probeSign, nextWant: ck.CKR_OPERATION_NOT_INITIALIZED},
		{sec: "§5.11.4, §5.2", text: "C_SignFinal with a buffer too small: CKR_BUFFER_TOO_SMALL, the operation goes on", in: signActive,
			call: func(e *env) uint { rv, _ := outCall(e, FSignFinal, 255); return rv }, want: ck.CKR_BUFFER_TOO_SMALL,
			next: probeSign, nextWant: ck.CKR_OK},
		{sec: "§5.11.4", text: "C_SignFinal with NULL pulSignatureLen: CKR_ARGUMENTS_BAD, the operation ends", in: signActive,
			call: func(e *env) uint { return Call(FSignFinal, U(e.s), e.m.Buf(sigLen, nil), Null) }, want: ck.CKR_ARGUMENTS_BAD,
			next: probeSign, nextWant: ck.CKR_OPERATION_NOT_INITIALIZED},
		{sec: "§5.11.4", text: "a successful C_SignFinal ends the operation", in: signActive,
			call: func(e *env) uint { rv, _ := outCall(e, FSignFinal, sigLen); return rv }, want: ck.CKR_OK,
			next: probeSign, nextWant: ck.CKR_OPERATION_NOT_INITIALIZED},
		{sec: "§5.11.5, §5.1.6", text: "C_SignRecoverInit: CKR_FUNCTION_NOT_SUPPORTED", in: roUser,
			call: func(e *env) uint { return Call(FSignRecoverInit, U(e.s), e.mech(ck.CKM_RSA_PKCS), U(e.priv)) }, want: ck.CKR_FUNCTION_NOT_SUPPORTED},
		{sec: "3.0 §5.14, §5.1.6", text: "C_MessageSignInit: CKR_FUNCTION_NOT_SUPPORTED", in: roUser,
			call: func(e *env) uint { return Call(FMessageSignInit, U(e.s), e.mech(ck.CKM_SHA256_RSA_PKCS), U(e.priv)) }, want: ck.CKR_FUNCTION_NOT_SUPPORTED},

		// --- Verifying (§5.12) ---
		{sec: "§5.12.1", text: "C_VerifyInit with the private key (CKA_VERIFY false): CKR_KEY_FUNCTION_NOT_PERMITTED", in: roUser,
			call: func(e *env) uint { return Call(FVerifyInit, U(e.s), e.mech(ck.CKM_SHA256_RSA_PKCS), U(e.priv)) }, want: ck.CKR_KEY_FUNCTION_NOT_PERMITTED},
		{sec: "§5.12.1", text: "C_VerifyInit while verifying: CKR_OPERATION_ACTIVE, the operation goes on", in: verifyActive,
			call: func(e *env) uint { return Call(FVerifyInit, U(e.s), e.mech(ck.CKM_SHA256_RSA_PKCS), U(e.pub)) }, want: ck.CKR_OPERATION_ACTIVE,
			next: probeVerify, nextWant: ck.CKR_OK},
		{sec: "§5.12.2", text: "C_Verify without C_VerifyInit: CKR_OPERATION_NOT_INITIALIZED", in: roUser,
			call: func(e *env) uint { return verify(e, []byte("data"), make([]byte, sigLen)) }, want: ck.CKR_OPERATION_NOT_INITIALIZED},
		{sec: "§5.12.2", text: "C_Verify of a good signature: CKR_OK, the operation ends", in: roUser,
			call: func(e *env) uint {
				sig := e.signature()
				e.ok(Call(FVerifyInit, U(e.s), e.mech(ck.CKM_SHA256_RSA_PKCS), U(e.pub)), "C_VerifyInit")
				return verify(e, []byte("data"), sig)
			}, want: ck.CKR_OK, next: probeVerify, nextWant: ck.CKR_OPERATION_NOT_INITIALIZED},
		{sec: "§5.12.2", text: "C_Verify of a wrong signature: CKR_SIGNATURE_INVALID, the operation ends", in: verifyActive,
			call: func(e *env) uint { return verify(e, []byte("data"), make([]byte, sigLen)) }, want: ck.CKR_SIGNATURE_INVALID,
			next: probeVerify, nextWant: ck.CKR_OPERATION_NOT_INITIALIZED},
		{sec: "§5.12.2", text: "C_Verify of a signature of the wrong length: CKR_SIGNATURE_LEN_RANGE, the operation ends", in: verifyActive,
			call: func(e *env) uint { return verify(e, []byte("data"), make([]byte, 10)) }, want: ck.CKR_SIGNATURE_LEN_RANGE,
			next: probeVerify, nextWant: ck.CKR_OPERATION_NOT_INITIALIZED},
		{sec: "§5.12.2", text: "C_Verify with NULL pData and a length: CKR_ARGUMENTS_BAD, the operation ends", in: verifyActive,
			call: func(e *env) uint { return Call(FVerify, U(e.s), Null, U(5), e.m.Buf(sigLen, nil), U(sigLen)) }, want: ck.CKR_ARGUMENTS_BAD,
			next: probeVerify, nextWant: ck.CKR_OPERATION_NOT_INITIALIZED},
		{sec: "§5.12.2", text: "C_Verify with NULL pSignature and a length: CKR_ARGUMENTS_BAD, the operation ends", in: verifyActive,
			call: func(e *env) uint { return Call(FVerify, U(e.s), e.m.Bytes([]byte("data")), U(4), Null, U(sigLen)) }, want: ck.CKR_ARGUMENTS_BAD,
			next: probeVerify, nextWant: ck.CKR_OPERATION_NOT_INITIALIZED},
		{sec: "§5.12.3", text: "C_VerifyUpdate with NULL pPart and a length: CKR_ARGUMENTS_BAD, the operation ends", in: verifyActive,
			call: func(e *env) uint { return Call(FVerifyUpdate, U(e.s), Null, U(5)) }, want: ck.CKR_ARGUMENTS_BAD,
			next: probeVerify, nextWant: ck.CKR_OPERATION_NOT_INITIALIZED},
		{sec: "§5.12.4", text: "C_VerifyFinal with NULL pSignature and a length: CKR_ARGUMENTS_BAD, the operation ends", in: verifyActive,
			call: func(e *env) uint { return Call(FVerifyFinal, U(e.s), Null, U(sigLen)) }, want: ck.CKR_ARGUMENTS_BAD,
			next: probeVerify, nextWant: ck.CKR_OPERATION_NOT_INITIALIZED},
		{sec: "§5.12.4", text: "C_VerifyFinal of a wrong signature: CKR_SIGNATURE_INVALID, the operation ends", in: verifyActive,
			call: func(e *env) uint { return Call(FVerifyFinal, U(e.s), e.m.Buf(sigLen, nil), U(sigLen)) }, want: ck.CKR_SIGNATURE_INVALID,
			next: probeVerify, nextWant: ck.CKR_OPERATION_NOT_INITIALIZED},
		{sec: "§5.12.5, §5.1.6", text: "C_VerifyRecoverInit: CKR_FUNCTION_NOT_SUPPORTED", in: roUser,
			call: func(e *env) uint { return Call(FVerifyRecoverInit, U(e.s), e.mech(ck.CKM_RSA_PKCS), U(e.pub)) }, want: ck.CKR_FUNCTION_NOT_SUPPORTED},

		// --- Key management (§5.14): no key generation ---
		{sec: "§5.14.1, §5.1.6", text: "C_GenerateKey: CKR_FUNCTION_NOT_SUPPORTED", in: rwUser,
			call: func(e *env) uint {
				return Call(FGenerateKey, U(e.s), e.mech(ck.CKM_RSA_PKCS_KEY_PAIR_GEN), Null, U(0), e.m.Ulong(0))
			}, want: ck.CKR_FUNCTION_NOT_SUPPORTED},
		{sec: "§5.14.2, §5.1.6", text: "C_GenerateKeyPair: CKR_FUNCTION_NOT_SUPPORTED", in: rwUser,
			call: func(e *env) uint {
				return Call(FGenerateKeyPair, U(e.s), e.mech(ck.CKM_RSA_PKCS_KEY_PAIR_GEN), Null, U(0), Null, U(0), e.m.Ulong(0), e.m.Ulong(0))
			}, want: ck.CKR_FUNCTION_NOT_SUPPORTED},

		// --- Random numbers (§5.15): the card has no generator ---
		{sec: "§5.15.1, §5.1.6", text: "C_SeedRandom: CKR_RANDOM_NO_RNG (outranks CKR_RANDOM_SEED_NOT_SUPPORTED)", in: roPublic,
			call: func(e *env) uint { return Call(FSeedRandom, U(e.s), e.m.Bytes([]byte("seed")), U(4)) }, want: ck.CKR_RANDOM_NO_RNG},
		{sec: "§5.15.2", text: "C_GenerateRandom: CKR_RANDOM_NO_RNG", in: roPublic,
			call: func(e *env) uint { return Call(FGenerateRandom, U(e.s), e.m.Buf(16, nil), U(16)) }, want: ck.CKR_RANDOM_NO_RNG},
		{sec: "§5.15.2", text: "C_GenerateRandom with NULL pRandomData and a length: CKR_ARGUMENTS_BAD", in: roPublic,
			call: func(e *env) uint { return Call(FGenerateRandom, U(e.s), Null, U(16)) }, want: ck.CKR_ARGUMENTS_BAD},

		// --- Parallel function management (§5.16): legacy ---
		{sec: "§5.16.1", text: "C_GetFunctionStatus: CKR_FUNCTION_NOT_PARALLEL", in: roPublic,
			call: func(e *env) uint { return Call(FGetFunctionStatus, U(e.s)) }, want: ck.CKR_FUNCTION_NOT_PARALLEL},
		{sec: "§5.16.2", text: "C_CancelFunction: CKR_FUNCTION_NOT_PARALLEL", in: roPublic,
			call: func(e *env) uint { return Call(FCancelFunction, U(e.s)) }, want: ck.CKR_FUNCTION_NOT_PARALLEL},
	}
	for _, st := range []struct {
		in   state
		want uint
	}{{roPublic, ck.CKS_RO_PUBLIC_SESSION}, {rwPublic, ck.CKS_RW_PUBLIC_SESSION}, {roUser, ck.CKS_RO_USER_FUNCTIONS}, {rwUser, ck.CKS_RW_USER_FUNCTIONS}, {afterLogout, ck.CKS_RO_PUBLIC_SESSION}} {
		t = append(t, rule{sec: "§5.6.4, §3.6 CK_STATE", text: "C_GetSessionInfo reports the session state", in: st.in,
			call: func(e *env) uint {
				got := e.sessionState(e.s)
				return okIf(e, got == st.want, "state %d, want %d", got, st.want)
			}, want: ck.CKR_OK})
	}
	return append(t, everyFunction()...)
}

// sessionCalls are the implemented functions that take a session handle,
// each called with handle h and otherwise valid arguments.
var sessionCalls = map[string]func(e *env, h uint) uint{
	"C_CloseSession":   func(e *env, h uint) uint { return Call(FCloseSession, U(h)) },
	"C_GetSessionInfo": func(e *env, h uint) uint { return Call(FGetSessionInfo, U(h), e.m.Buf(infoSize, nil)) },
	"C_Login": func(e *env, h uint) uint {
		return Call(FLogin, U(h), U(ck.CKU_USER), e.m.Bytes([]byte(e.tok.pin)), U(uint(len(e.tok.pin))))
	},
	"C_Logout": func(e *env, h uint) uint { return Call(FLogout, U(h)) },
	"C_SetPIN": func(e *env, h uint) uint {
		p := []byte(e.tok.pin)
		return Call(FSetPIN, U(h), e.m.Bytes(p), U(uint(len(p))), e.m.Bytes(p), U(uint(len(p))))
	},
	"C_InitPIN": func(e *env, h uint) uint {
		return Call(FInitPIN, U(h), e.m.Bytes([]byte(e.tok.pin)), U(uint(len(e.tok.pin))))
	},
	"C_CreateObject": func(e *env, h uint) uint { s := e.s; e.s = h; defer func() { e.s = s }(); return createData(e, false) },
	"C_GetAttributeValue": func(e *env, h uint) uint {
		return Call(FGetAttributeValue, U(h), U(e.cert), e.m.Template(Attr{Type: ck.CKA_CLASS}), U(1))
	},
	"C_FindObjectsInit":  func(e *env, h uint) uint { return Call(FFindObjectsInit, U(h), Null, U(0)) },
	"C_FindObjects":      func(e *env, h uint) uint { return Call(FFindObjects, U(h), e.m.Buf(8, nil), U(1), e.m.Ulong(0)) },
	"C_FindObjectsFinal": func(e *env, h uint) uint { return Call(FFindObjectsFinal, U(h)) },
	"C_DigestInit":       func(e *env, h uint) uint { return Call(FDigestInit, U(h), e.mech(ck.CKM_SHA256)) },
	"C_Digest": func(e *env, h uint) uint {
		return Call(FDigest, U(h), e.m.Bytes([]byte("x")), U(1), Null, e.m.Ulong(0))
	},
	"C_SignInit":   func(e *env, h uint) uint { return Call(FSignInit, U(h), e.mech(ck.CKM_SHA256_RSA_PKCS), U(e.priv)) },
	"C_Sign":       func(e *env, h uint) uint { return Call(FSign, U(h), e.m.Bytes([]byte("x")), U(1), Null, e.m.Ulong(0)) },
	"C_SignUpdate": func(e *env, h uint) uint { return Call(FSignUpdate, U(h), e.m.Bytes([]byte("x")), U(1)) },
	"C_SignFinal":  func(e *env, h uint) uint { return Call(FSignFinal, U(h), Null, e.m.Ulong(0)) },
	"C_VerifyInit": func(e *env, h uint) uint { return Call(FVerifyInit, U(h), e.mech(ck.CKM_SHA256_RSA_PKCS), U(e.pub)) },
	"C_Verify": func(e *env, h uint) uint {
		return Call(FVerify, U(h), e.m.Bytes([]byte("x")), U(1), e.m.Buf(sigLen, nil), U(sigLen))
	},
	"C_VerifyFinal":    func(e *env, h uint) uint { return Call(FVerifyFinal, U(h), e.m.Buf(sigLen, nil), U(sigLen)) },
	"C_SeedRandom":     func(e *env, h uint) uint { return Call(FSeedRandom, U(h), e.m.Bytes([]byte("x")), U(1)) },
	"C_GenerateRandom": func(e *env, h uint) uint { return Call(FGenerateRandom, U(h), e.m.Buf(4, nil), U(4)) },
	"C_SessionCancel":  func(e *env, h uint) uint { return Call(FSessionCancel, U(h), U(ck.CKF_SIGN)) },
}

// everyFunction is, for every implemented function taking a session,
// the rule of an unknown handle (§5.1.2: CKR_SESSION_HANDLE_INVALID) and
// of an uninitialised module (§5.1.6: CKR_CRYPTOKI_NOT_INITIALIZED, for
// every function but C_Initialize, C_GetFunctionList and, in 3.0,
// C_GetInterfaceList and C_GetInterface).
func everyFunction() []rule {
	var out []rule
	for _, name := range sortedKeys(sessionCalls) {
		call := sessionCalls[name]
		out = append(out,
			rule{sec: "§5.1.2", text: name + " with an unknown session handle: CKR_SESSION_HANDLE_INVALID", in: roUser,
				call: func(e *env) uint { return call(e, badSession) }, want: ck.CKR_SESSION_HANDLE_INVALID},
			rule{sec: "§5.1.6", text: name + " before C_Initialize: CKR_CRYPTOKI_NOT_INITIALIZED", in: notInit,
				call: func(e *env) uint { return call(e, 1) }, want: ck.CKR_CRYPTOKI_NOT_INITIALIZED})
	}
	global := map[string]func(e *env) uint{
		"C_Finalize":         func(e *env) uint { return Call(FFinalize, Null) },
		"C_GetInfo":          func(e *env) uint { return Call(FGetInfo, e.m.Buf(infoSize, nil)) },
		"C_GetSlotList":      func(e *env) uint { return Call(FGetSlotList, U(1), Null, e.m.Ulong(0)) },
		"C_GetSlotInfo":      func(e *env) uint { return Call(FGetSlotInfo, U(1), e.m.Buf(infoSize, nil)) },
		"C_GetTokenInfo":     func(e *env) uint { return Call(FGetTokenInfo, U(1), e.m.Buf(tokenInfoSize, nil)) },
		"C_GetMechanismList": func(e *env) uint { return Call(FGetMechanismList, U(1), Null, e.m.Ulong(0)) },
		"C_GetMechanismInfo": func(e *env) uint { return Call(FGetMechanismInfo, U(1), U(ck.CKM_SHA256), e.m.Buf(24, nil)) },
		"C_WaitForSlotEvent": func(e *env) uint { return Call(FWaitForSlotEvent, U(ck.CKF_DONT_BLOCK), e.m.Ulong(0), Null) },
		"C_OpenSession":      func(e *env) uint { return Call(FOpenSession, U(1), U(ck.CKF_SERIAL_SESSION), Null, Null, e.m.Ulong(0)) },
		"C_CloseAllSessions": func(e *env) uint { return Call(FCloseAllSessions, U(1)) },
		"C_InitToken": func(e *env) uint {
			return Call(FInitToken, U(1), e.m.Bytes([]byte("12345678")), U(8), e.m.Buf(32, nil))
		},
	}
	for _, name := range sortedKeys(global) {
		call := global[name]
		out = append(out, rule{sec: "§5.1.6", text: name + " before C_Initialize: CKR_CRYPTOKI_NOT_INITIALIZED", in: notInit,
			call: call, want: ck.CKR_CRYPTOKI_NOT_INITIALIZED})
	}
	return out
}

// sortedKeys returns m's keys in order, so that rule numbers are stable.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// createData calls C_CreateObject for a data object (a token object with
// token, else a session object) in e.s.
func createData(e *env, token bool) uint {
	b := []byte{0}
	if token {
		b[0] = 1
	}
	tmpl := e.m.Template(Attr{Type: ck.CKA_CLASS, Value: ulong(ck.CKO_DATA)}, Attr{Type: ck.CKA_TOKEN, Value: b}, Attr{Type: ck.CKA_LABEL, Value: []byte("x")})
	return Call(FCreateObject, U(e.s), tmpl, U(3), e.m.Ulong(0))
}

// copyObj calls C_CopyObject of obj as a session object.
func copyObj(e *env, obj uint) uint {
	return Call(FCopyObject, U(e.s), U(obj), e.m.Template(Attr{Type: ck.CKA_TOKEN, Value: []byte{0}}), U(1), e.m.Ulong(0))
}

// setLabel calls C_SetAttributeValue of the certificate's CKA_LABEL.
func setLabel(e *env) uint {
	return Call(FSetAttributeValue, U(e.s), U(e.cert), e.m.Template(Attr{Type: ck.CKA_LABEL, Value: []byte("new")}), U(1))
}

// attrOne asks obj for one attribute and checks that a failed request
// gets ulValueLen CK_UNAVAILABLE_INFORMATION (§5.7.5).
func attrOne(e *env, obj uint, a Attr) uint {
	tmpl := e.m.Template(a)
	rv := Call(FGetAttributeValue, U(e.s), U(obj), tmpl, U(1))
	n := TemplateLens(tmpl, 1)[0]
	okIf(e, n == ck.CK_UNAVAILABLE_INFORMATION, "ulValueLen %d", n)
	return rv
}

// verify calls C_Verify of data and sig.
func verify(e *env, data, sig []byte) uint {
	return Call(FVerify, U(e.s), e.m.Bytes(data), U(uint(len(data))), e.m.Bytes(sig), U(uint(len(sig))))
}
