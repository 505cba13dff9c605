package main

import (
	"crypto/rsa"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/myna-pkcs11/myna-pkcs11/test/sharedcard/proto"
)

// world is everything a run uses: the programs and what to check against.
type world struct {
	cfg    config
	scope  string
	pubs   map[string]*rsa.PublicKey
	ours   []*oursProc  // long-lived processes of our module (A, B, C)
	raws   []*rawClient // raw PC/SC programs (A, B, C)
	prober *rawClient   // the raw client of the no-PIN window
	tool   *pkcs11Tool  // pkcs11-tool with our module
	opensc *pkcs11Tool  // pkcs11-tool with OpenSC's module (nil: none)
	osc    *oursProc    // a long-lived process of OpenSC's module (nil: none)
	stats  *stats
}

// actor is one program of a running scenario.
type actor struct {
	kind   kind
	ours   *oursProc
	raw    *rawClient
	model  *actorModel
	failed bool // this program gave a wrong answer: re-initialise it after the scenario
}

// outcome is what a step answered.
type outcome struct {
	rv      string   // CK_RV name, proto.RVNoKey, or "CKR_OK" for raw/tool success
	sig     []byte   // sign
	state   string   // sessioninfo
	objects []string // objects
	problem string   // anything that fails the step whatever rv says (hang, protocol, tool exit)
}

// run executes one scenario and returns its failures (empty: passed).
func (w *world) run(sc scenario) []string {
	var fails []string
	actors := w.cast(sc)
	expTries := tries{tokAuth: maxTries[tokAuth], tokSign: maxTries[tokSign]}
	osc := newOpenSCView()
	queue := slices.Clone(sc.steps)
	for i := 0; i < len(queue); i++ {
		st := queue[i]
		a := actors[st.actor]
		where := fmt.Sprintf("step %d %c:%s %s", i+1, 'A'+st.actor, a.kind, describeStep(st))
		fail := func(category, format string, args ...any) {
			line := where + ": " + fmt.Sprintf(format, args...)
			fails = append(fails, line)
			w.stats.count(category, sc.name+": "+line)
			a.failed = true
		}
		msg := []byte(fmt.Sprintf("shared-card %s %s step %d", w.scope, sc.name, i+1))
		var allowed []string
		if a.kind == kOurs {
			allowed = a.model.allowed(st, w.scope)
		} else {
			allowed = []string{rvOK}
		}
		out := w.exec(a, st, msg)
		w.stats.steps++
		if a.kind == kOpenSCProc {
			w.stats.countOpenSC(st, out.rv, false)
		}
		switch {
		case out.problem != "":
			cat := "program error"
			if strings.Contains(out.problem, errTimeout.Error()) {
				cat = "hang"
			}
			fail(cat, "%s", out.problem)
		case a.kind == kOpenSCProc: // judged by what it answered alone, not by our module's rules
			if why := osc.judge(st, out.rv); why != "" {
				fail("OpenSC: "+st.verb+" "+out.rv+" beside ours", "%s", why)
			}
		case slices.Contains(forbiddenRV, out.rv):
			fail("forbidden CKR "+out.rv, "%s (never acceptable for what another program can cause; allowed here: %s)", out.rv, strings.Join(allowed, ", "))
		case !slices.Contains(allowed, out.rv):
			fail("unexpected CKR "+out.rv, "%s, want %s", out.rv, strings.Join(allowed, " or "))
		}
		if st.verb == verbSign && out.rv == rvOK && out.problem == "" {
			if why := checkSig(w.pubs, st.tok, msg, out.sig); why != "" {
				cat := "bad signature"
				if strings.Contains(why, "KEY") {
					cat = "signed with the wrong key"
				}
				fail(cat, "%s", why)
			}
		}
		if st.verb == verbSession && st.variant == wantPublic && !strings.Contains(out.state, "PUBLIC") {
			fail("logged in after NOT_LOGGED_IN", "C_GetSessionInfo says %s after C_Sign gave CKR_USER_NOT_LOGGED_IN; want a public session", out.state)
		}
		if st.verb == verbObjects && st.tok == tokSign && a.kind == kOurs && !a.model.in[tokSign] &&
			slices.Contains(out.objects, "cert:02") {
			fail("sign certificate before login", "the sign certificate is visible without login (objects %v)", out.objects)
		}

		// The model: the program's own state, then what the step did to the others.
		wasIn := a.kind == kOurs && a.model.in[st.tok]
		if a.kind == kOurs {
			a.model.update(st, out.rv)
		}
		// A program's own logout, close or PIN change may unverify its other
		// token too (the card has one security state): it counts for itself
		// on the other token as another program's would.
		for j, b := range actors {
			if b.kind != kOurs {
				continue
			}
			for tok, e := range effects(a.kind, st, out.rv, w.scope) {
				if j != st.actor || tok != st.tok {
					b.model.drop[tok] = b.model.drop[tok].after(e)
				}
			}
		}
		if st.verb == verbLogin && out.rv == rvPINIncorrect {
			expTries[st.tok]--
		} else if verifies(a.kind, st, out.rv, w.scope) {
			expTries[st.tok] = maxTries[st.tok]
		}
		if got, err := readTries(w.cfg.state); err != nil {
			fail("program error", "reading the tries: %v", err)
		} else if got[tokAuth] != expTries[tokAuth] || got[tokSign] != expTries[tokSign] {
			fail("PIN try spent", "tries left: %s; want %s", got, expTries)
			expTries = got
		}
		if a.kind.ourModule() && w.cfg.probe {
			w.probe(actors, osc.mayBeVerified, fail)
		}
		if a.kind == kOpenSCProc && osc.forgot(st, out.rv) {
			// As an application does after CKR_USER_NOT_LOGGED_IN: log in, sign.
			w.stats.openscRelogins++
			queue = slices.Insert(queue, i+1,
				step{actor: st.actor, prim: login(st.tok, pinGood), alone: rvOK, again: true},
				step{actor: st.actor, prim: p(verbSign, st.tok), alone: rvOK, again: true})
		}
		osc.after(a.kind, st, out.rv, w.scope)
		// Another program's logout is a logout: after CKR_USER_NOT_LOGGED_IN
		// the session is public and the right PIN logs in again.
		if a.kind == kOurs && st.verb == verbSign && out.rv == rvNotLoggedIn && wasIn {
			w.stats.relogins++
			queue = slices.Insert(queue, i+1,
				step{actor: st.actor, prim: prim{verb: verbSession, tok: st.tok, variant: wantPublic}},
				step{actor: st.actor, prim: login(st.tok, pinGood)},
				step{actor: st.actor, prim: p(verbSign, st.tok)})
		}
	}
	fails = append(fails, w.endScenario(actors, expTries)...)
	return fails
}

