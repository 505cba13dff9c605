package jpki

import (
	"bytes"
	"crypto"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/apdu"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/pkcs1"
)

// sha256DigestInfo is a DER DigestInfo prefix for SHA-256 followed by a
// made-up 32-byte digest.
var sha256DigestInfo = pkcs1.DigestInfo(crypto.SHA256, bytes.Repeat([]byte{0xAB}, 32))

func TestSign(t *testing.T) {
	sig := bytes.Repeat([]byte{0x5A}, 256)
	signCmd := "80 2A 00 80 33 " + hx(sha256DigestInfo) + " 00"
	tests := []struct {
		name  string
		key   cardos.Key
		fid   string
		steps []step
		want  []byte
		err   error
		sw    apdu.SW
	}{
		{"auth key", cardos.AuthKey, "0017", []step{{cmd: signCmd, resp: hx(sig) + ok}}, sig, nil, 0},
		{"sign key", cardos.SignKey, "001A", []step{{cmd: signCmd, resp: hx(sig) + ok}}, sig, nil, 0},
		{"PIN not verified", cardos.SignKey, "001A", []step{{cmd: signCmd, resp: "6982"}}, nil, cardos.ErrPINRequired, 0x6982},
		{"conditions not met", cardos.AuthKey, "0017", []step{{cmd: signCmd, resp: "6985"}}, nil, nil, 0x6985},
		{"short signature", cardos.AuthKey, "0017", []step{{cmd: signCmd, resp: hx(sig[:255]) + ok}}, nil, cardos.ErrCommFailure, 0},
		{"no signature", cardos.AuthKey, "0017", []step{{cmd: signCmd, resp: ok}}, nil, cardos.ErrCommFailure, 0},
		{"garbage", cardos.AuthKey, "0017", []step{{cmd: signCmd, resp: "00"}}, nil, cardos.ErrCommFailure, 0},
		{"61xx split", cardos.AuthKey, "0017", []step{
			{cmd: signCmd, resp: hx(sig[:16]) + "61F0"},
			{cmd: "00 C0 00 00 F0", resp: hx(sig[16:]) + ok},
		}, sig, nil, 0},
		{"card reset", cardos.AuthKey, "0017", []step{{cmd: signCmd, err: cardos.ErrCardReset}}, nil, cardos.ErrCardReset, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScript(t, step{cmd: selJPKI, resp: ok}, step{cmd: selEF(tt.fid), resp: ok})
			s.add(tt.steps...)
			got, err := NewClient(s).Sign(tt.key, sha256DigestInfo)
			if tt.err == nil && tt.sw == 0 {
				require.NoError(t, err)
				assert.Equal(t, tt.want, got)
				return
			}
			require.Error(t, err)
			assert.Nil(t, got)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
			}
			if tt.sw != 0 {
				var ae *apdu.Error
				require.ErrorAs(t, err, &ae)
				assert.Equal(t, tt.sw, ae.SW)
			}
		})
	}
}

func TestSignLengths(t *testing.T) {
	sig := bytes.Repeat([]byte{1}, 256)
	max := bytes.Repeat([]byte{2}, MaxSignInput)
	s := newScript(t,
		step{cmd: selJPKI, resp: ok},
		step{cmd: selEF("0017"), resp: ok},
		step{cmd: "80 2A 00 80 F5 " + hx(max) + " 00", resp: hx(sig) + ok},
		step{cmd: selJPKI, resp: ok},
		step{cmd: selEF("0017"), resp: ok},
		step{cmd: "80 2A 00 80 01 07 00", resp: hx(sig) + ok},
	)
	c := NewClient(s)
	_, err := c.Sign(cardos.AuthKey, max)
	require.NoError(t, err)
	_, err = c.Sign(cardos.AuthKey, []byte{7}) // its own transaction: selects again
	require.NoError(t, err)
	for _, n := range []int{0, MaxSignInput + 1, 255, 300} {
		_, err := c.Sign(cardos.AuthKey, make([]byte, n))
		require.ErrorIs(t, err, cardos.ErrBadDataLength, "n=%d", n)
	}
	_, err = c.Sign(cardos.Key(5), []byte{1})
	require.Error(t, err)
	assert.Equal(t, uint64(6), c.APDUs(), "refused inputs must not reach the card")
}

func TestLogout(t *testing.T) {
	const selISD = "00 A4 04 0C 07 A0 00 00 01 51 00 00"
	const selText = "00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 08"
	tests := []struct {
		name  string
		steps []step
		err   error
	}{
		// The JPKI AP is selected again, unverified, for programs that
		// select the applet once and then only its EFs (OpenSC).
		{"ISD selected", []step{{cmd: selISD, resp: ok}, {cmd: selJPKI, resp: ok}}, nil},
		{"fallback to the text AP", []step{{cmd: selISD, resp: "6A82"}, {cmd: selText, resp: ok}, {cmd: selJPKI, resp: ok}}, nil},
		{"JPKI AP refused again: still logged out", []step{{cmd: selISD, resp: ok}, {cmd: selJPKI, resp: "6A82"}}, nil},
		{"reset while selecting the JPKI AP again", []step{{cmd: selISD, resp: ok}, {cmd: selJPKI, err: cardos.ErrCardReset}}, nil},
		{"nothing selectable", []step{{cmd: selISD, resp: "6A82"}, {cmd: selText, resp: "6A82"}}, ErrResetRequired},
		{"reset counts as logged out", []step{{cmd: selISD, err: cardos.ErrCardReset}}, nil},
		{"card removed", []step{{cmd: selISD, err: cardos.ErrCardRemoved}}, cardos.ErrCardRemoved},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Verify, log out, then sign: the client must select the
			// JPKI AP and the key EF again after leaving the applet.
			s := newScript(t,
				step{cmd: selJPKI, resp: ok},
				step{cmd: selEF("0018"), resp: ok},
				step{cmd: "00 20 00 80 04 31323334", resp: ok})
			s.add(tt.steps...)
			s.add(step{cmd: selJPKI, resp: ok}, step{cmd: selEF("0017"), resp: ok},
				step{cmd: "80 2A 00 80 01 01 00", resp: "6982"})
			c := NewClient(s)
			require.NoError(t, c.Verify(cardos.AuthKey, []byte("1234")))
			err := c.Logout()
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
			} else {
				require.NoError(t, err)
			}
			_, err = c.Sign(cardos.AuthKey, []byte{1})
			require.ErrorIs(t, err, cardos.ErrPINRequired)
		})
	}
}

