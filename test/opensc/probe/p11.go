package main

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/miekg/pkcs11"

	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// flagNames returns the names of the CK_TOKEN_INFO flags set in f, in bit
// order, without their CKF_ prefix.
func flagNames(f uint) []string {
	names := []string{}
	for _, n := range ck.FlagNames(f, ck.TokenFlags) {
		names = append(names, strings.TrimPrefix(n, "CKF_"))
	}
	return names
}

// ckr names the return code of err (nil is CKR_OK); codes without a name
// are printed in hex, errors that are no CK_RV as they are.
func ckr(err error) string {
	if err == nil {
		return "CKR_OK"
	}
	var e pkcs11.Error
	if !errors.As(err, &e) {
		return err.Error()
	}
	return ck.Name(uint(e))
}

// module is an initialised PKCS#11 module.
type module struct{ p *pkcs11.Ctx }

func openModule(path string) (*module, error) {
	p := pkcs11.New(path)
	if p == nil {
		return nil, fmt.Errorf("cannot load PKCS#11 module %s", path)
	}
	if err := p.Initialize(); err != nil {
		p.Destroy()
		return nil, fmt.Errorf("C_Initialize: %s", ckr(err))
	}
	return &module{p}, nil
}

func (m *module) close() {
	m.p.Finalize()
	m.p.Destroy()
}

func trim(s string) string { return strings.TrimRight(s, " \x00") }

// token describes the token in slot as the suite's JSON has it.
func (m *module) token(slot uint) map[string]any {
	ti, err := m.p.GetTokenInfo(slot)
	if err != nil {
		return map[string]any{"slot": slot, "error": ckr(err)}
	}
	return map[string]any{"slot": slot, "label": trim(ti.Label), "manufacturer": trim(ti.ManufacturerID),
		"model": trim(ti.Model), "serial": trim(ti.SerialNumber), "flags": flagNames(ti.Flags),
		"pin_min": ti.MinPinLen, "pin_max": ti.MaxPinLen}
}

// tokens describes every token present.
func (m *module) tokens() []map[string]any {
	out := []map[string]any{}
	slots, _ := m.p.GetSlotList(true)
	for _, s := range slots {
		out = append(out, m.token(s))
	}
	return out
}

// session opens a read-only session on the token labelled label.
func (m *module) session(label string) (pkcs11.SessionHandle, error) {
	slots, err := m.p.GetSlotList(true)
	if err != nil {
		return 0, fmt.Errorf("C_GetSlotList: %s", ckr(err))
	}
	for _, s := range slots {
		if ti, err := m.p.GetTokenInfo(s); err == nil && trim(ti.Label) == label {
			h, err := m.p.OpenSession(s, pkcs11.CKF_SERIAL_SESSION)
			if err != nil {
				return 0, fmt.Errorf("C_OpenSession: %s", ckr(err))
			}
			return h, nil
		}
	}
	return 0, fmt.Errorf("no token labelled %q", label)
}

// login logs the user in with the PIN in pinFile (surrounding white space removed).
func (m *module) login(h pkcs11.SessionHandle, pinFile string) (string, error) {
	b, err := os.ReadFile(pinFile)
	if err != nil {
		return "", err
	}
	return ckr(m.p.Login(h, pkcs11.CKU_USER, string(bytes.TrimSpace(b)))), nil
}

// attr returns one attribute of obj, or nil when the module gives none.
func (m *module) attr(h pkcs11.SessionHandle, obj pkcs11.ObjectHandle, typ uint) []byte {
	a, err := m.p.GetAttributeValue(h, obj, []*pkcs11.Attribute{pkcs11.NewAttribute(typ, nil)})
	if err != nil || len(a) != 1 {
		return nil
	}
	return a[0].Value
}

// className names the CKA_CLASS values the suite shows.
var className = map[uint]string{pkcs11.CKO_DATA: "data", pkcs11.CKO_CERTIFICATE: "cert",
	pkcs11.CKO_PUBLIC_KEY: "pubkey", pkcs11.CKO_PRIVATE_KEY: "privkey", ckoProfile: "profile"}

