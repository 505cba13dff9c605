package main

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// This file formats the arguments of traced calls (log level 3) from Go
// values; trace.go reads them from C. What may be printed is decided
// here: a value is shown only for the attribute types in publicAttrs,
// every other buffer (PINs, data to sign, signatures, certificates) only
// by its length.

// Flag tables of the calls that take or return flags.
var (
	initFlags    = ck.InitFlags
	sessionFlags = ck.SessionFlags
	waitFlags    = ck.WaitFlags
	slotFlags    = ck.SlotFlags
	tokenFlags   = ck.TokenFlags
	mechFlags    = ck.MechFlags
)

// fmtFlags names the set bits of v ("0" when none); unknown bits are
// shown in hex.
func fmtFlags(v uint, names []ck.Flag) string {
	if v == 0 {
		return "0"
	}
	var parts []string
	for _, f := range names {
		if v&f.Bit != 0 {
			parts = append(parts, f.Name)
			v &^= f.Bit
		}
	}
	if v != 0 {
		parts = append(parts, fmt.Sprintf("0x%X", v))
	}
	return strings.Join(parts, "|")
}

// enumName names a value from a table, or shows it in hex.
func enumName(v uint, names map[uint]string) string {
	if n, ok := names[v]; ok {
		return n
	}
	return fmt.Sprintf("0x%X", v)
}

var (
	userTypes = map[uint]string{ck.CKU_SO: "CKU_SO", ck.CKU_USER: "CKU_USER", ck.CKU_CONTEXT_SPECIFIC: "CKU_CONTEXT_SPECIFIC"}
	states    = map[uint]string{
		ck.CKS_RO_PUBLIC_SESSION: "CKS_RO_PUBLIC_SESSION", ck.CKS_RO_USER_FUNCTIONS: "CKS_RO_USER_FUNCTIONS",
		ck.CKS_RW_PUBLIC_SESSION: "CKS_RW_PUBLIC_SESSION", ck.CKS_RW_USER_FUNCTIONS: "CKS_RW_USER_FUNCTIONS",
		ck.CKS_RW_SO_FUNCTIONS: "CKS_RW_SO_FUNCTIONS",
	}
	classes = map[uint]string{
		ck.CKO_DATA: "CKO_DATA", ck.CKO_CERTIFICATE: "CKO_CERTIFICATE", ck.CKO_PUBLIC_KEY: "CKO_PUBLIC_KEY",
		ck.CKO_PRIVATE_KEY: "CKO_PRIVATE_KEY", ck.CKO_SECRET_KEY: "CKO_SECRET_KEY", ck.CKO_HW_FEATURE: "CKO_HW_FEATURE",
		ck.CKO_DOMAIN_PARAMETERS: "CKO_DOMAIN_PARAMETERS", ck.CKO_MECHANISM: "CKO_MECHANISM",
		ck.CKO_OTP_KEY: "CKO_OTP_KEY", ck.CKO_PROFILE: "CKO_PROFILE",
	}
	keyTypes = map[uint]string{
		ck.CKK_RSA: "CKK_RSA", ck.CKK_DSA: "CKK_DSA", ck.CKK_DH: "CKK_DH", ck.CKK_EC: "CKK_EC",
		ck.CKK_GENERIC_SECRET: "CKK_GENERIC_SECRET", ck.CKK_AES: "CKK_AES",
		ck.CKK_EC_EDWARDS: "CKK_EC_EDWARDS", ck.CKK_EC_MONTGOMERY: "CKK_EC_MONTGOMERY",
	}
	certTypes = map[uint]string{ck.CKC_X_509: "CKC_X_509", ck.CKC_X_509_ATTR_CERT: "CKC_X_509_ATTR_CERT", ck.CKC_WTLS: "CKC_WTLS"}
)

// Kinds of public attribute values.
const (
	valBool = iota
	valULong
	valClass
	valKeyType
	valCertType
	valMech
	valHex
	valText
)