func TestSelectTracking(t *testing.T) {
	_, ef := certEF(100, 0)
	s := newScript(t,
		step{cmd: selJPKI, resp: ok},
		// Select twice: one APDU.
		step{cmd: selEF("000A"), resp: ok},
		step{cmd: "00 B0 00 00 00", resp: hx(ef) + ok},
		// Same EF again: no SELECT.
		step{cmd: "00 B0 00 00 00", resp: hx(ef) + ok},
		// A transport error forgets everything.
		step{cmd: "00 B0 00 00 00", err: cardos.ErrCardReset},
		step{cmd: selJPKI, resp: ok},
		step{cmd: selEF("000A"), resp: ok},
		step{cmd: "00 B0 00 00 00", resp: hx(ef) + ok},
		// A failed EF select forgets the EF, not the applet.
		step{cmd: selEF("0001"), resp: "6A82"},
		step{cmd: selEF("000A"), resp: ok},
		step{cmd: "00 B0 00 00 00", resp: hx(ef) + ok},
		// Forget: everything is selected again.
		step{cmd: selJPKI, resp: ok},
		step{cmd: selEF("000A"), resp: ok},
		step{cmd: "00 B0 00 00 00", resp: hx(ef) + ok},
		// A failed applet select is not remembered as selected.
		step{cmd: selJPKI, resp: "6A82"},
		step{cmd: selJPKI, resp: ok},
	)
	c := NewClient(s)
	assert.Same(t, s, c.Transport())
	require.NoError(t, c.Begin())
	defer c.End(false)
	require.NoError(t, c.Select())
	require.NoError(t, c.Select())
	for i := 0; i < 2; i++ {
		got, err := c.ReadCertificate(cardos.AuthCert)
		require.NoError(t, err)
		assert.Equal(t, ef, got)
	}
	_, err := c.ReadCertificate(cardos.AuthCert)
	require.ErrorIs(t, err, cardos.ErrCardReset)
	_, err = c.ReadCertificate(cardos.AuthCert)
	require.NoError(t, err)
	_, err = c.ReadCertificate(cardos.SignCert)
	require.ErrorIs(t, err, cardos.ErrNotFound)
	_, err = c.ReadCertificate(cardos.AuthCert)
	require.NoError(t, err)
	c.Forget()
	_, err = c.ReadCertificate(cardos.AuthCert)
	require.NoError(t, err)
	c.Forget()
	require.ErrorIs(t, c.Select(), cardos.ErrNotJPKI)
	require.NoError(t, c.Select())
	assert.Equal(t, uint64(s.sent()), c.APDUs())
}

func TestTransmitLoops(t *testing.T) {
	// A card answering 61xx forever is cut off.
	steps := []step{{cmd: selJPKI, resp: ok}, {cmd: selEF("000A"), resp: ok}, {cmd: "00 B0 00 00 00", resp: "6101"}}
	for i := 0; i < maxGetResponse; i++ {
		steps = append(steps, step{cmd: "00 C0 00 00 01", resp: "AA6101"})
	}
	_, err := NewClient(newScript(t, steps...)).ReadCertificate(cardos.AuthCert)
	require.ErrorIs(t, err, cardos.ErrCommFailure)

	// 6Cxx is followed once; a second 6Cxx is an error, not a loop.
	s := newScript(t, step{cmd: selJPKI, resp: ok}, step{cmd: selEF("000A"), resp: ok},
		step{cmd: "00 B0 00 00 00", resp: "6C10"}, step{cmd: "00 B0 00 00 10", resp: "6C20"})
	_, err = NewClient(s).ReadCertificate(cardos.AuthCert)
	var ae *apdu.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, apdu.SW(0x6C20), ae.SW)

	// 6Cxx on a command without Le (VERIFY) is not resent.
	s = newScript(t, step{cmd: selJPKI, resp: ok}, step{cmd: selEF("0018"), resp: ok},
		step{cmd: "00 20 00 80 04 31323334", resp: "6C04"})
	err = NewClient(s).Verify(cardos.AuthKey, []byte("1234"))
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, apdu.SW(0x6C04), ae.SW)
}

func TestErrorMessages(t *testing.T) {
	we := &cardos.WrongPINError{TriesLeft: 2}
	assert.Equal(t, "wrong PIN, 2 tries left", we.Error())
	assert.Contains(t, (&cardos.WrongPINError{TriesLeft: 1}).Error(), "1 try left")
	err := swError("VERIFY 0018", 0x63C0)
	assert.True(t, errors.Is(err, cardos.ErrPINLocked))
	assert.Contains(t, err.Error(), "63C0")
	assert.Equal(t, "auth", cardos.AuthKey.String())
	assert.Equal(t, "signature CA certificate", cardos.SignCACert.String())
	assert.Equal(t, 0, cardos.Key(9).MaxTries())
}