// ckoProfile is CKO_PROFILE (PKCS#11 3.0), which miekg/pkcs11 does not define.
const ckoProfile = 9

// ulong decodes a CK_ULONG attribute value (host order: little-endian here).
func ulong(b []byte) (uint, bool) {
	if len(b) == 0 || len(b) > 8 {
		return 0, false
	}
	var v uint
	for i := len(b) - 1; i >= 0; i-- {
		v = v<<8 | uint(b[i])
	}
	return v, true
}

// objects lists the objects the session sees: class, CKA_ID and, for
// private keys, CKA_ALWAYS_AUTHENTICATE (null when the module has none).
func (m *module) objects(h pkcs11.SessionHandle) []map[string]any {
	out := []map[string]any{}
	if m.p.FindObjectsInit(h, nil) != nil {
		return out
	}
	var objs []pkcs11.ObjectHandle
	for {
		o, _, err := m.p.FindObjects(h, 64)
		if err != nil || len(o) == 0 {
			break
		}
		objs = append(objs, o...)
	}
	m.p.FindObjectsFinal(h)
	for _, o := range objs {
		cls := "?"
		if v, ok := ulong(m.attr(h, o, pkcs11.CKA_CLASS)); ok {
			if n, known := className[v]; known {
				cls = n
			}
		}
		d := map[string]any{"class": cls, "id": hex.EncodeToString(m.attr(h, o, pkcs11.CKA_ID))}
		if cls == "privkey" {
			var aa any
			if v := m.attr(h, o, pkcs11.CKA_ALWAYS_AUTHENTICATE); len(v) > 0 {
				aa = v[0] != 0
			}
			d["always_authenticate"] = aa
		}
		out = append(out, d)
	}
	return out
}

// withSession loads the module at path, opens a session on the token
// labelled label and runs fn with it; the session and module are closed after.
func withSession(path, label string, fn func(m *module, h pkcs11.SessionHandle) error) error {
	m, err := openModule(path)
	if err != nil {
		return err
	}
	defer m.close()
	h, err := m.session(label)
	if err != nil {
		return err
	}
	defer m.p.CloseSession(h)
	return fn(m, h)
}

// keys prints the objects of the token labelled label, after a login with
// the PIN in pinFile when it is not empty.
func keys(path, label, pinFile string) error {
	return withSession(path, label, func(m *module, h pkcs11.SessionHandle) error {
		res := map[string]any{}
		if pinFile != "" {
			login, err := m.login(h, pinFile)
			if err != nil {
				return err
			}
			res["login"] = login
		}
		res["objects"] = m.objects(h)
		return printJSON(res)
	})
}

// traceWait is how long the simulator may take to write its trace.
const traceWait = 300 * time.Millisecond

// logout logs in, probes the card with a raw SIGN, logs out, collects the
// APDUs the simulator traced for C_Logout (lines "sim> ..." of trace) and
// probes again: does the card still hold the verified PIN?
func logout(path, label, pinFile, ef, trace, reader string) error {
	return withSession(path, label, func(m *module, h pkcs11.SessionHandle) error {
		login, err := m.login(h, pinFile)
		if err != nil {
			return err
		}
		res := map[string]any{"login": login, "probe_after_login": signProbe(reader, ef)}
		start, err := fileSize(trace)
		if err != nil {
			return err
		}
		res["logout"] = ckr(m.p.Logout(h))
		time.Sleep(traceWait)
		apdus, err := tracedAPDUs(trace, start)
		if err != nil {
			return err
		}
		res["logout_apdus"] = apdus
		res["probe_after_logout"] = signProbe(reader, ef)
		return printJSON(res)
	})
}

func fileSize(path string) (int64, error) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// tracedAPDUs returns the commands ("sim> " lines) of the simulator trace
// at path from byte offset start on.
func tracedAPDUs(path string, start int64) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Seek(start, io.SeekStart); err != nil {
		return nil, err
	}
	return commandLines(f), nil
}

// commandLines returns the text after "sim> " of every such line of r.
func commandLines(r io.Reader) []string {
	out := []string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "sim> "); ok {
			out = append(out, strings.TrimSpace(rest))
		}
	}
	return out
}
