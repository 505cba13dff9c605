package apdu

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseResponse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		data string
		sw   SW
	}{
		{"status only", "9000", "", SWOK},
		{"data and status", "0102039000", "010203", SWOK},
		{"verify fail", "63C2", "", 0x63C2},
		{"61xx", "AA6110", "AA", 0x6110},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := unhex(t, tt.in)
			r, err := ParseResponse(in)
			require.NoError(t, err)
			assert.Equal(t, unhex(t, tt.data), append([]byte{}, r.Data...))
			assert.Equal(t, tt.sw, r.SW)
			assert.Equal(t, in, r.Bytes())
		})
	}
	for _, in := range []string{"", "90"} {
		_, err := ParseResponse(unhex(t, in))
		require.ErrorIs(t, err, ErrShortResponse, "%q", in)
	}
}

func TestResponseDataCannotGrowIntoSW(t *testing.T) {
	in := unhex(t, "01029000")
	r, err := ParseResponse(in)
	require.NoError(t, err)
	r.Data = append(r.Data, 0xEE) // must not overwrite the caller's SW bytes
	assert.Equal(t, unhex(t, "01029000"), in)
}

func TestSW(t *testing.T) {
	tests := []struct {
		sw        SW
		str       string
		triesLeft bool
		tries     int
	}{
		{SWOK, "9000 (success)", false, 0},
		{0x63C3, "63C3 (wrong PIN, 3 tries left)", true, 3},
		{0x63C0, "63C0 (wrong PIN, 0 tries left)", true, 0},
		{SWRefDataBlocked, "6984 (reference data not usable (PIN locked))", false, 0},
		{SWSecurityStatus, "6982 (security status not satisfied (verify the PIN first))", false, 0},
		{0x6283, "6283", false, 0},
		{0x6300, "6300", false, 0},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.str, tt.sw.String())
		assert.Equal(t, tt.triesLeft, tt.sw.IsTriesLeft(), "%v", tt.sw)
		if tt.triesLeft {
			assert.Equal(t, tt.tries, tt.sw.TriesLeft())
		}
		assert.Equal(t, byte(tt.sw>>8), tt.sw.SW1())
		assert.Equal(t, byte(tt.sw), tt.sw.SW2())
	}
}

func TestResponseErr(t *testing.T) {
	assert.NoError(t, Response{SW: SWOK}.Err("READ BINARY"))
	err := Response{SW: SWFileNotFound}.Err("SELECT")
	var ae *Error
	require.True(t, errors.As(err, &ae))
	assert.Equal(t, SWFileNotFound, ae.SW)
	assert.Equal(t, "SELECT: card answered 6A82 (file or application not found)", err.Error())
	assert.Equal(t, "card answered 6F00 (no precise diagnosis)", (&Error{SW: SWNoPreciseDiagnosis}).Error())
}

func TestTriesLeftSW(t *testing.T) {
	for n := 0; n <= 15; n++ {
		sw := TriesLeftSW(n)
		assert.True(t, sw.IsTriesLeft(), "%v", sw)
		assert.Equal(t, n, sw.TriesLeft())
	}
	assert.Equal(t, SW(0x63C3), TriesLeftSW(3))
	assert.Equal(t, SWNoTriesLeft, TriesLeftSW(0))
}
