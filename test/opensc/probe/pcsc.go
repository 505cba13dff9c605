package main

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/ebfe/scard"

	"github.com/myna-pkcs11/myna-pkcs11/cardos/apdu"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/jpki"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/pkcs1"
)

// The probe builds its APDUs by hand, as another program would, from the
// protocol facts the module defines once (cardos/jpki/ids.go, cardos/apdu).
const (
	claISO, claJPKI   = apdu.CLAISO, apdu.CLAProprietary
	insSelect, insSig = apdu.INSSelect, apdu.INSComputeSignature
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
		{"SELECT-AP-", append([]byte{claISO, insSelect, selectByAID, selectNoFCI, byte(len(jpki.AID))}, jpki.AID...)},
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
	di := pkcs1.SHA256([]byte("probe"))
	r, err := c.tx(append(append([]byte{claJPKI, insSig, 0x00, sigP2, byte(len(di))}, di...), 0x00))
	if err != nil {
		return "ERROR " + err.Error()
	}
	return sw(r)
}
