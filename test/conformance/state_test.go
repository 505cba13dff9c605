package conformance

import (
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// state is where a rule starts, in the terms of the specification
// (v2.40 §3.6 CK_STATE and the session states of §5.6).
type state int

const (
	notInit      state = iota // C_Initialize not called (or C_Finalize called)
	noSession                 // initialised, no session open
	roPublic                  // read-only session, token logged out
	rwPublic                  // read/write session, logged out
	roUser                    // read-only session, logged in
	rwUser                    // read/write session, logged in
	afterLogout               // read-only session, logged in, objects found, logged out
	signActive                // roUser with C_SignInit(CKM_SHA256_RSA_PKCS) done
	verifyActive              // roUser with C_VerifyInit(CKM_SHA256_RSA_PKCS) done
	digestActive              // roPublic with C_DigestInit(CKM_SHA256) done
	findActive                // roPublic with C_FindObjectsInit(empty template) done
)

var stateNames = map[state]string{
	notInit: "not initialised", noSession: "no session", roPublic: "RO public", rwPublic: "RW public",
	roUser: "RO user", rwUser: "RW user", afterLogout: "after logout", signActive: "sign active",
	verifyActive: "verify active", digestActive: "digest active", findActive: "find active",
}

func (s state) String() string { return stateNames[s] }

// enter brings e into state st.
func (e *env) enter(st state) {
	e.t.Helper()
	switch st {
	case notInit:
		e.ok(Call(FFinalize, Null), "C_Finalize")
	case noSession:
	case roPublic, rwPublic, digestActive, findActive:
		e.s = e.open(st == rwPublic)
		e.learn(e.s)
	case roUser, rwUser, afterLogout, signActive, verifyActive:
		e.s = e.open(st == rwUser)
		e.ok(e.login(e.s), "C_Login")
		e.learn(e.s)
	}
	switch st {
	case afterLogout:
		e.ok(Call(FLogout, U(e.s)), "C_Logout")
	case signActive:
		e.ok(Call(FSignInit, U(e.s), e.mech(ck.CKM_SHA256_RSA_PKCS), U(e.priv)), "C_SignInit")
	case verifyActive:
		e.ok(Call(FVerifyInit, U(e.s), e.mech(ck.CKM_SHA256_RSA_PKCS), U(e.pub)), "C_VerifyInit")
	case digestActive:
		e.ok(Call(FDigestInit, U(e.s), e.mech(ck.CKM_SHA256)), "C_DigestInit")
	case findActive:
		e.ok(Call(FFindObjectsInit, U(e.s), Null, U(0)), "C_FindObjectsInit")
	}
}

// Probes: each answers CKR_OK while its operation is active and
// CKR_OPERATION_NOT_INITIALIZED once it ended, changing nothing else
// that matters (a length query keeps the operation, §5.2).
func probeSign(e *env) uint   { return Call(FSignFinal, U(e.s), Null, e.m.Ulong(0)) }
func probeVerify(e *env) uint { return Call(FVerifyUpdate, U(e.s), Null, U(0)) }
func probeDigest(e *env) uint { return Call(FDigestFinal, U(e.s), Null, e.m.Ulong(0)) }
func probeFind(e *env) uint   { return Call(FFindObjects, U(e.s), e.m.Buf(8, nil), U(0), e.m.Ulong(0)) }
