package p11

// This file holds C_Login, C_Logout and the PIN functions of the
// PKCS#11 API; the card side is in cardos/mynacard (login.go, pin.go).

import (
	"fmt"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// Login implements C_Login. The PIN is checked against the token's
// policy before anything reaches the card (a malformed PIN gets
// CKR_PIN_INCORRECT, see loginPINError); a PIN known to be locked (from
// C_GetTokenInfo or an earlier VERIFY) gives CKR_PIN_LOCKED without a
// VERIFY; otherwise the PIN is verified at once, and the card's answer
// updates the retry counter C_GetTokenInfo reports; a wrong PIN and a
// locked one are also told in a desktop notification (notify.go). The
// login holds for
// every session of the token. The token
// has no security officer: CKU_SO gives CKR_USER_TYPE_INVALID.
// CKU_CONTEXT_SPECIFIC verifies the PIN again during a signing
// operation.
func (m *Module) Login(sess SessionHandle, userType uint, pin []byte) error {
	s, err := m.session(sess)
	if err != nil {
		return err
	}
	switch userType {
	case ck.CKU_USER:
	case ck.CKU_CONTEXT_SPECIFIC:
		s.mu.Lock()
		active := s.sign != nil
		s.mu.Unlock()
		if !active {
			return ck.Error(ck.CKR_OPERATION_NOT_INITIALIZED)
		}
	case ck.CKU_SO:
		m.log.infof("C_Login: the JPKI tokens have no security officer PIN")
		return ck.Error(ck.CKR_USER_TYPE_INVALID)
	default:
		return ck.Error(ck.CKR_USER_TYPE_INVALID)
	}
	if userType == ck.CKU_USER && s.c.card.LoggedIn(s.kind) {
		return ck.Error(ck.CKR_USER_ALREADY_LOGGED_IN)
	}
	if s.kind == signToken && s.c.card.SignCert() == cardos.CertAbsent {
		m.log.infof("C_Login: the card holds no signature certificate (holder under 15 or face-authentication card): the sign token cannot be used")
		return ck.Error(ck.CKR_USER_PIN_NOT_INITIALIZED)
	}
	p, err := checkPIN(s.kind, pin)
	if err != nil {
		err = loginPINError(err)
		m.log.infof("C_Login (%s token): %v", s.kind, err)
		return err
	}
	if _, err := m.context(); err != nil {
		return err
	}
	err = m.cardResult(s.c, s.c.card.Login(s.kind, p, userType == ck.CKU_CONTEXT_SPECIFIC))
	if err != nil {
		m.log.infof("C_Login (%s token): %v", s.kind, err)
		m.notifyPIN(s.kind, err)
	}
	return err
}

// LoginUser implements C_LoginUser. The tokens have no user names, so
// the name is ignored and it behaves as Login.
func (m *Module) LoginUser(sess SessionHandle, userType uint, pin, username []byte) error {
	return m.Login(sess, userType, pin)
}

// Logout implements C_Logout. The card is made to forget its verified
// PINs (it cannot forget one and keep the other, so the other token of
// the same card is logged out too).
func (m *Module) Logout(sess SessionHandle) error {
	s, err := m.session(sess)
	if err != nil {
		return err
	}
	if !s.c.card.LoggedIn(s.kind) {
		return ck.Error(ck.CKR_USER_NOT_LOGGED_IN)
	}
	if _, err := m.context(); err != nil {
		return err
	}
	s.mu.Lock()
	s.find, s.sign = nil, nil // private objects vanish; operations on them end
	s.mu.Unlock()
	return m.cardResult(s.c, s.c.card.Logout("C_Logout"))
}

// SetPIN implements C_SetPIN: both PINs are checked against the policy
// before the card is touched, the old one is verified, then the card's
// CHANGE REFERENCE DATA sets the new one. It needs a read/write session
// (CKR_SESSION_READ_ONLY otherwise), as the spec requires.
func (m *Module) SetPIN(sess SessionHandle, oldPIN, newPIN []byte) error {
	s, err := m.session(sess)
	if err != nil {
		return err
	}
	if !s.rw {
		return ck.Error(ck.CKR_SESSION_READ_ONLY)
	}
	o, err := checkPIN(s.kind, oldPIN)
	if err != nil {
		m.log.infof("C_SetPIN (%s token): current PIN: %v", s.kind, err)
		return err
	}
	n, err := checkPIN(s.kind, newPIN)
	if err != nil {
		clear(o)
		m.log.infof("C_SetPIN (%s token): new PIN: %v", s.kind, err)
		return err
	}
	if _, err := m.context(); err != nil {
		return err
	}
	err = m.cardResult(s.c, s.c.card.ChangePIN(s.kind, o, n))
	if err != nil {
		m.log.infof("C_SetPIN (%s token): %v", s.kind, err)
		m.notifyPIN(s.kind, err)
	}
	return err
}

// InitPIN implements C_InitPIN: the card cannot set a PIN without the old
// one (unblocking is done at the municipal office).
func (m *Module) InitPIN(sess SessionHandle, pin []byte) error {
	if _, err := m.session(sess); err != nil {
		return err
	}
	return fmt.Errorf("the card's PIN can only be reset at the municipal office: %w", ck.Error(ck.CKR_FUNCTION_NOT_SUPPORTED))
}
