package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/miekg/pkcs11"
	"github.com/stretchr/testify/assert"
)

func TestFlagNames(t *testing.T) {
	tests := []struct {
		flags uint
		want  []string
	}{
		{0, []string{}},
		{pkcs11.CKF_LOGIN_REQUIRED | pkcs11.CKF_TOKEN_INITIALIZED, []string{"LOGIN_REQUIRED", "TOKEN_INITIALIZED"}},
		{pkcs11.CKF_USER_PIN_LOCKED | pkcs11.CKF_USER_PIN_COUNT_LOW, []string{"USER_PIN_COUNT_LOW", "USER_PIN_LOCKED"}},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, flagNames(tc.flags), "flags 0x%x", tc.flags)
	}
}

func TestCKR(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, "CKR_OK"},
		{pkcs11.Error(pkcs11.CKR_PIN_INCORRECT), "CKR_PIN_INCORRECT"},
		{pkcs11.Error(pkcs11.CKR_PIN_LEN_RANGE), "CKR_PIN_LEN_RANGE"},
		{pkcs11.Error(0x1234), "CKR_0x00001234"},
		{errors.New("no module"), "no module"},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, ckr(tc.err))
	}
}

func TestULongAndCommandLines(t *testing.T) {
	v, ok := ulong([]byte{3, 0, 0, 0, 0, 0, 0, 0})
	assert.True(t, ok)
	assert.Equal(t, uint(3), v)
	_, ok = ulong(nil)
	assert.False(t, ok)
	trace := "sim> 00A4040C0AD392F000260100000001\nsim< 9000\nother\nsim> 00200080 \n"
	assert.Equal(t, []string{"00A4040C0AD392F000260100000001", "00200080"}, commandLines(strings.NewReader(trace)))
}

func TestSW(t *testing.T) {
	assert.Equal(t, "6982", sw([]byte{0x69, 0x82}))
	assert.Equal(t, "9000", sw([]byte{1, 2, 0x90, 0x00}))
	assert.Equal(t, "SHORT", sw([]byte{0x90}))
}
