package jpki

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/apdu"
)

func TestTriesLeft(t *testing.T) {
	tests := []struct {
		name string
		key  cardos.Key
		fid  string
		resp string
		want int
		err  error
	}{
		{"auth 3 left", cardos.AuthKey, "0018", "63C3", 3, nil},
		{"sign 5 left", cardos.SignKey, "001B", "63C5", 5, nil},
		{"sign 1 left", cardos.SignKey, "001B", "63C1", 1, nil},
		{"locked 63C0", cardos.AuthKey, "0018", "63C0", 0, nil},
		{"locked 6984", cardos.AuthKey, "0018", "6984", 0, nil},
		{"locked 6983", cardos.SignKey, "001B", "6983", 0, nil},
		{"9000 counts as full", cardos.SignKey, "001B", ok, 5, nil},
		{"data before 63Cx ignored", cardos.AuthKey, "0018", "0102" + "63C2", 2, nil},
		{"unexpected SW", cardos.AuthKey, "0018", "6D00", 0, nil},
		{"one byte", cardos.AuthKey, "0018", "63", 0, cardos.ErrCommFailure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScript(t,
				step{cmd: selJPKI, resp: ok},
				step{cmd: selEF(tt.fid), resp: ok},
				step{cmd: "00 20 00 80", resp: tt.resp}) // case 1: no Lc, no data, never spends a try
			got, err := NewClient(s).TriesLeft(tt.key)
			switch {
			case tt.err != nil:
				require.ErrorIs(t, err, tt.err)
			case tt.resp == "6D00":
				var ae *apdu.Error
				require.ErrorAs(t, err, &ae)
				assert.Equal(t, apdu.SW(0x6D00), ae.SW)
			default:
				require.NoError(t, err)
				assert.Equal(t, tt.want, got)
			}
		})
	}
}

func TestTriesLeftReusesSelection(t *testing.T) {
	s := newScript(t,
		step{cmd: selJPKI, resp: ok},
		step{cmd: selEF("0018"), resp: ok},
		step{cmd: "00 20 00 80", resp: "63C3"},
		step{cmd: "00 20 00 80", resp: "63C3"},
		step{cmd: selEF("001B"), resp: ok},
		step{cmd: "00 20 00 80", resp: "63C5"},
		step{cmd: selEF("0018"), resp: ok},
		step{cmd: "00 20 00 80", resp: "63C3"},
	)
	c := NewClient(s)
	require.NoError(t, c.Begin())
	for _, k := range []cardos.Key{cardos.AuthKey, cardos.AuthKey, cardos.SignKey, cardos.AuthKey} {
		n, err := c.TriesLeft(k)
		require.NoError(t, err)
		assert.Equal(t, k.MaxTries(), n)
	}
	require.NoError(t, c.End(false))
	assert.Equal(t, uint64(8), c.APDUs())
}

// Outside one transaction nothing selected before is trusted: another
// program may have selected the other PIN EF in between, and a VERIFY
// sent to it would spend the other PIN's tries.
func TestTriesLeftSelectsInEveryTransaction(t *testing.T) {
	s := newScript(t,
		step{cmd: selJPKI, resp: ok},
		step{cmd: selEF("0018"), resp: ok},
		step{cmd: "00 20 00 80", resp: "63C3"},
		step{cmd: selJPKI, resp: ok},
		step{cmd: selEF("0018"), resp: ok},
		step{cmd: "00 20 00 80", resp: "63C3"},
		step{cmd: selJPKI, resp: ok},
		step{cmd: selEF("0018"), resp: ok},
		step{cmd: "00 20 00 80 04 31323334", resp: ok},
	)
	c := NewClient(s)
	_, err := c.TriesLeft(cardos.AuthKey) // a transaction of its own
	require.NoError(t, err)
	require.NoError(t, c.Begin())
	_, err = c.TriesLeft(cardos.AuthKey)
	require.NoError(t, err)
	require.NoError(t, c.End(false))
	require.NoError(t, c.Verify(cardos.AuthKey, []byte("1234")))
	assert.Equal(t, uint64(s.sent()), c.APDUs())
}

