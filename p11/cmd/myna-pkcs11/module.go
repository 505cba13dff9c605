package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/mynacard"
	"github.com/myna-pkcs11/myna-pkcs11/p11"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// Everything that sends a PIN to the card goes through the module's own
// Go code (package p11), so the companion applies exactly the module's PIN
// policy — format checks before the card is touched, upper-casing of the
// signature password, no VERIFY on a locked PIN — and never duplicates it.

// sharedContext lends the command's card back end to a p11.Module without
// letting the module close it at Finalize.
type sharedContext struct{ cardos.Context }

// Close does nothing: the command closes the back end itself.
func (sharedContext) Close() error { return nil }

// token is an open session of the module on one token of one reader.
type token struct {
	m    *p11.Module
	slot p11.SlotID
	sess p11.SessionHandle
}

// openToken initialises a module over ctx and opens a session on the
// token of key in reader (read/write when rw, as C_SetPIN requires).
func openToken(ctx cardos.Context, reader string, key cardos.Key, rw bool) (*token, error) {
	m := p11.NewModule(func() (cardos.Context, error) { return sharedContext{ctx}, nil }, mynacard.Attach)
	// The companion manages both PINs of every card, whatever the
	// module's configuration hides from applications; logging settings
	// still apply. It tells the user about the PIN's tries itself, on
	// the terminal: no desktop notification.
	cfg, _ := p11.LoadConfig()
	cfg.AuthToken, cfg.SignToken, cfg.Readers = true, true, ""
	cfg.NoNotifications = true
	m.UseConfig(cfg)
	if err := m.Initialize(p11.InitArgs{}); err != nil {
		return nil, fmt.Errorf("initialise the PKCS#11 module: %w", err)
	}
	t := &token{m: m}
	slots, err := m.SlotList(true)
	if err != nil {
		m.Finalize()
		return nil, fmt.Errorf("list the module's slots: %w", err)
	}
	found := false
	for _, s := range slots {
		si, err := m.SlotInfo(s)
		if err != nil || strings.TrimRight(si.Description, " ") != reader {
			continue
		}
		ti, err := m.TokenInfo(s)
		if err != nil {
			continue
		}
		// The auth token takes exactly 4 characters, the sign token 6–16.
		isAuth := ti.MinPinLen == 4 && ti.MaxPinLen == 4
		if isAuth == (key == cardos.AuthKey) {
			t.slot, found = s, true
			break
		}
	}
	if !found {
		m.Finalize()
		return nil, fmt.Errorf("the module shows no %s token for reader %q (card removed?)", keyNoun(key), reader)
	}
	flags := uint(ck.CKF_SERIAL_SESSION)
	if rw {
		flags |= ck.CKF_RW_SESSION
	}
	if t.sess, err = m.OpenSession(t.slot, flags); err != nil {
		m.Finalize()
		return nil, fmt.Errorf("open a session on the %s token: %w", keyNoun(key), err)
	}
	return t, nil
}

// close ends the session and the module; the module logs the card out.
func (t *token) close() {
	t.m.CloseSession(t.sess)
	t.m.Finalize()
}

// checkFormat applies the module's own PIN policy (p11.CheckPIN) to pin
// for this token, without sending anything to the card. It returns nil
// when the PIN is acceptable and the module's explanation when it is not.
func (t *token) checkFormat(key cardos.Key, pin []byte) error {
	norm, err := p11.CheckPIN(key, pin)
	clear(norm)
	if err != nil {
		return policyError(err)
	}
	return nil
}

// policyError turns a module error into a sentence without the CKR_ name.
func policyError(err error) error {
	rv := ck.RV(err)
	msg := strings.TrimSuffix(err.Error(), ": "+ck.Name(rv))
	return &formatError{msg: msg, rv: rv}
}

// formatError is a PIN the module's policy refused; nothing was sent to
// the card.
type formatError struct {
	msg string
	rv  uint
}

func (e *formatError) Error() string { return e.msg }

// changePIN has the module verify oldPIN and set newPIN.
func (t *token) changePIN(oldPIN, newPIN []byte) error {
	return t.m.SetPIN(t.sess, oldPIN, newPIN)
}

// readSignCert logs in with pin, reads the signature certificate (CKA_ID
// 02) and logs out. The caller must not keep or log the result.
func (t *token) readSignCert(pin []byte) ([]byte, error) {
	if err := t.m.Login(t.sess, ck.CKU_USER, pin); err != nil {
		return nil, err
	}
	defer t.m.Logout(t.sess)
	if err := t.m.FindObjectsInit(t.sess, []p11.Attribute{
		{Type: ck.CKA_CLASS, Value: ckULong(ck.CKO_CERTIFICATE)},
		{Type: ck.CKA_ID, Value: []byte{0x02}},
	}); err != nil {
		return nil, err
	}
	objs, err := t.m.FindObjects(t.sess, 4)
	t.m.FindObjectsFinal(t.sess)
	if err != nil {
		return nil, err
	}
	for _, o := range objs {
		reqs := []p11.AttrRequest{{Type: ck.CKA_VALUE, HasBuf: true, BufLen: 1 << 16}}
		if err := t.m.GetAttributeValue(t.sess, o, reqs); err != nil {
			return nil, err
		}
		if len(reqs[0].Value) > 0 {
			return bytes.Clone(reqs[0].Value), nil
		}
	}
	return nil, cardos.ErrNotFound
}

// ckULong encodes a CK_ULONG attribute value as the module expects it
// (a native-endian 64-bit CK_ULONG).
func ckULong(v uint) []byte { return binary.NativeEndian.AppendUint64(nil, uint64(v)) }
