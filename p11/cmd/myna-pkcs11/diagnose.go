package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/backend"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/diag"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/mynacard"
	"github.com/myna-pkcs11/myna-pkcs11/p11"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// defaultReport is where diagnose writes its JSON report.
const defaultReport = "myna-diagnose.json"

// diagOptions are the flags of diagnose.
type diagOptions struct {
	reader, out   string
	includePublic bool
	sign          bool
	signPassword  bool // log in to the sign token once (no signature)
	pinStdin      bool
	json          bool // the report on standard output instead of the summary
}

// runDiagnose runs the standard probe on the card back end, writes the
// JSON report and prints the summary.
func runDiagnose(o diagOptions, stdin *os.File, stdout, stderr io.Writer) int {
	ctx, err := backend.Open()
	if err != nil {
		fmt.Fprintf(stderr, "myna-pkcs11: %v\n", explain(err))
		return 1
	}
	defer ctx.Close()
	var ask asks
	if o.sign || o.signPassword {
		in, err := newInput(stdin, o.pinStdin, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "myna-pkcs11: %v\n", err)
			return 2
		}
		if o.sign {
			ask.authPIN = func() ([]byte, error) {
				return in.secret("Authentication PIN (4 digits) for one test signature: ")
			}
		}
		if o.signPassword {
			ask.signPassword = func() ([]byte, error) {
				return in.secret("Signature password for one login (nothing is signed): ")
			}
		}
	}
	rep := diagnose(ctx, backendName(), o, ask)
	out := o.out
	if out == "" {
		out = defaultReport
	}
	if err := rep.WriteFile(out); err != nil {
		fmt.Fprintf(stderr, "myna-pkcs11: write the report: %v\n", err)
		return 1
	}
	if o.json {
		writeJSON(stdout, rep)
		return 0
	}
	rep.Summary(stdout)
	fmt.Fprintf(stdout, "\nReport written to %s. It holds no PIN and nothing of your signature certificate;\nattach it to your bug report.\n", out)
	return 0
}

// probe runs the PKCS#11 calls of the standard probe and notes each in
// the report.
type probe struct {
	rep *diag.Report
	rec *diag.Recorder
	// ctx is the recorded card back end, for the re-select probe.
	ctx cardos.Context
	// last runs after every token was listed: the re-select probe talks
	// to the card as another program would, and a credential that cannot
	// prove its identity after another program's reset (a smartphone)
	// comes back as a new token.
	last []func()
}

// step runs fn as one named step and records its result and APDUs.
func (p *probe) step(name string, fn func() (string, error)) error {
	first := p.rec.Len()
	detail, err := fn()
	s := diag.Step{Name: name, Result: "CKR_OK", Detail: detail}
	if err != nil {
		s.Result = ck.Name(ck.RV(err))
		p.rep.Conclusions = append(p.rep.Conclusions, fmt.Sprintf("%s failed: %s", name, s.Result))
	}
	if last := p.rec.Len(); last > first {
		s.FirstAPDU, s.LastAPDU = first+1, last
	}
	p.rep.Steps = append(p.rep.Steps, s)
	return err
}

// asks ask for the secrets the probe may use; a nil one is not asked.
type asks struct {
	// authPIN: one signature is made with the auth key.
	authPIN func() ([]byte, error)
	// signPassword: one login to the sign token, nothing signed.
	signPassword func() ([]byte, error)
}

