package mynacard

import (
	"errors"
	"fmt"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/jpki"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/pkcs1"
)

// ReselectProbe finds out what no published trace settles: whether the
// card drops a verified PIN when the JPKI AP, already selected, is
// selected again. The tries query cannot tell (the card answers 63Cx
// even when verified), so a signature with the auth key is the witness.
// One conversation: a tries query of the auth PIN, which must show every
// try left (otherwise nothing more is sent, and the result says it was
// skipped: a PIN changed in between would cost a try); VERIFY with pin
// (already checked and accepted by a login); SELECT AP again; SIGN with
// the auth key over the DigestInfo of a fixed text (9000: the PIN stayed
// verified; 6982: it was dropped); and the leave, so that the card is
// not left verified. The result is a sentence for the report.
func (c *Card) ReselectProbe(pin []byte) (string, error) {
	defer clear(pin)
	var out string
	err := c.do("re-select probe", func(cl *jpki.Client) error {
		n, err := cl.TriesLeft(cardos.AuthKey)
		if err != nil {
			return err
		}
		if n != c.fullTries(cardos.AuthKey) {
			out = fmt.Sprintf("skipped: the card shows %d tries left, not %d (no PIN sent)", n, c.fullTries(cardos.AuthKey))
			return nil
		}
		if err := c.presentIO(cl, cardos.AuthKey, pin, "VERIFY"); err != nil {
			return err
		}
		cl.Forget() // the next command selects the AP again
		if err = cl.Select(); err == nil {
			_, err = cl.Sign(cardos.AuthKey, reselectProbeDigestInfo())
			switch {
			case err == nil:
				out = "selecting the JPKI AP again keeps a verified PIN (the auth key signed)"
			case errors.Is(err, cardos.ErrPINRequired):
				out, err = "selecting the JPKI AP again drops a verified PIN (the auth key refused to sign: 6982)", nil
			}
		}
		if fateUnknown(err) {
			c.endReset = true
			return err
		}
		if lerr := cl.Logout(); lerr != nil {
			c.endReset = true // ErrResetRequired or a dead card: the reset drops the PIN
		}
		return err
	})
	return out, err
}

// reselectProbeDigestInfo is the SHA-256 DigestInfo the probe has
// signed: of a text that says what it is, never of anything a verifier
// would take.
func reselectProbeDigestInfo() []byte {
	return pkcs1.SHA256([]byte("myna-pkcs11 diagnose: re-select probe, not a signature of any document"))
}
