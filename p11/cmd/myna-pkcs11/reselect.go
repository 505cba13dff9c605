package main

import (
	"crypto"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/jpki"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/pkcs1"
)

// reselectStep names the probe in the report's steps.
const reselectStep = "re-select probe (auth PIN)"

// reselectProbe finds out what no document settles (cardos/jpki/FACTS.md §9):
// whether the card drops a verified PIN when the JPKI AP, already
// selected, is selected again. The tries query cannot tell (the card
// answers 63Cx even when verified), so a signature with the auth key is
// the witness. One transaction on reader: a tries query of the auth PIN,
// which must show every try left (otherwise nothing more is sent: a PIN
// changed in between would cost a try); VERIFY with the PIN the module
// has just accepted; SELECT AP again; SIGN with the auth key over the
// DigestInfo of a fixed text (9000: the PIN stayed verified; 6982: it was
// dropped); and the leave (SELECT GP ISD, or a reset), so that the card is
// not left verified. The answer goes into the report's APDUs, where
// diag.Report.Behaviour reads it for myna-sim --profile.
func (p *probe) reselectProbe(reader string, pin []byte) {
	p.step(reselectStep, func() (string, error) {
		t, err := connectReader(p.ctx, reader)
		if err != nil {
			return "", err
		}
		defer t.Close()
		c := jpki.NewClient(t)
		if err := c.Begin(); err != nil {
			if errors.Is(err, cardos.ErrCardReset) {
				c.End(false)
			}
			return "", err
		}
		detail, err := reselect(c, pin)
		reset := false
		if lerr := c.Logout(); lerr != nil {
			reset = true // jpki.ErrResetRequired or a dead card: the reset drops the PIN
		}
		if eerr := c.End(reset); err == nil && eerr != nil {
			err = eerr
		}
		return detail, err
	})
}

// reselect is the probe's conversation inside the transaction.
func reselect(c *jpki.Client, pin []byte) (string, error) {
	n, err := c.TriesLeft(cardos.AuthKey)
	if err != nil {
		return "", err
	}
	if n != cardos.AuthKey.MaxTries() {
		return fmt.Sprintf("skipped: the card shows %d tries left, not %d (no PIN sent)", n, cardos.AuthKey.MaxTries()), nil
	}
	if err := c.Verify(cardos.AuthKey, pin); err != nil {
		return "", err
	}
	c.Forget() // the next command selects the AP again
	if err := c.Select(); err != nil {
		return "", err
	}
	_, err = c.Sign(cardos.AuthKey, probeDigestInfo())
	switch {
	case err == nil:
		return "selecting the JPKI AP again keeps a verified PIN (the auth key signed)", nil
	case errors.Is(err, cardos.ErrPINRequired):
		return "selecting the JPKI AP again drops a verified PIN (the auth key refused to sign: 6982)", nil
	}
	return "", err
}

// probeDigestInfo is the SHA-256 DigestInfo the probe has signed: of a
// text that says what it is, never of anything a verifier would take.
func probeDigestInfo() []byte {
	h := sha256.Sum256([]byte("myna-pkcs11 diagnose: re-select probe, not a signature of any document"))
	return pkcs1.DigestInfo(crypto.SHA256, h[:])
}

// connectReader connects to reader, or to the reader whose name starts
// with it (a slot description is cut at 64 characters).
func connectReader(ctx cardos.Context, reader string) (cardos.Transport, error) {
	readers, err := ctx.Readers()
	if err != nil {
		return nil, err
	}
	for _, r := range readers {
		if r.Name == reader || strings.HasPrefix(r.Name, reader) {
			return ctx.Connect(r.Name)
		}
	}
	return nil, fmt.Errorf("%w: %q", cardos.ErrReaderGone, reader)
}