// publicAttrs lists the attribute types whose values a trace shows, and
// how. They describe an object, never a person: the labels and IDs are
// the module's fixed ones, and CKA_VALUE, CKA_SUBJECT, CKA_ISSUER,
// CKA_SERIAL_NUMBER, the key material and the dates are left out (the
// signature certificate names its holder).
var publicAttrs = map[uint]int{
	ck.CKA_CLASS: valClass, ck.CKA_KEY_TYPE: valKeyType, ck.CKA_CERTIFICATE_TYPE: valCertType,
	ck.CKA_KEY_GEN_MECHANISM: valMech, ck.CKA_ID: valHex, ck.CKA_LABEL: valText,
	ck.CKA_MODULUS_BITS: valULong, ck.CKA_CERTIFICATE_CATEGORY: valULong,
	ck.CKA_TOKEN: valBool, ck.CKA_PRIVATE: valBool, ck.CKA_MODIFIABLE: valBool, ck.CKA_COPYABLE: valBool,
	ck.CKA_DESTROYABLE: valBool, ck.CKA_TRUSTED: valBool, ck.CKA_SENSITIVE: valBool, ck.CKA_EXTRACTABLE: valBool,
	ck.CKA_NEVER_EXTRACTABLE: valBool, ck.CKA_ALWAYS_SENSITIVE: valBool, ck.CKA_LOCAL: valBool,
	ck.CKA_ALWAYS_AUTHENTICATE: valBool, ck.CKA_WRAP_WITH_TRUSTED: valBool,
	ck.CKA_ENCRYPT: valBool, ck.CKA_DECRYPT: valBool, ck.CKA_WRAP: valBool, ck.CKA_UNWRAP: valBool,
	ck.CKA_SIGN: valBool, ck.CKA_SIGN_RECOVER: valBool, ck.CKA_VERIFY: valBool, ck.CKA_VERIFY_RECOVER: valBool,
	ck.CKA_DERIVE: valBool,
}

// maxShown bounds the bytes of a public value a trace shows.
const maxShown = 64

// traceAttr is one template entry as a trace sees it. Value is nil when
// the caller gave no buffer or the value was not read.
type traceAttr struct {
	Type  uint
	Len   uint // ulValueLen (ck.CK_UNAVAILABLE_INFORMATION possible)
	Value []byte
}

// fmtAttr formats one template entry: its type by name, then "=value"
// for a public type whose value is known, else its length.
func fmtAttr(a traceAttr) string {
	name := ck.AttrName(a.Type)
	if a.Len == ck.CK_UNAVAILABLE_INFORMATION {
		return name + " unavailable"
	}
	if kind, ok := publicAttrs[a.Type]; ok && a.Value != nil && uint(len(a.Value)) == a.Len {
		if v, ok := fmtValue(kind, a.Value); ok {
			return name + "=" + v
		}
	}
	return fmt.Sprintf("%s len=%d", name, a.Len)
}

// fmtValue formats a public value of a kind; ok is false when the bytes
// do not fit the kind.
func fmtValue(kind int, v []byte) (string, bool) {
	ulong := func() (uint, bool) {
		if len(v) != 8 {
			return 0, false
		}
		return uint(binary.NativeEndian.Uint64(v)), true
	}
	switch kind {
	case valBool:
		if len(v) != 1 {
			return "", false
		}
		return strconv.FormatBool(v[0] != 0), true
	case valULong, valClass, valKeyType, valCertType, valMech:
		n, ok := ulong()
		if !ok {
			return "", false
		}
		switch kind {
		case valClass:
			return enumName(n, classes), true
		case valKeyType:
			return enumName(n, keyTypes), true
		case valCertType:
			return enumName(n, certTypes), true
		case valMech:
			return ck.MechName(n), true
		}
		return strconv.FormatUint(uint64(n), 10), true
	case valHex:
		if len(v) > maxShown {
			return "", false
		}
		return hex.EncodeToString(v), true
	case valText:
		if len(v) > maxShown {
			return "", false
		}
		return strconv.Quote(string(v)), true
	}
	return "", false
}

// fmtTemplate formats a template as "[a, b]".
func fmtTemplate(attrs []traceAttr) string {
	parts := make([]string, len(attrs))
	for i, a := range attrs {
		parts[i] = fmtAttr(a)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// fmtSecret shows a buffer that must not be logged (a PIN, data to sign,
// a signature) by its length only.
func fmtSecret(isNil bool, n uint) string {
	if isNil {
		if n == 0 {
			return "NULL"
		}
		return fmt.Sprintf("NULL len=%d", n)
	}
	return fmt.Sprintf("(%d bytes)", n)
}

// fmtMechanism shows a mechanism by name and its parameter by length.
func fmtMechanism(isNil bool, typ uint, paramLen uint) string {
	if isNil {
		return "NULL"
	}
	if paramLen == 0 {
		return ck.MechName(typ)
	}
	return fmt.Sprintf("%s(param %d bytes)", ck.MechName(typ), paramLen)
}

// fmtList formats a list of numbers with f.
func fmtList(vals []uint, f func(uint) string) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = f(v)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// fmtUint formats a number in decimal.
func fmtUint(v uint) string { return strconv.FormatUint(uint64(v), 10) }
