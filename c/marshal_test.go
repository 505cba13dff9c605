package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestPad(t *testing.T) {
	tests := []struct {
		name  string
		width int
		in    string
		want  string
	}{
		{"short is blank-padded", 8, "abc", "abc     "},
		{"exact", 3, "abc", "abc"},
		{"long is truncated", 4, "abcdef", "abcd"},
		{"empty", 3, "", "   "},
		{"truncation keeps whole UTF-8 characters", 5, "あい", "あ  "},
		{"multi-byte fits exactly", 6, "あい", "あい"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := make([]byte, tc.width)
			for i := range dst {
				dst[i] = 0xff
			}
			pad(dst, tc.in)
			assert.Equal(t, tc.want, string(dst))
		})
	}
}

func TestInBytes(t *testing.T) {
	b, ok := inBytes(nil, 0)
	assert.True(t, ok)
	assert.Nil(t, b, "NULL with length 0 is nil")
	_, ok = inBytes(nil, 4)
	assert.False(t, ok, "NULL with a length is a bad argument")
}
