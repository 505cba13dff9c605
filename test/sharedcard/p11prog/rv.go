package main

import (
	"errors"
	"strings"

	"github.com/miekg/pkcs11"

	"github.com/myna-pkcs11/myna-pkcs11/test/sharedcard/proto"
)

// rvOK is the name of CKR_OK.
const rvOK = "CKR_OK"

// rvName returns the CK_RV name of err ("CKR_OK" for nil). An error that
// is not a CK_RV (say, the module failed to load) is returned as its text.
func rvName(err error) string {
	if err == nil {
		return rvOK
	}
	var e pkcs11.Error
	if errors.As(err, &e) {
		s := e.Error() // "pkcs11: 0x101: CKR_USER_NOT_LOGGED_IN"
		if i := strings.LastIndex(s, ": "); i >= 0 {
			return s[i+2:]
		}
		return s
	}
	return "not a CK_RV: " + err.Error()
}

// answer is the Answer of call, which returned err.
func answer(call string, err error) proto.Answer {
	return proto.Answer{RV: rvName(err), Call: call}
}

// stateName names a CKS_ session state.
func stateName(s uint) string {
	switch s {
	case pkcs11.CKS_RO_PUBLIC_SESSION:
		return "CKS_RO_PUBLIC_SESSION"
	case pkcs11.CKS_RO_USER_FUNCTIONS:
		return "CKS_RO_USER_FUNCTIONS"
	case pkcs11.CKS_RW_PUBLIC_SESSION:
		return "CKS_RW_PUBLIC_SESSION"
	case pkcs11.CKS_RW_USER_FUNCTIONS:
		return "CKS_RW_USER_FUNCTIONS"
	case pkcs11.CKS_RW_SO_FUNCTIONS:
		return "CKS_RW_SO_FUNCTIONS"
	}
	return "unknown state"
}

// className names a CKO_ object class.
func className(c uint) string {
	switch c {
	case pkcs11.CKO_CERTIFICATE:
		return "cert"
	case pkcs11.CKO_PUBLIC_KEY:
		return "pub"
	case pkcs11.CKO_PRIVATE_KEY:
		return "priv"
	case pkcs11.CKO_DATA:
		return "data"
	}
	return "other"
}
