package mynacard

// This file holds the card's identity: what proves, after a reconnection
// or a reset, that the card in the reader is still the one whose PINs,
// logins, certificates and serial the module holds.
//
// A card is known by the start of its authentication certificate (its
// version, serial number and issuer), read once per insertion when the
// card is probed. Two cards of J-LIS never share a certificate serial
// number under one issuer (RFC 5280, section 4.1.2.2), so no other card
// passes the proof, whatever its PINs. PC/SC does not say that a card
// was swapped while the service was restarting (a new pcscd counts
// insertions afresh, so the event count can repeat), nor after an invalid
// handle; so every new connection to a card that was probed before, and
// every reset, is followed by the proof, in the same transaction and
// before any other command. A credential whose certificate cannot be
// read without a PIN (smartphone JPKI) cannot be proven: after any
// reconnection it is a new card.

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/jpki"
)

// errOtherCard is the error of a conversation that found another card
// (or one it cannot tell from another) where this card was: a removal,
// as far as this card's tokens and sessions are concerned.
func errOtherCard(why string) error {
	return fmt.Errorf("the card in the reader is not proven to be the card this token stood for (%s): its logins and held PINs are dropped, and it shows as a new token: %w", why, cardos.ErrCardRemoved)
}

// readIdentityIO reads the card's identity, the start of its
// authentication certificate, inside the caller's transaction (the
// caller holds c.io). An error that is not about the card or the
// connection (the certificate is missing or behind a PIN) gives a nil
// identity and no error: such a card has no identity to prove. behindPIN
// says the card refused it for want of the PIN, as a smartphone
// credential does (jpki/myna, https://github.com/jpki/myna, verifies the
// auth PIN before reading EF 000A when the token is JPKIAPGPSETOKEN).
func (c *Card) readIdentityIO(cl *jpki.Client) (head []byte, behindPIN bool, err error) {
	head, err = cl.ReadCertificateHeader(cardos.AuthCert, HeadLen)
	if cardLevel(err) {
		return nil, false, err
	}
	if err != nil {
		c.log.Infof("reader %q: the authentication certificate is unreadable without a PIN, so the token's serial is unknown and the card cannot be told from another after a reconnection: it is a new token after each: %v", c.reader, err)
		return nil, errors.Is(err, cardos.ErrPINRequired), nil
	}
	return head, false, nil
}

// proveIO checks, when a reconnection or a reset made it necessary
// (c.mustProve), that the card answering is the card this value stands
// for, before anything else is sent in the transaction; the caller holds
// c.io, inside doIO. It costs the identity read (SELECT EF 000A and one
// READ BINARY; the applet is selected anyway by the transaction).
func (c *Card) proveIO(cl *jpki.Client) error {
	if !c.mustProve {
		return nil
	}
	c.mu.Lock()
	want := c.authHead
	c.mu.Unlock()
	if want == nil {
		return errOtherCard("its authentication certificate could not be read when it was inserted")
	}
	got, err := cl.ReadCertificateHeader(cardos.AuthCert, len(want))
	switch {
	case cardLevel(err):
		return err // reset again (doIO retries) or gone
	case errors.Is(err, cardos.ErrNotJPKI):
		return errOtherCard("it has no JPKI applet")
	case err != nil:
		return errOtherCard(fmt.Sprintf("its authentication certificate is unreadable: %v", err))
	case !bytes.Equal(got, want):
		return errOtherCard("its authentication certificate differs")
	}
	c.mustProve = false
	c.log.Debugf("reader %q: the card is the same after the reconnection or reset", c.reader)
	return nil
}
