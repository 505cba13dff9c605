package jpki

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// step is one scripted exchange: the exact command expected (hex, spaces
// ignored) and the canned response (hex) or transport error.
type step struct {
	cmd  string
	resp string
	err  error
}

// script is a cardos.Transport that checks each command against a script
// and answers the canned response.
type script struct {
	t     *testing.T
	steps []step
	n     int
}

func newScript(t *testing.T, steps ...step) *script {
	t.Helper()
	s := &script{t: t, steps: steps}
	t.Cleanup(func() {
		if !t.Failed() {
			require.Equal(t, len(s.steps), s.n, "not every scripted APDU was sent")
		}
	})
	return s
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	require.NoError(t, err, "bad hex in test: %q", s)
	return b
}

func (s *script) Transmit(cmd []byte) ([]byte, error) {
	s.t.Helper()
	require.Less(s.t, s.n, len(s.steps), "unexpected extra APDU % X", cmd)
	st := s.steps[s.n]
	s.n++
	require.Equal(s.t, strings.ToUpper(strings.ReplaceAll(st.cmd, " ", "")), strings.ToUpper(hex.EncodeToString(cmd)), "APDU #%d", s.n)
	if st.err != nil {
		return nil, st.err
	}
	return unhex(s.t, st.resp), nil
}

func (s *script) Begin() error   { return nil }
func (s *script) End(bool) error { return nil }
func (s *script) Alive() error   { return nil }
func (s *script) ATR() []byte    { return []byte{0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x14} }
func (s *script) Close() error   { return nil }
func (s *script) sent() int      { return s.n }
func (s *script) add(st ...step) { s.steps = append(s.steps, st...) }

// Frequently scripted exchanges.
const (
	selJPKI = "00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01"
	ok      = "9000"
)

// began returns a client over s inside a transaction, as its owner
// holds one around every conversation.
func began(t *testing.T, s *script) *Client {
	t.Helper()
	c := NewClient(s)
	require.NoError(t, c.Begin())
	return c
}

func selEF(fid string) string { return "00 A4 02 0C 02 " + fid }

// fakeCert returns a DER SEQUENCE with a value of n bytes (a stand-in for
// a certificate; only its header matters to the client).
func fakeCert(n int) []byte {
	var b []byte
	switch {
	case n < 0x80:
		b = []byte{0x30, byte(n)}
	case n < 0x100:
		b = []byte{0x30, 0x81, byte(n)}
	default:
		b = []byte{0x30, 0x82, byte(n >> 8), byte(n)}
	}
	for i := 0; i < n; i++ {
		b = append(b, byte(i*7+1))
	}
	return b
}

func hx(b []byte) string { return hex.EncodeToString(b) }
