package main

import (
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"github.com/miekg/pkcs11"

	"github.com/myna-pkcs11/myna-pkcs11/test/sharedcard/proto"
)

// keyID is the CKA_ID of each token's private key (and certificate).
var keyID = map[string]byte{proto.TokenAuth: 0x01, proto.TokenSign: 0x02}

// program is the module as one application uses it: one PKCS#11 context,
// the two tokens' slots and the sessions this program opened on each.
type program struct {
	ctx      *pkcs11.Ctx
	labels   map[string]string                 // token -> label
	slots    map[string]uint                   // token -> slot ID
	sessions map[string][]pkcs11.SessionHandle // token -> open sessions, oldest first
}

// open loads the module, initialises it and finds the two tokens.
func open(module string, labels map[string]string) (*program, error) {
	ctx := pkcs11.New(module)
	if ctx == nil {
		return nil, fmt.Errorf("cannot load %s", module)
	}
	p := &program{ctx: ctx, labels: labels}
	if a := p.initialize(); a.RV != rvOK || a.Err != "" {
		return nil, fmt.Errorf("%s: %s %s", a.Call, a.RV, a.Err)
	}
	return p, nil
}

// initialize runs C_Initialize and finds the tokens' slots.
func (p *program) initialize() proto.Answer {
	p.sessions = map[string][]pkcs11.SessionHandle{}
	p.slots = nil // slot IDs are the module's until C_Finalize
	if err := p.ctx.Initialize(); err != nil {
		return answer("C_Initialize", err)
	}
	return p.findSlots()
}

// findSlots maps the tokens to slots by label. A token not found keeps
// the slot it had (the program's sessions on it stay usable for commands,
// as an application keeps its handles), but only the tokens found count.
func (p *program) findSlots() proto.Answer {
	slots, err := p.ctx.GetSlotList(true)
	if err != nil {
		return answer("C_GetSlotList", err)
	}
	if p.slots == nil {
		p.slots = map[string]uint{}
	}
	found := 0
	for _, s := range slots {
		ti, err := p.ctx.GetTokenInfo(s)
		if err != nil {
			return answer("C_GetTokenInfo", err)
		}
		for tok, l := range p.labels {
			if strings.TrimRight(ti.Label, " ") == l {
				p.slots[tok] = s
				found++
			}
		}
	}
	a := answer("C_GetSlotList", nil)
	a.N = found
	if found != len(p.labels) {
		a.Err = fmt.Sprintf("found %d of the tokens %v among %d slots", found, p.labels, len(slots))
	}
	return a
}

func (p *program) finalize() { _ = p.ctx.Finalize() }

// do runs one command line; quit is true after CmdQuit.
func (p *program) do(line string) (a proto.Answer, quit bool) {
	f := strings.Fields(line)
	if len(f) == 0 {
		return proto.Answer{Err: "empty command"}, false
	}
	arg := func(i int) string {
		if i < len(f) {
			return f[i]
		}
		return ""
	}
	tok := arg(1)
	if needsToken(f[0]) {
		if _, ok := p.labels[tok]; !ok {
			return proto.Answer{Err: fmt.Sprintf("%s: unknown token %q (auth or sign)", f[0], tok)}, false
		}
		if _, ok := p.slots[tok]; !ok {
			return proto.Answer{Err: fmt.Sprintf("%s: no slot holds the %s token", f[0], tok)}, false
		}
	}
	switch f[0] {
	case proto.CmdList:
		return p.findSlots(), false
	case proto.CmdTokenInfo:
		return p.tokenInfo(), false
	case proto.CmdObjects:
		return p.objects(tok), false
	case proto.CmdLogin:
		return p.login(tok, arg(2)), false
	case proto.CmdSign:
		return p.sign(tok, arg(2)), false
	case proto.CmdLogout:
		return p.logout(tok), false
	case proto.CmdChangePIN:
		return p.changePIN(tok), false
	case proto.CmdOpen:
		return p.open(tok), false
	case proto.CmdClose:
		return p.closeLast(tok), false
	case proto.CmdSessionInfo:
		return p.sessionInfo(tok), false
	case proto.CmdReset:
		return p.reset(), false
	case proto.CmdReinit:
		_ = p.ctx.Finalize()
		return p.initialize(), false
	case proto.CmdQuit:
		p.finalize()
		return answer("C_Finalize", nil), true
	case proto.CmdExit:
		os.Exit(0)
	}
	return proto.Answer{Err: fmt.Sprintf("unknown command %q", f[0])}, false
}

