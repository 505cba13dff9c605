package scenario

import (
	"errors"

	"github.com/miekg/pkcs11"
)

// Loaded runs the scenarios through a PKCS#11 module loaded with dlopen
// (github.com/miekg/pkcs11): ours, OpenSC's or SoftHSM2, with exactly the
// same calls. Load once per process; Initialize/Finalize may repeat.
type Loaded struct {
	Ctx *pkcs11.Ctx
}

// Load dlopens the module at path.
func Load(path string) (*Loaded, error) {
	ctx := pkcs11.New(path)
	if ctx == nil {
		return nil, errors.New("cannot load PKCS#11 module " + path)
	}
	return &Loaded{Ctx: ctx}, nil
}

// Initialize is C_Initialize.
func (c *Loaded) Initialize() error { return c.Ctx.Initialize() }

// Finalize is C_Finalize.
func (c *Loaded) Finalize() error { return c.Ctx.Finalize() }

// SlotList is C_GetSlotList(CK_TRUE).
func (c *Loaded) SlotList() ([]uint, error) { return c.Ctx.GetSlotList(true) }

// SlotInfo is C_GetSlotInfo.
func (c *Loaded) SlotInfo(slot uint) error { _, err := c.Ctx.GetSlotInfo(slot); return err }

// TokenInfo is C_GetTokenInfo.
func (c *Loaded) TokenInfo(slot uint) (string, error) {
	info, err := c.Ctx.GetTokenInfo(slot)
	return info.Label, err
}

// OpenSession opens a read-only serial session.
func (c *Loaded) OpenSession(slot uint) (uint, error) {
	s, err := c.Ctx.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION)
	return uint(s), err
}

// CloseSession is C_CloseSession.
func (c *Loaded) CloseSession(s uint) error { return c.Ctx.CloseSession(pkcs11.SessionHandle(s)) }

// Login is C_Login(CKU_USER).
func (c *Loaded) Login(s uint, pin string) error {
	return c.Ctx.Login(pkcs11.SessionHandle(s), pkcs11.CKU_USER, pin)
}

// LoginContext is C_Login(CKU_CONTEXT_SPECIFIC).
func (c *Loaded) LoginContext(s uint, pin string) error {
	return c.Ctx.Login(pkcs11.SessionHandle(s), pkcs11.CKU_CONTEXT_SPECIFIC, pin)
}

// Find is C_FindObjectsInit/C_FindObjects/C_FindObjectsFinal.
func (c *Loaded) Find(s uint, tmpl []Attr) ([]uint, error) {
	sh := pkcs11.SessionHandle(s)
	t := make([]*pkcs11.Attribute, len(tmpl))
	for i, a := range tmpl {
		t[i] = pkcs11.NewAttribute(a.Type, a.Value)
	}
	if err := c.Ctx.FindObjectsInit(sh, t); err != nil {
		return nil, err
	}
	var all []uint
	for {
		got, _, err := c.Ctx.FindObjects(sh, 16)
		if err != nil {
			c.Ctx.FindObjectsFinal(sh)
			return nil, err
		}
		if len(got) == 0 {
			break
		}
		for _, o := range got {
			all = append(all, uint(o))
		}
	}
	return all, c.Ctx.FindObjectsFinal(sh)
}

// Attr is C_GetAttributeValue for one attribute (miekg/pkcs11 asks the
// size first, then the value).
func (c *Loaded) Attr(s, obj, typ uint) ([]byte, error) {
	got, err := c.Ctx.GetAttributeValue(pkcs11.SessionHandle(s), pkcs11.ObjectHandle(obj), []*pkcs11.Attribute{pkcs11.NewAttribute(typ, nil)})
	if err != nil {
		return nil, err
	}
	return got[0].Value, nil
}

// SignInit is C_SignInit.
func (c *Loaded) SignInit(s, mech, key uint) error {
	return c.Ctx.SignInit(pkcs11.SessionHandle(s), []*pkcs11.Mechanism{pkcs11.NewMechanism(mech, nil)}, pkcs11.ObjectHandle(key))
}

// Sign is C_Sign (miekg/pkcs11 asks the size first).
func (c *Loaded) Sign(s uint, data []byte) ([]byte, error) {
	return c.Ctx.Sign(pkcs11.SessionHandle(s), data)
}
