package scenario

import (
	"github.com/myna-pkcs11/myna-pkcs11/cardos/mynacard"
	"github.com/myna-pkcs11/myna-pkcs11/p11"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// InProcess runs the scenarios on the module's Go core (p11.Module) with
// the card back end open returns: what the .so does minus the C ABI.
// Each Initialize creates a new p11.Module, as a fresh process would.
type InProcess struct {
	Open p11.Opener
	m    *p11.Module
}

// Module returns the p11.Module of the current Initialize.
func (c *InProcess) Module() *p11.Module { return c.m }

// Initialize creates and initialises a new module.
func (c *InProcess) Initialize() error {
	c.m = p11.NewModule(c.Open, mynacard.Attach)
	return c.m.Initialize(p11.InitArgs{})
}

// Finalize finalises the module.
func (c *InProcess) Finalize() error { return c.m.Finalize() }

// SlotList lists the slots with a token.
func (c *InProcess) SlotList() ([]uint, error) {
	slots, err := c.m.SlotList(true)
	return handles(slots), err
}

// handles converts typed PKCS#11 handles to the plain numbers of the
// Cryptoki interface (shared with the driver that loads the .so).
func handles[H ~uint](hs []H) []uint {
	out := make([]uint, len(hs))
	for i, h := range hs {
		out[i] = uint(h)
	}
	return out
}

// SlotInfo gets the slot information.
func (c *InProcess) SlotInfo(slot uint) error { _, err := c.m.SlotInfo(p11.SlotID(slot)); return err }

// TokenInfo returns the token label.
func (c *InProcess) TokenInfo(slot uint) (string, error) {
	info, err := c.m.TokenInfo(p11.SlotID(slot))
	return info.Label, err
}

// OpenSession opens a read-only session.
func (c *InProcess) OpenSession(slot uint) (uint, error) {
	s, err := c.m.OpenSession(p11.SlotID(slot), ck.CKF_SERIAL_SESSION)
	return uint(s), err
}

// CloseSession closes a session.
func (c *InProcess) CloseSession(s uint) error { return c.m.CloseSession(p11.SessionHandle(s)) }

// Login logs the user in.
func (c *InProcess) Login(s uint, pin string) error {
	return c.m.Login(p11.SessionHandle(s), ck.CKU_USER, []byte(pin))
}

// LoginContext verifies the PIN again during a signing operation.
func (c *InProcess) LoginContext(s uint, pin string) error {
	return c.m.Login(p11.SessionHandle(s), ck.CKU_CONTEXT_SPECIFIC, []byte(pin))
}

// Find collects every object matching tmpl.
func (c *InProcess) Find(s uint, tmpl []Attr) ([]uint, error) {
	t := make([]p11.Attribute, len(tmpl))
	for i, a := range tmpl {
		t[i] = p11.Attribute{Type: a.Type, Value: a.Value}
	}
	sh := p11.SessionHandle(s)
	if err := c.m.FindObjectsInit(sh, t); err != nil {
		return nil, err
	}
	var all []uint
	for {
		got, err := c.m.FindObjects(sh, 16)
		if err != nil {
			return nil, err
		}
		if len(got) == 0 {
			break
		}
		all = append(all, handles(got)...)
	}
	return all, c.m.FindObjectsFinal(sh)
}

// Attr reads one attribute: size query, then value.
func (c *InProcess) Attr(s, obj, typ uint) ([]byte, error) {
	req := []p11.AttrRequest{{Type: typ}}
	sh, oh := p11.SessionHandle(s), p11.ObjectHandle(obj)
	if err := c.m.GetAttributeValue(sh, oh, req); err != nil {
		return nil, err
	}
	req[0].HasBuf, req[0].BufLen = true, req[0].Len
	if err := c.m.GetAttributeValue(sh, oh, req); err != nil {
		return nil, err
	}
	return req[0].Value, nil
}

// SignInit starts a signature.
func (c *InProcess) SignInit(s, mech, key uint) error {
	return c.m.SignInit(p11.SessionHandle(s), p11.Mechanism{Type: p11.MechanismType(mech)}, p11.ObjectHandle(key))
}

// Sign asks the size, then signs.
func (c *InProcess) Sign(s uint, data []byte) ([]byte, error) {
	sh := p11.SessionHandle(s)
	_, n, err := c.m.Sign(sh, data, p11.OutBuf{Nil: true})
	if err != nil {
		return nil, err
	}
	sig, _, err := c.m.Sign(sh, data, p11.OutBuf{Len: n})
	return sig, err
}