func needsToken(cmd string) bool {
	switch cmd {
	case proto.CmdObjects, proto.CmdLogin, proto.CmdSign, proto.CmdLogout, proto.CmdChangePIN,
		proto.CmdOpen, proto.CmdClose, proto.CmdSessionInfo:
		return true
	}
	return false
}

// pin returns the PIN value named name for tok from the environment.
func pin(tok, name string) (string, bool) {
	v := os.Getenv(proto.PINEnv(tok, name))
	return v, v != ""
}

// session returns the token's newest session, opening a R/W one if none.
func (p *program) session(tok string) (pkcs11.SessionHandle, proto.Answer, bool) {
	if ss := p.sessions[tok]; len(ss) > 0 {
		return ss[len(ss)-1], proto.Answer{}, true
	}
	return p.openSession(tok)
}

// openSession opens a R/W session on the token's slot, which becomes its newest.
func (p *program) openSession(tok string) (pkcs11.SessionHandle, proto.Answer, bool) {
	s, err := p.ctx.OpenSession(p.slots[tok], pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		return 0, answer("C_OpenSession", err), false
	}
	p.sessions[tok] = append(p.sessions[tok], s)
	return s, proto.Answer{}, true
}

func (p *program) open(tok string) proto.Answer {
	if _, a, ok := p.openSession(tok); !ok {
		return a
	}
	return answer("C_OpenSession", nil)
}

func (p *program) tokenInfo() proto.Answer {
	serials := map[string]string{}
	for _, tok := range []string{proto.TokenAuth, proto.TokenSign} {
		ti, err := p.ctx.GetTokenInfo(p.slots[tok])
		if err != nil {
			return answer("C_GetTokenInfo", err)
		}
		serials[tok] = strings.TrimRight(ti.SerialNumber, " ")
	}
	a := answer("C_GetTokenInfo", nil)
	a.Serials = serials
	return a
}

func (p *program) objects(tok string) proto.Answer {
	s, a, ok := p.session(tok)
	if !ok {
		return a
	}
	if err := p.ctx.FindObjectsInit(s, nil); err != nil {
		return answer("C_FindObjectsInit", err)
	}
	var hs []pkcs11.ObjectHandle
	for {
		got, _, err := p.ctx.FindObjects(s, 16)
		if err != nil {
			_ = p.ctx.FindObjectsFinal(s)
			return answer("C_FindObjects", err)
		}
		if len(got) == 0 {
			break
		}
		hs = append(hs, got...)
	}
	if err := p.ctx.FindObjectsFinal(s); err != nil {
		return answer("C_FindObjectsFinal", err)
	}
	a = answer("C_FindObjects", nil)
	for _, h := range hs {
		attrs, err := p.ctx.GetAttributeValue(s, h, []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_CLASS, nil), pkcs11.NewAttribute(pkcs11.CKA_ID, nil)})
		if err != nil {
			return answer("C_GetAttributeValue", err)
		}
		class, _ := bytesToUint(attrs[0].Value)
		a.Objects = append(a.Objects, className(class)+":"+hex.EncodeToString(attrs[1].Value))
	}
	a.N = len(hs)
	return a
}

func (p *program) login(tok, name string) proto.Answer {
	v, ok := pin(tok, name)
	if !ok {
		return proto.Answer{Err: fmt.Sprintf("login: no value for the %s PIN %q in the environment", tok, name)}
	}
	s, a, ok := p.session(tok)
	if !ok {
		return a
	}
	return answer("C_Login", p.ctx.Login(s, pkcs11.CKU_USER, v))
}