// diagnose runs the probe on base, with the secrets ask gives.
func diagnose(base cardos.Context, backendName string, o diagOptions, ask asks) *diag.Report {
	rec := diag.NewRecorder(o.includePublic)
	ctx := rec.Context(base)
	rep := &diag.Report{
		Format: diag.ReportFormat, Created: time.Now().UTC().Format(time.RFC3339),
		Go: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH,
		OSRelease: osRelease(), Kernel: kernel(), Packages: packages(), Backend: backendName,
		Options: diag.ReportOptions{IncludePublic: o.includePublic, Sign: ask.authPIN != nil, Reader: o.reader},
	}
	rep.Readers = readerReports(ctx, o.reader)
	if len(rep.Readers) == 0 {
		rep.Conclusions = append(rep.Conclusions, "no reader found: is the reader plugged in and pcscd running?")
	}
	p := &probe{rep: rep, rec: rec, ctx: ctx}
	m := p11.NewModule(func() (cardos.Context, error) { return sharedContext{ctx}, nil }, mynacard.Attach)
	cfg, _ := p11.LoadConfig()
	cfg.AuthToken, cfg.SignToken, cfg.Readers = true, true, o.reader
	cfg.NoNotifications = true // the report says what the card answered
	m.UseConfig(cfg)
	if p.step("C_Initialize", func() (string, error) { return "", m.Initialize(p11.InitArgs{}) }) == nil {
		if info, err := m.Info(); err == nil {
			rep.Module = fmt.Sprintf("%d.%d", info.LibraryVersion.Major, info.LibraryVersion.Minor)
		}
		p.tokens(m, ask)
		p.step("C_Finalize", func() (string, error) { return "", m.Finalize() })
	}
	rep.APDUs, rep.Events = rec.APDUs(), rec.Events()
	p.conclude()
	return rep
}

// tokens lists the slots, their tokens and objects, signs once with the
// auth key when ask.authPIN is set and logs in to the sign token once
// when ask.signPassword is.
func (p *probe) tokens(m *p11.Module, ask asks) {
	var slots []p11.SlotID
	p.step("C_GetSlotList", func() (string, error) {
		var err error
		slots, err = m.SlotList(true)
		return fmt.Sprintf("%d slot(s) with a token", len(slots)), err
	})
	if len(slots) == 0 {
		p.rep.Conclusions = append(p.rep.Conclusions, "the module shows no token: see the readers and APDUs above")
	}
	for _, slot := range slots {
		tr := diag.TokenReport{Slot: uint(slot)}
		p.step(fmt.Sprintf("C_GetSlotInfo(%d)", slot), func() (string, error) {
			si, err := m.SlotInfo(slot)
			tr.Reader = strings.TrimRight(si.Description, " ")
			return "", err
		})
		var ti p11.TokenInfo
		if p.step(fmt.Sprintf("C_GetTokenInfo(%d)", slot), func() (string, error) {
			var err error
			ti, err = m.TokenInfo(slot)
			return strings.TrimRight(ti.Label, " "), err
		}) != nil {
			continue
		}
		tr.Label, tr.Flags = strings.TrimRight(ti.Label, " "), flagNames(ti.Flags)
		if kind, err := m.Credential(slot); err == nil {
			tr.Credential = kind.String()
			if kind == cardos.KindAndroid || kind == cardos.KindIPhone {
				p.rep.Conclusions = append(p.rep.Conclusions, fmt.Sprintf("token %q is a %s: its authentication certificate and key appear only after the PIN, and it gets a new serial each time it is held to the reader", tr.Label, kind))
			}
		}
		tr.MinPinLen, tr.MaxPinLen = ti.MinPinLen, ti.MaxPinLen
		if ti.Flags&ck.CKF_USER_PIN_LOCKED != 0 {
			p.rep.Conclusions = append(p.rep.Conclusions, fmt.Sprintf("token %q: the PIN is locked (unlock at the municipal office)", tr.Label))
		}
		var sess p11.SessionHandle
		if p.step(fmt.Sprintf("C_OpenSession(%d)", slot), func() (string, error) {
			var err error
			sess, err = m.OpenSession(slot, ck.CKF_SERIAL_SESSION)
			return "", err
		}) != nil {
			p.rep.Tokens = append(p.rep.Tokens, tr)
			continue
		}
		tr.Objects = p.objects(m, slot, sess)
		if ask.authPIN != nil && ti.MinPinLen == 4 && ti.MaxPinLen == 4 {
			p.signOnce(m, sess, tr.Reader, ask.authPIN)
			ask.authPIN = nil
		}
		if ask.signPassword != nil && ti.MaxPinLen > 4 {
			p.signLoginOnce(m, sess, ask.signPassword)
			ask.signPassword = nil
		}
		m.CloseSession(sess)
		p.rep.Tokens = append(p.rep.Tokens, tr)
	}
	for _, fn := range p.last {
		fn()
	}
	p.last = nil
}

