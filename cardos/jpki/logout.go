package jpki

import (
	"fmt"

	"github.com/myna-pkcs11/myna-pkcs11/cardos/apdu"
)

// Logout makes the card forget every verified PIN by selecting another
// applet: the GlobalPlatform issuer security domain, or failing that the
// card-info input-assist applet. It then selects the JPKI AP again, with
// no PIN verified, for other programs that select the applet once and
// afterwards only its files, as OpenSC's JPKI driver does
// (src/libopensc/card-jpki.c selects the AP when it binds the card and
// after a reset it noticed, never between its own transactions). That
// last SELECT may fail: the PINs are dropped either way.
//
// When neither applet can be selected it returns ErrResetRequired: the
// caller then resets the card (Transport.End(true)) and calls Forget. A
// transport reporting cardos.ErrCardReset counts as logged out (the
// reset already dropped the PINs) and gives nil.
func (c *Client) Logout() error {
	var last error
	for _, a := range []struct {
		aid []byte
		op  string
	}{{AIDISD, "SELECT GP ISD"}, {AIDTextAP, "SELECT text AP"}} {
		r, err := c.selectAID(a.aid, a.op)
		if isReset(err) {
			c.forget()
			return nil
		}
		if err != nil {
			return err
		}
		if r.SW == apdu.SWOK {
			c.applet = appletOther
			c.reselectJPKI()
			return nil
		}
		last = &apdu.Error{SW: r.SW, Cmd: a.op}
	}
	c.forget()
	return fmt.Errorf("%w: %w", ErrResetRequired, last)
}

// reselectJPKI selects the JPKI AP after the PINs were dropped, and
// ignores a failure: the card is logged out whichever applet it shows.
func (c *Client) reselectJPKI() {
	if c.selectJPKI() != nil {
		c.forget()
	}
}
