package pcsc

import (
	"errors"
	"fmt"

	"github.com/ebfe/scard"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
)

// ErrClosed is returned by every method of a Context or Conn after Close.
var ErrClosed = errors.New("pcsc: already closed")

// sentinel returns the cardos error a PC/SC error stands for, or nil.
// onConnect selects the meaning of "no card" for Connect (ErrNoCard)
// rather than for an open connection (ErrCardRemoved).
func sentinel(e scard.Error, onConnect bool) error {
	switch e {
	case scard.ErrResetCard:
		return cardos.ErrCardReset
	case scard.ErrRemovedCard, scard.ErrNoSmartcard:
		if onConnect {
			return cardos.ErrNoCard
		}
		return cardos.ErrCardRemoved
	case scard.ErrReaderUnavailable, scard.ErrUnknownReader:
		return cardos.ErrReaderGone
	case scard.ErrNoService, scard.ErrServiceStopped, scard.ErrInvalidHandle:
		// An invalid handle on an open connection means pcscd restarted
		// and forgot it: connect again.
		return cardos.ErrNoService
	case scard.ErrNoAccess:
		return cardos.ErrAccessDenied
	case scard.ErrTimeout:
		return cardos.ErrTimeout
	case scard.ErrCommError, scard.ErrUnresponsiveCard, scard.ErrUnpoweredCard, scard.ErrCommDataLost:
		return cardos.ErrCommFailure
	}
	return nil
}

// wrap describes err, a failure of the PC/SC operation op, wrapping the
// matching cardos sentinel and the scard.Error.
func wrap(op string, err error, onConnect bool) error {
	if err == nil {
		return nil
	}
	var se scard.Error
	if errors.As(err, &se) {
		if s := sentinel(se, onConnect); s != nil {
			return fmt.Errorf("pcsc: %s: %w (%w)", op, s, err)
		}
	}
	return fmt.Errorf("pcsc: %s: %w", op, err)
}

// is reports whether err is one of the PC/SC errors codes.
func is(err error, codes ...scard.Error) bool {
	var se scard.Error
	if !errors.As(err, &se) {
		return false
	}
	for _, c := range codes {
		if se == c {
			return true
		}
	}
	return false
}

// serviceGone reports whether err means the PC/SC context is no longer
// usable and must be established again.
func serviceGone(err error) bool {
	return is(err, scard.ErrNoService, scard.ErrServiceStopped, scard.ErrInvalidHandle)
}

// establishErr describes a failed SCardEstablishContext: pcscd is not
// running, or it runs and refused this program (polkit).
func establishErr(err error, onConnect bool) error {
	if serviceGone(err) {
		return wrap("establish context (is pcscd running?)", err, onConnect)
	}
	return wrap("establish context", err, onConnect)
}
