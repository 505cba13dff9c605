package jpki

import (
	"errors"
	"fmt"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/apdu"
)

// Errors reported by the Client. Callers test them with errors.Is; the
// status word that caused them stays available with errors.As to
// *apdu.Error.
var (
	// ErrResetRequired is returned by Logout when no other applet could be
	// selected: the caller must reset the card (Transport.End(true)) to
	// drop the verified PINs, then call Forget.
	ErrResetRequired = errors.New("jpki: could not leave the applet; reset the card to log out")
)

// swError turns a status word other than 9000 into an error for the
// operation op, mapping it to this package's sentinels and keeping the
// *apdu.Error wrapped.
func swError(op string, sw apdu.SW) error {
	ae := &apdu.Error{SW: sw, Cmd: op}
	switch {
	case sw == apdu.SWSecurityStatus:
		return fmt.Errorf("%w: %w", cardos.ErrPINRequired, ae)
	case sw == apdu.SWAuthBlocked, sw == apdu.SWRefDataBlocked, sw == apdu.SWNoTriesLeft:
		return fmt.Errorf("%w: %w", cardos.ErrPINLocked, ae)
	case sw.IsTriesLeft():
		return fmt.Errorf("%w: %w", &cardos.WrongPINError{TriesLeft: sw.TriesLeft()}, ae)
	case sw == apdu.SWFileNotFound:
		return fmt.Errorf("%w: %w", cardos.ErrNotFound, ae)
	}
	return fmt.Errorf("jpki: %w", ae)
}

// notJPKI reports whether a refused SELECT of the JPKI applet means the
// card has no such applet (see cardos.ErrNotJPKI).
func notJPKI(sw apdu.SW) bool {
	switch sw {
	case apdu.SWFileNotFound, apdu.SWIncorrectP1P2, apdu.SWINSNotSupported, apdu.SWCLANotSupported:
		return true
	}
	return false
}

// commError reports a malformed answer of the card.
func commError(format string, args ...any) error {
	return fmt.Errorf("jpki: "+format+": %w", append(args, cardos.ErrCommFailure)...)
}
