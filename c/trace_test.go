package main

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

func ulongBytes(v uint) []byte { return binary.NativeEndian.AppendUint64(nil, uint64(v)) }

func TestFmtFlags(t *testing.T) {
	tests := []struct {
		name  string
		v     uint
		names []ck.Flag
		want  string
	}{
		{"none", 0, sessionFlags, "0"},
		{"session", ck.CKF_SERIAL_SESSION | ck.CKF_RW_SESSION, sessionFlags, "CKF_RW_SESSION|CKF_SERIAL_SESSION"},
		{"unknown bits in hex", ck.CKF_DONT_BLOCK | 0x100, waitFlags, "CKF_DONT_BLOCK|0x100"},
		{"token", ck.CKF_LOGIN_REQUIRED | ck.CKF_USER_PIN_FINAL_TRY, tokenFlags, "CKF_LOGIN_REQUIRED|CKF_USER_PIN_FINAL_TRY"},
		{"mechanism", ck.CKF_HW | ck.CKF_SIGN, mechFlags, "CKF_HW|CKF_SIGN"},
		{"init", ck.CKF_OS_LOCKING_OK, initFlags, "CKF_OS_LOCKING_OK"},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, fmtFlags(tc.v, tc.names), tc.name)
	}
}

func TestFmtAttr(t *testing.T) {
	tests := []struct {
		name string
		in   traceAttr
		want string
	}{
		{"class by name", traceAttr{ck.CKA_CLASS, 8, ulongBytes(ck.CKO_PRIVATE_KEY)}, "CKA_CLASS=CKO_PRIVATE_KEY"},
		{"key type by name", traceAttr{ck.CKA_KEY_TYPE, 8, ulongBytes(ck.CKK_RSA)}, "CKA_KEY_TYPE=CKK_RSA"},
		{"certificate type", traceAttr{ck.CKA_CERTIFICATE_TYPE, 8, ulongBytes(ck.CKC_X_509)}, "CKA_CERTIFICATE_TYPE=CKC_X_509"},
		{"unknown class in hex", traceAttr{ck.CKA_CLASS, 8, ulongBytes(0x1234)}, "CKA_CLASS=0x1234"},
		{"id in hex", traceAttr{ck.CKA_ID, 1, []byte{2}}, "CKA_ID=02"},
		{"label quoted", traceAttr{ck.CKA_LABEL, 10, []byte("Auth \"Key\"")}, `CKA_LABEL="Auth \"Key\""`},
		{"bool", traceAttr{ck.CKA_SIGN, 1, []byte{1}}, "CKA_SIGN=true"},
		{"modulus bits", traceAttr{ck.CKA_MODULUS_BITS, 8, ulongBytes(2048)}, "CKA_MODULUS_BITS=2048"},
		{"size query shows the length", traceAttr{ck.CKA_LABEL, 29, nil}, "CKA_LABEL len=29"},
		{"unavailable", traceAttr{ck.CKA_VALUE, ck.CK_UNAVAILABLE_INFORMATION, nil}, "CKA_VALUE unavailable"},
		{"certificate value never shown", traceAttr{ck.CKA_VALUE, 4, []byte("DER!")}, "CKA_VALUE len=4"},
		{"subject never shown", traceAttr{ck.CKA_SUBJECT, 3, []byte("abc")}, "CKA_SUBJECT len=3"},
		{"serial never shown", traceAttr{ck.CKA_SERIAL_NUMBER, 2, []byte{1, 2}}, "CKA_SERIAL_NUMBER len=2"},
		{"modulus never shown", traceAttr{ck.CKA_MODULUS, 1, []byte{1}}, "CKA_MODULUS len=1"},
		{"malformed bool shows the length", traceAttr{ck.CKA_SIGN, 2, []byte{1, 1}}, "CKA_SIGN len=2"},
		{"malformed ulong shows the length", traceAttr{ck.CKA_CLASS, 4, []byte{1, 0, 0, 0}}, "CKA_CLASS len=4"},
		{"value shorter than the length is not shown", traceAttr{ck.CKA_ID, 2, []byte{2}}, "CKA_ID len=2"},
		{"long label shows the length", traceAttr{ck.CKA_LABEL, 65, make([]byte, 65)}, "CKA_LABEL len=65"},
		{"unknown type", traceAttr{0x80001234, 5, []byte("12345")}, "CKA_0x80001234 len=5"},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, fmtAttr(tc.in), tc.name)
	}
	assert.Equal(t, "[CKA_CLASS=CKO_CERTIFICATE, CKA_VALUE len=1200]",
		fmtTemplate([]traceAttr{{ck.CKA_CLASS, 8, ulongBytes(ck.CKO_CERTIFICATE)}, {ck.CKA_VALUE, 1200, nil}}))
	assert.Equal(t, "[]", fmtTemplate(nil))
}

func TestFmtSecretShowsOnlyTheLength(t *testing.T) {
	assert.Equal(t, "(4 bytes)", fmtSecret(false, 4))
	assert.Equal(t, "NULL", fmtSecret(true, 0))
	assert.Equal(t, "NULL len=6", fmtSecret(true, 6))
}

func TestFmtMechanism(t *testing.T) {
	assert.Equal(t, "CKM_SHA256_RSA_PKCS", fmtMechanism(false, ck.CKM_SHA256_RSA_PKCS, 0))
	assert.Equal(t, "CKM_RSA_PKCS_PSS(param 24 bytes)", fmtMechanism(false, ck.CKM_RSA_PKCS_PSS, 24))
	assert.Equal(t, "NULL", fmtMechanism(true, 0, 0))
}

func TestFmtEnumsAndLists(t *testing.T) {
	assert.Equal(t, "CKU_USER", enumName(ck.CKU_USER, userTypes))
	assert.Equal(t, "0x7", enumName(7, userTypes))
	assert.Equal(t, "CKS_RW_USER_FUNCTIONS", enumName(ck.CKS_RW_USER_FUNCTIONS, states))
	assert.Equal(t, "[0 1]", fmtList([]uint{0, 1}, fmtUint))
	assert.Equal(t, "[CKM_RSA_PKCS CKM_SHA_1]", fmtList([]uint{ck.CKM_RSA_PKCS, ck.CKM_SHA_1}, ck.MechName))
}