// objects lists the objects visible without login and reads the value of
// each certificate (the public ones: the sign certificate is not visible
// before login).
func (p *probe) objects(m *p11.Module, slot p11.SlotID, sess p11.SessionHandle) []string {
	var objs []p11.ObjectHandle
	p.step(fmt.Sprintf("C_FindObjects(%d)", slot), func() (string, error) {
		if err := m.FindObjectsInit(sess, nil); err != nil {
			return "", err
		}
		defer m.FindObjectsFinal(sess)
		for {
			got, err := m.FindObjects(sess, 16)
			if err != nil || len(got) == 0 {
				return fmt.Sprintf("%d object(s)", len(objs)), err
			}
			objs = append(objs, got...)
		}
	})
	var out []string
	for _, o := range objs {
		reqs := []p11.AttrRequest{{Type: ck.CKA_CLASS, HasBuf: true, BufLen: 8}, {Type: ck.CKA_LABEL, HasBuf: true, BufLen: 256}}
		if m.GetAttributeValue(sess, o, reqs) != nil || len(reqs[0].Value) != 8 {
			continue
		}
		class := uint(reqs[0].Value[0]) | uint(reqs[0].Value[1])<<8
		out = append(out, fmt.Sprintf("%s %q", className(class), reqs[1].Value))
		if class != ck.CKO_CERTIFICATE {
			continue
		}
		p.step(fmt.Sprintf("C_GetAttributeValue(CKA_VALUE) %s", reqs[1].Value), func() (string, error) {
			r := []p11.AttrRequest{{Type: ck.CKA_VALUE, HasBuf: true, BufLen: 1 << 16}}
			err := m.GetAttributeValue(sess, o, r)
			return fmt.Sprintf("%d bytes", len(r[0].Value)), err
		})
	}
	return out
}

// signOnce logs in with the PIN asked, makes one SHA-256 signature with
// the auth key, logs out and has the re-select probe run on reader, with
// the PIN the card has just accepted, once every token is listed. The PIN
// is cleared after use and never recorded.
func (p *probe) signOnce(m *p11.Module, sess p11.SessionHandle, reader string, askPIN func() ([]byte, error)) {
	pin, err := askPIN()
	if err != nil {
		p.rep.Conclusions = append(p.rep.Conclusions, "no PIN given: the test signature was skipped")
		return
	}
	if p.step("C_Login(auth)", func() (string, error) { return "", m.Login(sess, ck.CKU_USER, pin) }) != nil {
		clear(pin)
		return
	}
	p.step("C_SignInit+C_Sign(CKM_SHA256_RSA_PKCS)", func() (string, error) {
		if err := m.FindObjectsInit(sess, []p11.Attribute{{Type: ck.CKA_CLASS, Value: ckULong(ck.CKO_PRIVATE_KEY)}}); err != nil {
			return "", err
		}
		keys, err := m.FindObjects(sess, 1)
		m.FindObjectsFinal(sess)
		if err != nil {
			return "", err
		}
		if len(keys) == 0 {
			return "", ck.Error(ck.CKR_KEY_HANDLE_INVALID)
		}
		if err := m.SignInit(sess, p11.Mechanism{Type: ck.CKM_SHA256_RSA_PKCS}, keys[0]); err != nil {
			return "", err
		}
		sig, _, err := m.Sign(sess, []byte("myna-pkcs11 diagnose"), p11.OutBuf{Len: 512})
		return fmt.Sprintf("%d-byte signature", len(sig)), err
	})
	p.step("C_Logout", func() (string, error) { return "", m.Logout(sess) })
	// After the module is done, so that the probe's leave cannot log out
	// a session-scope login in the middle.
	p.last = append(p.last, func() {
		defer clear(pin)
		p.reselectProbe(reader, pin)
	})
}

// signLoginOnce logs in to the sign token with the password asked and
// out again, signing nothing: the module then reads the password's full
// retry counter and checks its leave, and the recorded APDUs show both.
// The password is cleared after use and never recorded.
func (p *probe) signLoginOnce(m *p11.Module, sess p11.SessionHandle, askPassword func() ([]byte, error)) {
	pw, err := askPassword()
	if err != nil {
		p.rep.Conclusions = append(p.rep.Conclusions, "no signature password given: the sign login was skipped")
		return
	}
	defer clear(pw)
	if p.step("C_Login(sign)", func() (string, error) { return "", m.Login(sess, ck.CKU_USER, pw) }) != nil {
		return
	}
	p.step("C_Logout(sign)", func() (string, error) { return "", m.Logout(sess) })
}