// wantPublic marks the sessioninfo step after a CKR_USER_NOT_LOGGED_IN.
const wantPublic = 1

// cast gives each actor of sc a program: the long-lived processes and raw
// clients in order, pkcs11-tool for the tool kinds.
func (w *world) cast(sc scenario) []*actor {
	var as []*actor
	nOurs, nRaw := 0, 0
	for _, k := range sc.actors {
		a := &actor{kind: k, model: newModel()}
		switch k {
		case kOurs:
			a.ours = w.ours[nOurs]
			nOurs++
		case kRaw:
			a.raw = w.raws[nRaw]
			nRaw++
		case kOpenSCProc:
			a.ours = w.osc
		}
		as = append(as, a)
	}
	return as
}

func describeStep(st step) string {
	s := st.verb
	if st.tok != "" {
		s += " " + st.tok
	}
	if st.pin == pinWrong {
		s += " (wrong PIN)"
	}
	switch st.verb {
	case verbApplet:
		s += " " + appletOf(st.variant).name
	case verbEF:
		s += fmt.Sprintf(" %04X", efOf(st.variant))
	case verbReset:
		s += []string{" (SCardReconnect RESET)", " (SCardDisconnect RESET)"}[st.variant%2]
	}
	return s
}

// exec performs one step.
func (w *world) exec(a *actor, st step, msg []byte) outcome {
	switch a.kind {
	case kOurs:
		return w.execOurs(a.ours, st, msg)
	case kTool:
		return w.execTool(w.tool, st, msg)
	case kOpenSC:
		return w.execTool(w.opensc, st, msg)
	case kOpenSCProc:
		return w.execOurs(a.ours, st, msg)
	}
	return w.execRaw(a.raw, st)
}