func TestVerify(t *testing.T) {
	const authPIN, signPIN = "1234", "ABC123"
	tests := []struct {
		name  string
		key   cardos.Key
		pin   string
		cmd   string
		resp  string
		err   error
		tries int // for *cardos.WrongPINError
	}{
		{"auth ok", cardos.AuthKey, authPIN, "00 20 00 80 04 31323334", ok, nil, 0},
		{"sign ok", cardos.SignKey, signPIN, "00 20 00 80 06 414243313233", ok, nil, 0},
		{"sign 16 chars", cardos.SignKey, "ABCDEFGHIJ123456", "00 20 00 80 10 " + hex.EncodeToString([]byte("ABCDEFGHIJ123456")), ok, nil, 0},
		{"wrong, 2 left", cardos.AuthKey, authPIN, "00 20 00 80 04 31323334", "63C2", nil, 2},
		{"wrong, 1 left", cardos.SignKey, signPIN, "00 20 00 80 06 414243313233", "63C1", nil, 1},
		{"wrong, now locked", cardos.AuthKey, authPIN, "00 20 00 80 04 31323334", "63C0", cardos.ErrPINLocked, 0},
		{"already locked 6984", cardos.SignKey, signPIN, "00 20 00 80 06 414243313233", "6984", cardos.ErrPINLocked, 0},
		{"already locked 6983", cardos.SignKey, signPIN, "00 20 00 80 06 414243313233", "6983", cardos.ErrPINLocked, 0},
		{"wrong length", cardos.AuthKey, authPIN, "00 20 00 80 04 31323334", "6700", nil, 0},
		{"garbage", cardos.AuthKey, authPIN, "00 20 00 80 04 31323334", "FF", cardos.ErrCommFailure, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fid := map[cardos.Key]string{cardos.AuthKey: "0018", cardos.SignKey: "001B"}[tt.key]
			s := newScript(t, step{cmd: selJPKI, resp: ok}, step{cmd: selEF(fid), resp: ok}, step{cmd: tt.cmd, resp: tt.resp})
			err := NewClient(s).Verify(tt.key, []byte(tt.pin))
			switch {
			case tt.resp == ok:
				require.NoError(t, err)
				return
			case tt.tries > 0:
				var we *cardos.WrongPINError
				require.ErrorAs(t, err, &we)
				assert.Equal(t, tt.tries, we.TriesLeft)
				assert.NotErrorIs(t, err, cardos.ErrPINLocked)
			case tt.err != nil:
				require.ErrorIs(t, err, tt.err)
			default:
				require.Error(t, err)
			}
			assertNoPIN(t, err, tt.pin)
		})
	}
}

// assertNoPIN checks that an error message carries the PIN in no form:
// as text, as hex, or as space-separated hex bytes.
func assertNoPIN(t *testing.T, err error, pin string) {
	t.Helper()
	msg := strings.ToUpper(err.Error())
	forms := []string{pin, hex.EncodeToString([]byte(pin)), fmt.Sprintf("% X", []byte(pin))}
	for _, form := range forms {
		assert.NotContains(t, msg, strings.ToUpper(form), "error leaks the PIN: %v", err)
	}
}

func TestVerifyRefusesBadInput(t *testing.T) {
	c := NewClient(newScript(t)) // no APDU may be sent
	require.ErrorIs(t, c.Verify(cardos.AuthKey, nil), cardos.ErrBadPINLength)
	require.ErrorIs(t, c.Verify(cardos.AuthKey, []byte{}), cardos.ErrBadPINLength)
	require.ErrorIs(t, c.Verify(cardos.SignKey, make([]byte, 256)), cardos.ErrBadPINLength)
	require.Error(t, c.Verify(cardos.Key(0), []byte("1234")))
	require.ErrorIs(t, c.ChangePIN(cardos.AuthKey, nil), cardos.ErrBadPINLength)
	require.Error(t, c.ChangePIN(cardos.Key(3), []byte("1234")))
	_, err := c.TriesLeft(cardos.Key(7))
	require.Error(t, err)
	assert.Equal(t, uint64(0), c.APDUs())
}

func TestChangePIN(t *testing.T) {
	tests := []struct {
		name string
		key  cardos.Key
		pin  string
		cmd  string
		resp string
		err  error
	}{
		{"auth", cardos.AuthKey, "5678", "00 24 01 80 04 35363738", ok, nil},
		{"sign", cardos.SignKey, "NEWPASS9", "00 24 01 80 08 " + hex.EncodeToString([]byte("NEWPASS9")), ok, nil},
		{"not verified", cardos.AuthKey, "5678", "00 24 01 80 04 35363738", "6982", cardos.ErrPINRequired},
		{"locked", cardos.SignKey, "NEWPASS9", "00 24 01 80 08 " + hex.EncodeToString([]byte("NEWPASS9")), "6984", cardos.ErrPINLocked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fid := map[cardos.Key]string{cardos.AuthKey: "0018", cardos.SignKey: "001B"}[tt.key]
			s := newScript(t, step{cmd: selJPKI, resp: ok}, step{cmd: selEF(fid), resp: ok}, step{cmd: tt.cmd, resp: tt.resp})
			err := NewClient(s).ChangePIN(tt.key, []byte(tt.pin))
			if tt.err == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.err)
			assertNoPIN(t, err, tt.pin)
		})
	}
}

func TestVerifyThenChangeSameSelection(t *testing.T) {
	s := newScript(t,
		step{cmd: selJPKI, resp: ok},
		step{cmd: selEF("0018"), resp: ok},
		step{cmd: "00 20 00 80 04 31323334", resp: ok},
		step{cmd: "00 24 01 80 04 39383736", resp: ok},
	)
	c := NewClient(s)
	require.NoError(t, c.Begin())
	require.NoError(t, c.Verify(cardos.AuthKey, []byte("1234")))
	require.NoError(t, c.ChangePIN(cardos.AuthKey, []byte("9876")))
	require.NoError(t, c.End(false))
}
