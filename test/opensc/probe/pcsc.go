package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/ebfe/scard"
)

// jpkiAID is the JPKI applet's AID.
var jpkiAID = []byte{0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01}

// sha256DigestInfo is the DER prefix of a SHA-256 DigestInfo.
var sha256DigestInfo = []byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}

const (
	claISO, claJPKI   = 0x00, 0x80
	insSelect, insSig = 0xA4, 0x2A
	selectByAID       = 0x04
	selectEF          = 0x02
	selectNoFCI       = 0x0C
	sigP2             = 0x80
	retries           = 50 // tries (100 ms apart) while another handle holds the card
)

// card is a shared PC/SC connection to one reader.
type card struct {
	ctx *scard.Context
	c   *scard.Card
}

// connect opens a shared T=1 connection to reader, retrying for 5 s.
func connect(reader string) (*card, error) {
	ctx, err := scard.EstablishContext()
	if err != nil {
		return nil, fmt.Errorf("SCardEstablishContext: %w (is pcscd running?)", err)
	}
	for i := 0; ; i++ {
		c, err := ctx.Connect(reader, scard.ShareShared, scard.ProtocolT1)
		if err == nil {
			return &card{ctx, c}, nil
		}
		if i == retries {
			ctx.Release()
			return nil, fmt.Errorf("SCardConnect %q: %w", reader, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// tx sends one APDU, retrying while another handle holds a transaction.
func (c *card) tx(apdu []byte) ([]byte, error) {
	for i := 0; ; i++ {
		r, err := c.c.Transmit(apdu)
		if err == nil {
			return r, nil
		}
		if i == retries {
			return nil, fmt.Errorf("SCardTransmit: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// close disconnects (resetting the card when reset is set, so it forgets
// every verified PIN) and releases the context.
func (c *card) close(reset bool) {
	d := scard.LeaveCard
	if reset {
		d = scard.ResetCard
	}
	c.c.Disconnect(d)
	c.ctx.Release()
}

// sw returns the status word of a response in upper-case hex.
func sw(r []byte) string {
	if len(r) < 2 {
		return "SHORT"
	}
	return strings.ToUpper(hex.EncodeToString(r[len(r)-2:]))
}

// signProbe selects the JPKI applet and key EF ef (hex) and sends a SIGN
// without a VERIFY in one connection: "9000" means the card still holds a
// verified PIN for that key, "6982" that it does not. A failed SELECT is
// reported as SELECT-AP-<SW> or SELECT-EF-<SW>.
func signProbe(reader, ef string) string {
	c, err := connect(reader)
	if err != nil {
		return "ERROR " + err.Error()
	}
	defer c.close(false)
	efID, err := hex.DecodeString(ef)
	if err != nil || len(efID) != 2 {
		return "ERROR bad EF " + ef
	}
	steps := []struct {
		name string
		apdu []byte
	}{
		{"SELECT-AP-", append([]byte{claISO, insSelect, selectByAID, selectNoFCI, byte(len(jpkiAID))}, jpkiAID...)},
		{"SELECT-EF-", append([]byte{claISO, insSelect, selectEF, selectNoFCI, 2}, efID...)},
	}
	for _, s := range steps {
		r, err := c.tx(s.apdu)
		if err != nil {
			return "ERROR " + err.Error()
		}
		if got := sw(r); got != "9000" {
			return s.name + got
		}
	}
	h := sha256.Sum256([]byte("probe"))
	di := append(append([]byte(nil), sha256DigestInfo...), h[:]...)
	apdu := append(append([]byte{claJPKI, insSig, 0x00, sigP2, byte(len(di))}, di...), 0x00)
	r, err := c.tx(apdu)
	if err != nil {
		return "ERROR " + err.Error()
	}
	return sw(r)
}
