package mynacard

// This file holds the leave: how the card is made to forget its verified
// PINs at the end of a transaction, and the proof, once per insertion,
// that it really does.

import (
	"crypto"
	"crypto/sha256"
	"errors"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/jpki"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/pkcs1"
)

// leaveIO makes the card forget its verified PINs at the end of the
// caller's transaction: it selects another applet, or, where none can be
// selected (then for the whole insertion), or where this card was found to
// keep its PINs across that (proveLeaveIO), has the transaction end with a
// card reset. It leaves
// the card verified while a scope session token is logged in, whose login
// would go with it. The caller holds c.io, inside doIO.
func (c *Card) leaveIO(cl *jpki.Client) error {
	c.mu.Lock()
	keep := c.sessionOnCardLocked()
	c.mu.Unlock()
	if keep {
		return nil
	}
	if c.leaveByReset {
		c.endReset = true
		return nil
	}
	err := cl.Logout()
	if errors.Is(err, jpki.ErrResetRequired) {
		// No other applet answers (a smartphone routes only the JPKI
		// AID): that does not change while the credential stays in the
		// reader, so every later leave of this insertion is a reset
		// without asking again.
		c.leaveByReset, c.endReset = true, true
		c.log.Debugf("reader %q: no other applet can be selected (%v): every leave is a card reset", c.reader, err)
		return nil
	}
	if err != nil {
		return err
	}
	return c.proveLeaveIO(cl)
}

// proveLeaveIO checks, the first time per insertion that a transaction
// verified PIN k and left, that the card really forgot it. The leave by
// selecting another applet rests on one author's report (MYNA-CARD,
// soltia48/myna-card, src/ap/mod.rs); no published trace of a real card
// shows it. The witness is a command the card runs only while PIN k is
// verified, sent right after the leave: for the signature password a
// READ BINARY of the signature certificate (1 byte; the card answers 6982
// before the password), for the auth PIN a signature with the auth key
// over a fixed text that says what it is (leaveProbeDigestInfo). 6982 is
// the proof. When the card answers anything else the leave is useless on
// this card: the transaction ends with a reset, which drops every
// verified PIN (ISO/IEC 7816-4 section 5.4: the security status is
// volatile), and so does every later leave.
//
// A PIN an earlier transaction left verified (verifiedBefore: a logout in
// scope session) gets the same witness, but its 6982 proves nothing for
// later leaves: another program may have made the card forget the PIN
// before this transaction. The caller holds c.io, inside doIO, after the
// leave.
func (c *Card) proveLeaveIO(cl *jpki.Client) error {
	for _, k := range cardos.Keys {
		if !(c.verifiedInTx[ix(k)] || c.verifiedBefore[ix(k)]) || c.leaveProven[ix(k)] {
			continue
		}
		var err error
		if k == cardos.SignKey {
			_, err = cl.ReadCertificateHeader(cardos.SignCert, 1)
		} else {
			_, err = cl.Sign(cardos.AuthKey, leaveProbeDigestInfo())
		}
		switch {
		case errors.Is(err, cardos.ErrPINRequired) && !c.verifiedInTx[ix(k)]:
			c.log.Debugf("reader %q: the card does not have the %s PIN verified after the leave", c.reader, k)
		case errors.Is(err, cardos.ErrPINRequired):
			c.leaveProven[ix(k)] = true
			c.log.Debugf("reader %q: selecting another applet makes this card forget the %s PIN (checked once)", c.reader, k)
		case cardLevel(err):
			return err
		case err == nil:
			c.leaveByReset, c.endReset = true, true
			c.log.Infof("reader %q: this card keeps the %s PIN verified after another applet is selected: every leave is now a card reset, so that the card is never left verified", c.reader, k)
			return nil
		default:
			c.endReset = true
			c.log.Infof("reader %q: could not check that the card forgot the %s PIN (%v): this transaction ends with a card reset", c.reader, k, err)
		}
	}
	return nil
}

// leaveProbeDigestInfo is the SHA-256 DigestInfo proveLeaveIO asks the
// auth key to sign: of a text that says what it is, never of anything a
// verifier would take. The card refuses it when the leave worked.
func leaveProbeDigestInfo() []byte {
	h := sha256.Sum256([]byte("myna-pkcs11: check that the card forgot the PIN, not a signature of any document"))
	return pkcs1.DigestInfo(crypto.SHA256, h[:])
}
