package apdu

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	require.NoError(t, err)
	return b
}

func TestCommandBytes(t *testing.T) {
	data255 := bytes.Repeat([]byte{0xAA}, 255)
	data256 := bytes.Repeat([]byte{0xBB}, 256)
	tests := []struct {
		name string
		cmd  Command
		want string
	}{
		{"case 1 empty VERIFY", Command{INS: 0x20, P2: 0x80}, "00 20 00 80"},
		{"case 2 Le 32", Command{INS: 0xB0, Le: 32}, "00 B0 00 00 20"},
		{"case 2 Le 256 as 00", Command{INS: 0xB0, P1: 0x01, Le: 256}, "00 B0 01 00 00"},
		{"case 3 SELECT AID", Command{INS: 0xA4, P1: 4, P2: 0x0C, Data: unhex(t, "D392F000260100000001")}, "00 A4 04 0C 0A D392F000260100000001"},
		{"case 4 SIGN", Command{CLA: 0x80, INS: 0x2A, P2: 0x80, Data: []byte{1, 2, 3}, Le: 256}, "80 2A 00 80 03 010203 00"},
		{"case 3 Lc 255 short", Command{INS: 0xD6, Data: data255}, "00 D6 00 00 FF " + hex.EncodeToString(data255)},
		{"case 3 Lc 256 extended", Command{INS: 0xD6, Data: data256}, "00 D6 00 00 00 0100 " + hex.EncodeToString(data256)},
		{"case 2 extended Le 257", Command{INS: 0xB0, Le: 257}, "00 B0 00 00 00 0101"},
		{"case 2 extended Le 65536", Command{INS: 0xB0, Le: 65536}, "00 B0 00 00 00 0000"},
		{"case 2 forced extended", Command{INS: 0xCA, P1: 0x5F, P2: 0x51, Le: 256, Extended: true}, "00 CA 5F 51 00 0100"},
		{"case 4 extended", Command{INS: 0x2A, Data: []byte{9}, Le: 65536, Extended: true}, "00 2A 00 00 00 0001 09 0000"},
		{"case 4 extended by Le", Command{INS: 0x2A, Data: []byte{9}, Le: 512}, "00 2A 00 00 00 0001 09 0200"},
		{"case 1 forced extended stays 4 bytes", Command{INS: 0x20, Extended: true}, "00 20 00 00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.cmd.Bytes()
			require.NoError(t, err)
			assert.Equal(t, unhex(t, tt.want), got)
			back, err := Parse(got)
			require.NoError(t, err)
			assert.Equal(t, normalize(tt.cmd), normalize(back))
		})
	}
}

func TestCommandBytesTooLong(t *testing.T) {
	for _, c := range []Command{
		{Data: make([]byte, 65536)},
		{Le: 65537},
		{Le: -1},
	} {
		_, err := c.Bytes()
		require.ErrorIs(t, err, ErrTooLong, "%v", c)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Command
	}{
		{"case 1", "00 20 00 80", Command{INS: 0x20, P2: 0x80}},
		{"case 2 Le 00", "00 B0 00 00 00", Command{INS: 0xB0, Le: 256}},
		{"case 2 Le FF", "00 B0 7F FF FF", Command{INS: 0xB0, P1: 0x7F, P2: 0xFF, Le: 255}},
		{"case 3", "00 A4 02 0C 02 0018", Command{INS: 0xA4, P1: 2, P2: 0x0C, Data: []byte{0, 0x18}}},
		{"case 4", "80 2A 00 80 01 AA 00", Command{CLA: 0x80, INS: 0x2A, P2: 0x80, Data: []byte{0xAA}, Le: 256}},
		{"case 4 data starts with 00", "00 2A 00 00 02 0000 10", Command{INS: 0x2A, Data: []byte{0, 0}, Le: 16}},
		{"case 2 extended", "00 B0 00 00 00 0102", Command{INS: 0xB0, Le: 258, Extended: true}},
		{"case 2 extended 0000", "00 B0 00 00 00 0000", Command{INS: 0xB0, Le: 65536, Extended: true}},
		{"case 3 extended", "00 D6 00 00 00 0002 AABB", Command{INS: 0xD6, Data: []byte{0xAA, 0xBB}, Extended: true}},
		{"case 4 extended", "00 D6 00 00 00 0001 AA 0000", Command{INS: 0xD6, Data: []byte{0xAA}, Le: 65536, Extended: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := unhex(t, tt.in)
			got, err := Parse(in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			again, err := got.Bytes()
			require.NoError(t, err)
			assert.Equal(t, in, again, "re-encoding differs")
		})
	}
}

func TestParseMalformed(t *testing.T) {
	for _, in := range []string{
		"",
		"00",
		"00 A4 04",
		"00 A4 04 0C 00 00",            // short Lc 0 is not a case
		"00 A4 04 0C 05 0102",          // Lc larger than the data
		"00 A4 04 0C 01 010203",        // Lc smaller than the data + Le
		"00 A4 04 0C 00 00",            // extended header cut
		"00 D6 00 00 00 0000 AA",       // extended Lc 0
		"00 D6 00 00 00 0003 AA",       // extended Lc larger than the data
		"00 D6 00 00 00 0001 AABBCCDD", // extended Lc smaller than the data + Le
		"00 D6 00 00 00 0001 AA 00",    // extended Le of 1 byte
	} {
		_, err := Parse(unhex(t, in))
		require.ErrorIs(t, err, ErrMalformed, "%q", in)
	}
}

func TestCommandString(t *testing.T) {
	c := Command{INS: 0x20, P2: 0x80, Data: []byte("1234")}
	s := c.String()
	assert.Equal(t, "00 20 00 80 Lc=4 Le=0", s)
	assert.NotContains(t, s, "1234")
	assert.NotContains(t, s, "31323334")
}

// normalize makes an encoded-then-parsed command comparable with the
// original: no data is nil, and Extended only matters when a length field
// exists.
func normalize(c Command) Command {
	if len(c.Data) == 0 {
		c.Data = nil
	}
	c.Extended = (c.Extended || len(c.Data) > 255 || c.Le > 256) && (len(c.Data) > 0 || c.Le > 0)
	return c
}