func (p *program) sign(tok, hexMsg string) proto.Answer {
	msg, err := hex.DecodeString(hexMsg)
	if err != nil || len(msg) == 0 {
		return proto.Answer{Err: "sign: the message must be non-empty hex"}
	}
	s, a, ok := p.session(tok)
	if !ok {
		return a
	}
	if err := p.ctx.FindObjectsInit(s, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_ID, []byte{keyID[tok]})}); err != nil {
		return answer("C_FindObjectsInit", err)
	}
	keys, _, err := p.ctx.FindObjects(s, 2)
	_ = p.ctx.FindObjectsFinal(s)
	if err != nil {
		return answer("C_FindObjects", err)
	}
	switch len(keys) {
	case 0: // a private object: invisible while not logged in
		return proto.Answer{RV: proto.RVNoKey, Call: "C_FindObjects"}
	case 1:
	default:
		return proto.Answer{RV: rvOK, Call: "C_FindObjects", Err: fmt.Sprintf("sign: %d private keys with CKA_ID %02x", len(keys), keyID[tok])}
	}
	if err := p.ctx.SignInit(s, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_SHA256_RSA_PKCS, nil)}, keys[0]); err != nil {
		return answer("C_SignInit", err)
	}
	if a, ok := p.contextLogin(s, tok, keys[0]); !ok {
		_, _ = p.ctx.Sign(s, msg) // ends the signing operation (it fails without the login)
		return a
	}
	sig, err := p.ctx.Sign(s, msg)
	a = answer("C_Sign", err)
	a.Sig = hex.EncodeToString(sig)
	return a
}

// contextLogin gives a key with CKA_ALWAYS_AUTHENTICATE (OpenSC's
// signature key) the PIN again for this signature, as PKCS#11 v2.40
// §4.9 asks: C_Login(CKU_CONTEXT_SPECIFIC) after C_SignInit. ok is false
// with the failing call's answer.
func (p *program) contextLogin(s pkcs11.SessionHandle, tok string, key pkcs11.ObjectHandle) (proto.Answer, bool) {
	attrs, err := p.ctx.GetAttributeValue(s, key, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_ALWAYS_AUTHENTICATE, nil)})
	if err != nil || len(attrs) != 1 || len(attrs[0].Value) != 1 || attrs[0].Value[0] == 0 {
		return proto.Answer{}, true // absent or false: the session's login is enough
	}
	v, ok := pin(tok, proto.PINGood)
	if !ok {
		return proto.Answer{Err: "sign: no value for the " + tok + " PIN in the environment"}, false
	}
	if err := p.ctx.Login(s, pkcs11.CKU_CONTEXT_SPECIFIC, v); err != nil {
		return answer("C_Login(CKU_CONTEXT_SPECIFIC)", err), false
	}
	return proto.Answer{}, true
}

func (p *program) logout(tok string) proto.Answer {
	s, a, ok := p.session(tok)
	if !ok {
		return a
	}
	return answer("C_Logout", p.ctx.Logout(s))
}

// changePIN changes the PIN to the alternate value and back: the card ends
// with its PIN, whatever happens in between, unless the second call fails.
func (p *program) changePIN(tok string) proto.Answer {
	good, ok1 := pin(tok, proto.PINGood)
	alt, ok2 := pin(tok, proto.PINAlt)
	if !ok1 || !ok2 {
		return proto.Answer{Err: "changepin: the good and alt PINs must be in the environment"}
	}
	s, a, ok := p.session(tok)
	if !ok {
		return a
	}
	if err := p.ctx.SetPIN(s, good, alt); err != nil {
		return answer("C_SetPIN(good→alt)", err)
	}
	return answer("C_SetPIN(alt→good)", p.ctx.SetPIN(s, alt, good))
}

func (p *program) closeLast(tok string) proto.Answer {
	ss := p.sessions[tok]
	if len(ss) == 0 {
		return proto.Answer{RV: rvOK, Call: "C_CloseSession", Err: "close: this program has no session on the " + tok + " token"}
	}
	p.sessions[tok] = ss[:len(ss)-1]
	return answer("C_CloseSession", p.ctx.CloseSession(ss[len(ss)-1]))
}

func (p *program) sessionInfo(tok string) proto.Answer {
	s, a, ok := p.session(tok)
	if !ok {
		return a
	}
	si, err := p.ctx.GetSessionInfo(s)
	a = answer("C_GetSessionInfo", err)
	if err == nil {
		a.State = stateName(si.State)
	}
	return a
}

func (p *program) reset() proto.Answer {
	for _, tok := range []string{proto.TokenAuth, proto.TokenSign} {
		p.sessions[tok] = nil
		if err := p.ctx.CloseAllSessions(p.slots[tok]); err != nil {
			return answer("C_CloseAllSessions", err)
		}
	}
	return answer("C_CloseAllSessions", nil)
}

// bytesToUint decodes a CK_ULONG attribute (native byte order, 8 bytes).
func bytesToUint(b []byte) (uint, bool) {
	if len(b) != 8 {
		return 0, false
	}
	var v uint
	for i := 7; i >= 0; i-- { // little endian (x86-64)
		v = v<<8 | uint(b[i])
	}
	return v, true
}