// conclude adds what the APDUs show.
func (p *probe) conclude() {
	r := p.rep
	for _, rd := range r.Readers {
		if rd.Present && rd.ATRKnown == "" {
			r.Conclusions = append(r.Conclusions, fmt.Sprintf("reader %q: ATR %s is not one of the known JPKI ATRs (the module finds the card by its applet, so this alone is no problem)", rd.Name, rd.ATR))
		}
	}
	if b, err := r.Behaviour(); err == nil {
		if b.BlockedQuerySW == 0x6984 {
			r.Conclusions = append(r.Conclusions, "the card answers 6984 to the tries query of a blocked PIN (OpenSC then drops the card)")
		}
		if b.MaxResponse > 0 {
			r.Conclusions = append(r.Conclusions, fmt.Sprintf("READ BINARY answers at most %d bytes", b.MaxResponse))
		}
		if b.LeaveKeepsPINs != nil && *b.LeaveKeepsPINs {
			r.Conclusions = append(r.Conclusions, "the card keeps a PIN verified after another applet is selected: the module resets the card instead, so that it is never left verified")
		}
		for _, fc := range []struct {
			name     string
			got, doc int
		}{{"authentication PIN", b.AuthFullTries, cardos.AuthKey.MaxTries()}, {"signature password", b.SignFullTries, cardos.SignKey.MaxTries()}} {
			if fc.got > 0 && fc.got != fc.doc {
				r.Conclusions = append(r.Conclusions, fmt.Sprintf("the card counts %d tries for a full %s (documented: %d); the module goes by the card's count", fc.got, fc.name, fc.doc))
			}
		}
	}
	for _, a := range r.APDUs {
		if a.Err != "" {
			r.Conclusions = append(r.Conclusions, fmt.Sprintf("APDU %d (%s): %s", a.Seq, a.Command, a.Err))
		}
	}
	if len(r.Conclusions) == 0 {
		r.Conclusions = append(r.Conclusions, "no problem seen")
	}
}

// readerReports lists the readers with the card's ATR and protocol.
func readerReports(ctx cardos.Context, only string) []diag.ReaderReport {
	readers, err := ctx.Readers()
	if err != nil {
		return []diag.ReaderReport{{Name: "(none)", Err: explain(err).Error()}}
	}
	var out []diag.ReaderReport
	for _, r := range readers {
		if only != "" && r.Name != only {
			continue
		}
		rr := diag.ReaderReport{Name: r.Name, Present: r.Present}
		if r.Present {
			t, err := ctx.Connect(r.Name)
			if err != nil {
				rr.Err = err.Error()
			} else {
				rr.ATR = fmt.Sprintf("%X", t.ATR())
				rr.ATRKnown = diag.ATRName(t.ATR())
				if pt, ok := t.(interface{ Protocol() string }); ok {
					rr.Protocol = pt.Protocol()
				}
				t.Close()
			}
		}
		out = append(out, rr)
	}
	return out
}

// flagNames names the token flags set in f, without the CKF_ prefix.
func flagNames(f uint) []string {
	out := ck.FlagNames(f, ck.TokenFlags)
	for i, n := range out {
		out[i] = strings.TrimPrefix(n, "CKF_")
	}
	return out
}

func className(c uint) string {
	switch c {
	case ck.CKO_CERTIFICATE:
		return "certificate"
	case ck.CKO_PUBLIC_KEY:
		return "public key"
	case ck.CKO_PRIVATE_KEY:
		return "private key"
	}
	return fmt.Sprintf("class %d", c)
}

// osRelease is PRETTY_NAME of /etc/os-release.
func osRelease() string {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

func kernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// packages asks dpkg-query for the PC/SC stack's versions.
func packages() map[string]string {
	out := map[string]string{}
	for _, p := range []string{"pcscd", "libccid", "libpcsclite1"} {
		b, err := exec.Command("dpkg-query", "-W", "-f=${Version}", p).Output()
		var ee *exec.ExitError
		switch {
		case err == nil && len(b) > 0:
			out[p] = string(b)
		case errors.As(err, &ee):
			out[p] = "not installed"
		default:
			out[p] = "unknown (no dpkg-query)"
		}
	}
	return out
}
