// Package scenario holds the PKCS#11 call sequences the benchmark and the
// APDU-budget test measure, written once against a small Cryptoki
// interface so that the same sequence runs in-process on p11.Module
// (InProcess) and through any loaded PKCS#11 module (Loaded: ours,
// OpenSC's, SoftHSM2).
//
// The sequences copy what real tools do, as recorded with OpenSC's
// pkcs11-spy: List is pkcs11-tool -L, Objects is pkcs11-tool -O on every
// token in one process, SignAuth and SignSign are pkcs11-tool --login
// --sign --id 01/02 in a fresh process, and Sign10 is a long-running
// application (an agent) signing ten times in one session.
package scenario

import (
	"errors"
	"fmt"

	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// Attr is one template entry.
type Attr struct {
	Type  uint
	Value []byte
}

// Cryptoki is the part of PKCS#11 the scenarios call. Each method is one
// PKCS#11 function, or the usual idiom around it (size query then value).
type Cryptoki interface {
	// Initialize is C_Initialize; Finalize is C_Finalize.
	Initialize() error
	Finalize() error
	// SlotList is C_GetSlotList(CK_TRUE) (size query and list).
	SlotList() ([]uint, error)
	// SlotInfo is C_GetSlotInfo; TokenInfo is C_GetTokenInfo (label).
	SlotInfo(slot uint) error
	TokenInfo(slot uint) (string, error)
	// OpenSession opens a read-only serial session; CloseSession closes it.
	OpenSession(slot uint) (uint, error)
	CloseSession(s uint) error
	// Login is C_Login(CKU_USER); LoginContext is
	// C_Login(CKU_CONTEXT_SPECIFIC) during a signing operation.
	Login(s uint, pin string) error
	LoginContext(s uint, pin string) error
	// Find is C_FindObjectsInit, C_FindObjects (16 at a time) until
	// none is left, C_FindObjectsFinal.
	Find(s uint, tmpl []Attr) ([]uint, error)
	// Attr is C_GetAttributeValue for one attribute: size, then value.
	Attr(s, obj, typ uint) ([]byte, error)
	// SignInit is C_SignInit; Sign is C_Sign with a size query first.
	SignInit(s, mech, key uint) error
	Sign(s uint, data []byte) ([]byte, error)
}

// Params says which PINs to use.
type Params struct {
	AuthPIN, SignPIN string
}

// Scenario is one measured call sequence.
type Scenario struct {
	// Name is a short identifier (a … e, the order of test/PERFORMANCE.md).
	Name string
	// Title says what it does.
	Title string
	// Signatures is how many signatures it makes.
	Signatures int
	// Run runs the sequence on a freshly loaded module (it calls
	// Initialize and Finalize itself).
	Run func(c Cryptoki, p Params) error
}

// All lists the scenarios in the order test/PERFORMANCE.md reports them.
var All = []Scenario{
	{"a-list", "C_Initialize, slot list, token info of every token (pkcs11-tool -L)", 0, List},
	{"b-objects", "list every object of both tokens with their attributes (pkcs11-tool -O, both tokens, one process)", 0, Objects},
	{"c-sign-auth", "fresh process: login + one signature with the auth key (pkcs11-tool --login --sign --id 01)", 1, SignAuth},
	{"d-sign-sign", "fresh process: login + one signature with the sign key (pkcs11-tool --login --sign --id 02)", 1, SignSign},
	{"e-sign10", "login once, 10 signatures with the auth key in one session", 10, Sign10},
}

// ByName returns the scenario called name.
func ByName(name string) (Scenario, error) {
	for _, s := range All {
		if s.Name == name {
			return s, nil
		}
	}
	return Scenario{}, fmt.Errorf("no scenario %q", name)
}

// tokens returns the auth and sign token slots: the first two slots with
// a token (both modules list the auth PIN's token first).
func tokens(c Cryptoki) (uint, uint, error) {
	slots, err := c.SlotList()
	if err != nil {
		return 0, 0, fmt.Errorf("C_GetSlotList: %w", err)
	}
	if len(slots) < 2 {
		return 0, 0, fmt.Errorf("C_GetSlotList: %d token(s), want the auth and the sign token", len(slots))
	}
	return slots[0], slots[1], nil
}

// session runs fn between Initialize and Finalize.
func session(c Cryptoki, fn func() error) (err error) {
	if err := c.Initialize(); err != nil {
		return fmt.Errorf("C_Initialize: %w", err)
	}
	defer func() {
		if ferr := c.Finalize(); ferr != nil && err == nil {
			err = fmt.Errorf("C_Finalize: %w", ferr)
		}
	}()
	return fn()
}

// List is pkcs11-tool -L: slot list, then slot and token info of each.
func List(c Cryptoki, _ Params) error {
	return session(c, func() error {
		slots, err := c.SlotList()
		if err != nil {
			return fmt.Errorf("C_GetSlotList: %w", err)
		}
		for _, s := range slots {
			if err := c.SlotInfo(s); err != nil {
				return fmt.Errorf("C_GetSlotInfo: %w", err)
			}
			if _, err := c.TokenInfo(s); err != nil {
				return fmt.Errorf("C_GetTokenInfo: %w", err)
			}
		}
		return nil
	})
}

// listAttrs is what pkcs11-tool -O prints per object class.
var listAttrs = map[uint][]uint{
	ck.CKO_CERTIFICATE: {ck.CKA_LABEL, ck.CKA_ID, ck.CKA_CERTIFICATE_TYPE, ck.CKA_SUBJECT, ck.CKA_SERIAL_NUMBER},
	ck.CKO_PUBLIC_KEY:  {ck.CKA_LABEL, ck.CKA_ID, ck.CKA_KEY_TYPE, ck.CKA_MODULUS_BITS, ck.CKA_VERIFY},
	ck.CKO_PRIVATE_KEY: {ck.CKA_LABEL, ck.CKA_ID, ck.CKA_KEY_TYPE, ck.CKA_SIGN},
}

// Objects lists every object of both tokens without login and reads the
// attributes pkcs11-tool -O shows. Attributes an object lacks are
// skipped, as pkcs11-tool does.
func Objects(c Cryptoki, _ Params) error {
	return session(c, func() error {
		slots, err := c.SlotList()
		if err != nil {
			return fmt.Errorf("C_GetSlotList: %w", err)
		}
		for _, slot := range slots {
			s, err := c.OpenSession(slot)
			if err != nil {
				return fmt.Errorf("C_OpenSession: %w", err)
			}
			objs, err := c.Find(s, nil)
			if err != nil {
				return fmt.Errorf("C_FindObjects: %w", err)
			}
			for _, o := range objs {
				class, err := c.Attr(s, o, ck.CKA_CLASS)
				if err != nil || len(class) == 0 {
					return fmt.Errorf("C_GetAttributeValue(ck.CKA_CLASS): %v", err)
				}
				for _, t := range listAttrs[uint(class[0])] {
					c.Attr(s, o, t)
				}
			}
			if err := c.CloseSession(s); err != nil {
				return fmt.Errorf("C_CloseSession: %w", err)
			}
		}
		return nil
	})
}

// SignAuth is pkcs11-tool --slot <auth> --login --pin … --sign -m
// SHA256-RSA-PKCS --id 01.
func SignAuth(c Cryptoki, p Params) error { return signOnce(c, false, p.AuthPIN, 0x01) }

// SignSign is the same with the sign token and key 02.
func SignSign(c Cryptoki, p Params) error { return signOnce(c, true, p.SignPIN, 0x02) }

// signOnce is pkcs11-tool's call sequence for one signature: token info,
// open session, token info again, login, find the private key by ID,
// sign init, ck.CKA_ALWAYS_AUTHENTICATE (and a context-specific login when
// it is true), sign, close.
func signOnce(c Cryptoki, signToken bool, pin string, id byte) error {
	return session(c, func() error {
		auth, sign, err := tokens(c)
		if err != nil {
			return err
		}
		slot := auth
		if signToken {
			slot = sign
		}
		if _, err := c.TokenInfo(slot); err != nil {
			return fmt.Errorf("C_GetTokenInfo: %w", err)
		}
		s, err := c.OpenSession(slot)
		if err != nil {
			return fmt.Errorf("C_OpenSession: %w", err)
		}
		if _, err := c.TokenInfo(slot); err != nil {
			return fmt.Errorf("C_GetTokenInfo: %w", err)
		}
		if err := c.Login(s, pin); err != nil {
			return fmt.Errorf("C_Login: %w", err)
		}
		key, err := privateKey(c, s, id)
		if err != nil {
			return err
		}
		if err := c.SignInit(s, ck.CKM_SHA256_RSA_PKCS, key); err != nil {
			return fmt.Errorf("C_SignInit: %w", err)
		}
		if always, err := c.Attr(s, key, ck.CKA_ALWAYS_AUTHENTICATE); err == nil && len(always) == 1 && always[0] != 0 {
			if err := c.LoginContext(s, pin); err != nil {
				return fmt.Errorf("C_Login(CKU_CONTEXT_SPECIFIC): %w", err)
			}
		}
		if _, err := c.Sign(s, []byte("myna-pkcs11 benchmark message\n")); err != nil {
			return fmt.Errorf("C_Sign: %w", err)
		}
		return c.CloseSession(s)
	})
}

func privateKey(c Cryptoki, s uint, id byte) (uint, error) {
	keys, err := c.Find(s, []Attr{{ck.CKA_CLASS, ulong(ck.CKO_PRIVATE_KEY)}, {ck.CKA_ID, []byte{id}}})
	if err != nil {
		return 0, fmt.Errorf("C_FindObjects: %w", err)
	}
	if len(keys) != 1 {
		return 0, fmt.Errorf("found %d private keys with ID %02X, want 1", len(keys), id)
	}
	return keys[0], nil
}

// Sign10 logs in to the auth token once and signs ten times in one
// session, as an agent or a TLS client with a kept-open session does.
func Sign10(c Cryptoki, p Params) error {
	return SignN(c, p, 10)
}

// SignN logs in to the auth token once and signs n times in one session.
func SignN(c Cryptoki, p Params, n int) error {
	return session(c, func() error {
		auth, _, err := tokens(c)
		if err != nil {
			return err
		}
		s, err := c.OpenSession(auth)
		if err != nil {
			return fmt.Errorf("C_OpenSession: %w", err)
		}
		if err := c.Login(s, p.AuthPIN); err != nil {
			return fmt.Errorf("C_Login: %w", err)
		}
		key, err := privateKey(c, s, 0x01)
		if err != nil {
			return err
		}
		msg := []byte("myna-pkcs11 benchmark message 0\n")
		for i := 0; i < n; i++ {
			msg[len(msg)-2] = byte('0' + i%10)
			if err := c.SignInit(s, ck.CKM_SHA256_RSA_PKCS, key); err != nil {
				return fmt.Errorf("C_SignInit: %w", err)
			}
			sig, err := c.Sign(s, msg)
			if err != nil {
				return fmt.Errorf("C_Sign %d: %w", i+1, err)
			}
			if len(sig) != 256 {
				return errors.New("signature is not 256 bytes")
			}
		}
		return c.CloseSession(s)
	})
}

// ulong encodes a CK_ULONG attribute value (64-bit little-endian, the
// amd64 ABI).
func ulong(v uint) []byte {
	b := make([]byte, 8)
	for i := range b {
		b[i] = byte(v >> (8 * i))
	}
	return b
}