func (w *world) execOurs(o *oursProc, st step, msg []byte) outcome {
	line := st.verb
	switch st.verb {
	case verbLogin:
		line += " " + st.tok + " " + st.pin
	case verbSign:
		line += " " + st.tok + " " + hex.EncodeToString(msg)
	case verbList, verbTokenInfo:
	default:
		line += " " + st.tok
	}
	ans, err := o.do(line)
	if err != nil {
		return outcome{problem: err.Error()}
	}
	out := outcome{rv: ans.RV, state: ans.State, objects: ans.Objects}
	if ans.Err != "" {
		out.problem = ans.Call + ": " + ans.Err
	}
	if ans.Sig != "" {
		out.sig, _ = hex.DecodeString(ans.Sig)
	}
	return out
}

func (w *world) execTool(t *pkcs11Tool, st step, msg []byte) outcome {
	if t == nil {
		return outcome{problem: "pkcs11-tool with this module is not available"}
	}
	pin := w.cfg.pins[st.tok]
	var r toolResult
	var sig []byte
	switch st.verb {
	case verbList:
		r = t.run("-L")
	case verbTokenInfo:
		r = t.run("-T")
	case verbObjects:
		r = t.run(append(t.tokenArgs(st.tok), "-O")...)
	case verbLogin:
		r = t.run(append(t.tokenArgs(st.tok), "--login", "--pin", pin, "-O")...)
	case verbSign:
		r, sig = t.sign(st.tok, pin, msg)
	case verbChangePIN:
		alt := w.cfg.altPINs[st.tok]
		if r = t.run(append(t.tokenArgs(st.tok), "--login", "--pin", pin, "--change-pin", "--new-pin", alt)...); r.exit == 0 {
			r = t.run(append(t.tokenArgs(st.tok), "--login", "--pin", alt, "--change-pin", "--new-pin", pin)...)
		}
	default:
		return outcome{problem: "pkcs11-tool cannot " + st.verb}
	}
	out := outcome{rv: rvOK, sig: sig}
	if f := r.failed(); f != "" {
		out.rv, out.problem = r.rv, "pkcs11-tool "+st.verb+": "+f
		if out.rv == "" {
			out.rv = fmt.Sprintf("exit %d", r.exit)
		}
	}
	return out
}

// applets a raw client selects.
type applet struct {
	name string
	aid  []byte
}

func appletOf(v int) applet {
	return []applet{{"GP ISD", aidISD}, {"text AP", aidTextAP}}[v%2]
}

// efOf is the JPKI EF a raw client leaves selected: the other key, a PIN
// EF, the auth certificate.
func efOf(v int) uint16 {
	return []uint16{efSignKey, efAuthKey, efSignPIN, efAuthPIN, efAuthCert}[v%5]
}

func (w *world) execRaw(r *rawClient, st step) outcome {
	err := w.guard(func() error {
		switch st.verb {
		case verbApplet:
			a := appletOf(st.variant)
			return r.selectApplet(a.aid, a.name)
		case verbEF:
			return r.selectJPKIEF(efOf(st.variant))
		case verbReset:
			return r.reset(st.variant%2 == 1)
		}
		return fmt.Errorf("raw client cannot %s", st.verb)
	})
	if err != nil {
		return outcome{problem: "raw " + st.verb + ": " + err.Error()}
	}
	return outcome{rv: rvOK}
}

// guard runs a raw PC/SC call with the step timeout. If it does not
// return (a program of ours holding a transaction forever), the
// long-lived processes are killed and started again, which releases it.
func (w *world) guard(f func() error) error {
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(w.cfg.stepTimeout):
	}
	for _, o := range w.procs() {
		_ = o.restart(errTimeout)
	}
	select {
	case err := <-done:
		return fmt.Errorf("%w (the programs of ours were restarted; then: %v)", errTimeout, err)
	case <-time.After(w.cfg.stepTimeout):
		// Nothing more can run on this card; p11prog processes exit when
		// their stdin closes with this process.
		fmt.Println("FAIL shared-card: a raw PC/SC call stays blocked even after our programs were killed; stopping")
		os.Exit(1)
		return nil
	}
}

