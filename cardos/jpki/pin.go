package jpki

import (
	"errors"
	"fmt"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/apdu"
)

// maxPINLen is the longest PIN a short APDU carries. The card's own limits
// (4 digits, 6–16 characters) are the caller's to check.
const maxPINLen = 255

// TriesLeft returns how many wrong PINs the key still tolerates, asking the
// card with a VERIFY that carries no PIN (00 20 00 80, case 1), which never
// spends a try. 0 means the PIN is locked (63C0 or 6984/6983). A card that
// answers 9000 (PIN already verified, counter not reported) counts as
// having all its tries.
func (c *Client) TriesLeft(key cardos.Key) (int, error) {
	fid, err := PINEF(key)
	if err != nil {
		return 0, err
	}
	return c.triesLeft(key, fid)
}

// triesLeft is TriesLeft inside the transaction.
func (c *Client) triesLeft(key cardos.Key, fid uint16) (int, error) {
	if err := c.selectEF(fid); err != nil {
		return 0, err
	}
	op := fmt.Sprintf("VERIFY status %04X", fid)
	r, err := c.transmit(apdu.Command{CLA: apdu.CLAISO, INS: apdu.INSVerify, P1: 0x00, P2: apdu.RefCurrentEF}, op)
	if err != nil {
		return 0, err
	}
	if r.SW == apdu.SWOK {
		return key.MaxTries(), nil
	}
	err = swError(op, r.SW)
	var wrong *cardos.WrongPINError
	switch {
	case errors.As(err, &wrong):
		return wrong.TriesLeft, nil
	case errors.Is(err, cardos.ErrPINLocked):
		return 0, nil
	}
	return 0, err
}

// Verify presents pin for key (00 20 00 80 Lc PIN). The PIN is sent as
// given: the caller checks its format and upper-cases the signature
// password. It returns nil when the card accepted it, *cardos.WrongPINError with
// the tries left when it did not, and cardos.ErrPINLocked when the PIN is (or
// just became) locked. An empty PIN gives cardos.ErrBadPINLength without talking to
// the card. The PIN never appears in an error.
func (c *Client) Verify(key cardos.Key, pin []byte) error {
	fid, err := PINEF(key)
	if err != nil {
		return err
	}
	if len(pin) == 0 || len(pin) > maxPINLen {
		return fmt.Errorf("%w: PIN of %d bytes", cardos.ErrBadPINLength, len(pin))
	}
	return c.command(fid, apdu.Command{CLA: apdu.CLAISO, INS: apdu.INSVerify, P1: 0x00, P2: apdu.RefCurrentEF, Data: pin}, fmt.Sprintf("VERIFY %04X", fid))
}

// command selects EF fid and sends cmd, which must answer 9000 with no
// data; any other status word becomes an error. The caller runs it
// inside the transaction.
func (c *Client) command(fid uint16, cmd apdu.Command, op string) error {
	if err := c.selectEF(fid); err != nil {
		return err
	}
	r, err := c.transmit(cmd, op)
	if err != nil {
		return err
	}
	if r.SW != apdu.SWOK {
		return swError(op, r.SW)
	}
	return nil
}

// ChangePIN replaces key's PIN with newPIN (CHANGE REFERENCE DATA,
// 00 24 01 80 Lc new). The current PIN must have been verified with
// Verify in the same transaction (Begin ... End): a verification from an
// earlier one may have been dropped by another program since, or be
// another program's. Without it the card answers cardos.ErrPINRequired. The
// caller checks newPIN's format; an empty value gives cardos.ErrBadPINLength.
func (c *Client) ChangePIN(key cardos.Key, newPIN []byte) error {
	fid, err := PINEF(key)
	if err != nil {
		return err
	}
	if len(newPIN) == 0 || len(newPIN) > maxPINLen {
		return fmt.Errorf("%w: new PIN of %d bytes", cardos.ErrBadPINLength, len(newPIN))
	}
	return c.command(fid, apdu.Command{CLA: apdu.CLAISO, INS: apdu.INSChangeReferenceData, P1: apdu.ChangeNewValue, P2: apdu.RefCurrentEF, Data: newPIN}, fmt.Sprintf("CHANGE REFERENCE DATA %04X", fid))
}
