package p11

// This file holds the refusals of a write-protected token: no object is
// created, copied, changed or destroyed.

import (
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// writeProtected is the answer to every attempt to create, copy, change
// or destroy an object, in a read-only or a read/write session: the token
// is write-protected (CKF_WRITE_PROTECTED: the card holds only what its
// issuer wrote), and CKR_TOKEN_WRITE_PROTECTED outranks
// CKR_SESSION_READ_ONLY (v2.40 and 3.0 §5.1.6). Session objects
// (CKA_TOKEN false) are refused the same way: a write-protected token
// may refuse "creating/modifying/deleting any object on the token"
// (v2.40 §3.2, CK_TOKEN_INFO), and one would be of no use here: the card
// signs only with its own keys, and an application verifying with a key
// of its own does so in its own software (SunPKCS11 falls back to the
// next provider).
func (m *Module) writeProtected(fn string, s *session) error {
	m.log.infof("%s: session %d: the token is write-protected: no object can be created, copied, changed or destroyed, session objects included", fn, s.id)
	return ck.Error(ck.CKR_TOKEN_WRITE_PROTECTED)
}

// CreateObject implements C_CreateObject: refused (see writeProtected).
func (m *Module) CreateObject(sess SessionHandle, tmpl []Attribute) error {
	s, err := m.session(sess)
	if err != nil {
		return err
	}
	return m.writeProtected("C_CreateObject", s)
}

// CopyObject implements C_CopyObject: refused (see writeProtected; the
// objects' CKA_COPYABLE is false too).
func (m *Module) CopyObject(sess SessionHandle, obj ObjectHandle, tmpl []Attribute) error {
	return m.changeObject("C_CopyObject", sess, obj)
}

// DestroyObject implements C_DestroyObject: refused (see writeProtected;
// CKA_DESTROYABLE is false too).
func (m *Module) DestroyObject(sess SessionHandle, obj ObjectHandle) error {
	return m.changeObject("C_DestroyObject", sess, obj)
}

// SetAttributeValue implements C_SetAttributeValue: refused (see
// writeProtected; CKA_MODIFIABLE is false too).
func (m *Module) SetAttributeValue(sess SessionHandle, obj ObjectHandle, tmpl []Attribute) error {
	return m.changeObject("C_SetAttributeValue", sess, obj)
}

// changeObject is the answer of fn to a change of object obj: the
// handle's checks, then writeProtected.
func (m *Module) changeObject(fn string, sess SessionHandle, obj ObjectHandle) error {
	s, err := m.session(sess)
	if err != nil {
		return err
	}
	if _, err := s.object(obj); err != nil {
		return err
	}
	return m.writeProtected(fn, s)
}