// probe is the no-PIN window check after a step of our module: does the
// card sign for a program that sent no VERIFY? A token OpenSC's program
// may have left verified (byOpenSC) does not count against our module;
// beside OpenSC's program the probe leaves the current applet as it was.
func (w *world) probe(actors []*actor, byOpenSC func(tok string) bool, fail func(string, string, ...any)) {
	probeSign := w.prober.probeSign
	if withOpenSCProc(actors) {
		probeSign = w.prober.probeSignInPlace
	}
	for _, tok := range tokens {
		var signed bool
		err := w.guard(func() (err error) { signed, err = probeSign(keyEF[tok]); return })
		w.stats.probes++
		if err != nil {
			fail("program error", "no-PIN probe: %v", err)
			continue
		}
		if !signed {
			continue
		}
		w.stats.signedProbes++
		if byOpenSC(tok) {
			w.stats.openscProbes++
			continue
		}
		if w.scope == scopeDefault {
			fail("no-PIN window", "the card signed with the %s key for a raw client that sent no VERIFY (default scope: verified only inside our transactions)", tok)
			continue
		}
		loggedIn := false
		for _, a := range actors {
			loggedIn = loggedIn || (a.kind == kOurs && a.model.in[tok])
		}
		if !loggedIn {
			fail("no-PIN window", "the card signed with the %s key for a raw client that sent no VERIFY while no program of ours is logged in to the %s token", tok, tok)
		}
	}
}

// endScenario resets every long-lived program (C_CloseAllSessions, or
// C_Finalize + C_Initialize for one that failed), checks that the card
// then refuses a PIN-less signature and that every try is left, and
// repairs the card when not, so the next scenario starts clean.
func (w *world) endScenario(actors []*actor, expTries tries) []string {
	var fails []string
	failed := map[*oursProc]bool{}
	for _, a := range actors {
		if a.ours != nil && a.failed {
			failed[a.ours] = true
		}
	}
	if withOpenSCProc(actors) {
		fails = append(fails, w.settleOpenSC(failed[w.osc])...)
	}
	for _, o := range w.ours {
		cmd := proto.CmdReset
		if failed[o] {
			cmd = proto.CmdReinit
		}
		ans, err := o.do(cmd)
		if err == nil && ans.Err == "" && ans.RV == rvOK {
			continue
		}
		line := fmt.Sprintf("end: %s %s: %s %s %v", o.name, cmd, ans.RV, ans.Err, err)
		fails = append(fails, line)
		w.stats.count("program error", line)
		if ans2, err := o.do(proto.CmdReinit); err != nil || ans2.RV != rvOK {
			_ = o.restart(fmt.Errorf("end of scenario"))
		}
	}
	for _, tok := range tokens {
		var signed bool
		err := w.guard(func() (err error) { signed, err = w.prober.probeSign(keyEF[tok]); return })
		if err == nil && !signed {
			continue
		}
		line := fmt.Sprintf("end: every program of ours logged out, yet the card signs with the %s key without VERIFY (%v)", tok, err)
		fails = append(fails, line)
		w.stats.count("no-PIN window", line)
		_ = w.guard(func() error { return w.prober.reset(false) })
	}
	if got, err := readTries(w.cfg.state); err == nil && (got[tokAuth] != maxTries[tokAuth] || got[tokSign] != maxTries[tokSign]) {
		fails = append(fails, fmt.Sprintf("end: tries left %s (want all): repairing the card", got))
		w.repair(got)
	}
	return fails
}

// repair gives the card back its PINs and full counters after a failed
// scenario, with the card's own PINs (never a guess): VERIFY with the
// PIN, or with the temporary PIN of change-pin followed by a change back.
func (w *world) repair(got tries) {
	for _, tok := range tokens {
		if got[tok] == maxTries[tok] || got[tok] == 0 {
			continue
		}
		sw, err := w.prober.verifyPIN(tok, w.cfg.pins[tok])
		if err == nil && sw != swOK && got[tok] > 1 {
			_ = w.prober.changePIN(tok, w.cfg.altPINs[tok], w.cfg.pins[tok])
		}
	}
	_ = w.guard(func() error { return w.prober.reset(false) })
}
