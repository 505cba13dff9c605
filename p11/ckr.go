package p11

import (
	"errors"
	"fmt"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// ckrOf chooses the PKCS#11 code of an error of the card layer, keeping
// the original text for the log. It is the one place where the
// credential's errors become CKR codes.
func ckrOf(err error) error {
	if err == nil {
		return nil
	}
	var ce ck.Error
	if errors.As(err, &ce) {
		return err
	}
	var wrong *cardos.WrongPINError
	rv := uint(ck.CKR_DEVICE_ERROR)
	switch {
	case errors.Is(err, cardos.ErrPINChangeUnconfirmed):
		rv = ck.CKR_FUNCTION_FAILED
	case cardos.Gone(err):
		rv = ck.CKR_DEVICE_REMOVED
	case errors.Is(err, cardos.ErrPINLocked):
		rv = ck.CKR_PIN_LOCKED
	case errors.As(err, &wrong):
		rv = ck.CKR_PIN_INCORRECT
	case errors.Is(err, cardos.ErrPINRequired):
		rv = ck.CKR_USER_NOT_LOGGED_IN
	case errors.Is(err, cardos.ErrBadPINLength):
		rv = ck.CKR_PIN_LEN_RANGE
	case errors.Is(err, cardos.ErrBadDataLength):
		rv = ck.CKR_DATA_LEN_RANGE
	}
	return fmt.Errorf("%w: %w", ck.Error(rv), err)
}

// cardResult is what a call that used card in returns for err: the
// sessions of a card that is gone are closed (the call returns
// CKR_DEVICE_REMOVED, later calls on those sessions
// CKR_SESSION_HANDLE_INVALID), and the error gets its CKR code.
func (m *Module) cardResult(in *insertion, err error) error {
	if err == nil {
		return nil
	}
	if cardos.Gone(err) {
		m.mu.Lock()
		m.dropSessionsLocked(in)
		m.mu.Unlock()
	}
	return ckrOf(err)
}
