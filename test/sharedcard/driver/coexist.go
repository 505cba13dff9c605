package main

import (
	"fmt"
	"slices"

	"github.com/myna-pkcs11/myna-pkcs11/test/sharedcard/proto"
)

// The coexistence family: a long-lived program on OpenSC's module beside
// a long-lived program on ours (matrix.go, coexist). OpenSC 0.23's JPKI
// driver (src/libopensc/card-jpki.c) selects the JPKI AP when it binds the
// card and again after a reset it noticed (card_reader_lock_obtained), and
// otherwise only selects EFs by FID: it relies on the card's current
// applet staying the JPKI AP between its own transactions. Every step of
// OpenSC's program must answer beside ours what it answers with its own
// steps alone.

// withOpenSCProc reports whether OpenSC's long-lived program is one of
// the actors.
func withOpenSCProc(actors []*actor) bool {
	return slices.ContainsFunc(actors, func(a *actor) bool { return a.kind == kOpenSCProc })
}

// alone runs the OpenSC steps of sc by themselves and records each answer
// in the step (step.alone). It checks that OpenSC alone signs, with the
// right key, whenever its program is logged in to the token, so that the
// comparison beside ours cannot pass by OpenSC failing both times. It
// returns its failures; a scenario without OpenSC's program has none.
func (w *world) alone(sc scenario) []string {
	if !slices.Contains(sc.actors, kOpenSCProc) {
		return nil
	}
	var fails []string
	m := newModel()
	for i := range sc.steps {
		st := &sc.steps[i]
		if sc.actors[st.actor] != kOpenSCProc {
			continue
		}
		msg := []byte(fmt.Sprintf("shared-card %s %s alone step %d", w.scope, sc.name, i+1))
		out := w.execOurs(w.osc, *st, msg)
		st.alone = out.rv
		w.stats.countOpenSC(*st, out.rv, true)
		where := fmt.Sprintf("alone: step %d opensc %s", i+1, describeStep(*st))
		switch {
		case out.problem != "":
			fails = append(fails, where+": "+out.problem)
		case st.verb == verbSign && m.in[st.tok] && out.rv != rvOK:
			fails = append(fails, fmt.Sprintf("%s: %s while its program is logged in (OpenSC alone must sign)", where, out.rv))
		case st.verb == verbSign && out.rv == rvOK:
			if why := checkSig(w.pubs, st.tok, msg, out.sig); why != "" {
				fails = append(fails, where+": "+why)
			}
		}
		m.update(*st, out.rv)
	}
	for _, f := range fails {
		w.stats.count("OpenSC alone", sc.name+": "+f)
	}
	return append(fails, w.settleOpenSC(len(fails) > 0)...)
}

// settleOpenSC ends a scenario of OpenSC's program: C_CloseAllSessions
// (C_Finalize + C_Initialize after a failure, which binds the card again),
// then the prober leaves the card unverified with the JPKI AP selected
// (SELECT GP ISD, SELECT JPKI AP). OpenSC 0.23's C_Logout sends nothing,
// so the card may still be verified by OpenSC; the next scenario starts,
// alone and beside ours, from the same card.
func (w *world) settleOpenSC(failed bool) []string {
	var fails []string
	cmd := proto.CmdReset
	if failed {
		cmd = proto.CmdReinit
	}
	if a, err := w.osc.do(cmd); err != nil || a.RV != rvOK || a.Err != "" {
		line := fmt.Sprintf("end: %s %s: %s %s %v", w.osc.name, cmd, a.RV, a.Err, err)
		fails = append(fails, line)
		w.stats.count("program error", line)
		if a2, err := w.osc.do(proto.CmdReinit); err != nil || a2.RV != rvOK {
			_ = w.osc.restart(fmt.Errorf("end of scenario"))
		}
	}
	if err := w.guard(w.prober.unverify); err != nil {
		line := "end: leave the card unverified for OpenSC's next scenario: " + err.Error()
		fails = append(fails, line)
		w.stats.count("program error", line)
	}
	return fails
}

// openSCView is what a scenario knows of OpenSC's program beside ours.
type openSCView struct {
	// onCard: the tokens OpenSC's program may have left verified on the
	// card (for the no-PIN probe after our module's steps).
	onCard map[string]bool
	// cached: OpenSC holds the auth PIN in its PIN cache. OpenSC caches
	// the PIN of a key without user consent at a login that verifies it
	// (pkcs15-pin.c sc_pkcs15_pincache_add), verifies it again when the
	// card answers 6982 to a signature (pkcs15-sec.c use_key,
	// sc_pkcs15_pincache_revalidate) and forgets every cached PIN at its
	// C_Logout of any token or the close of a token's last session
	// (framework-pkcs15.c pkcs15_logout). The signature key has user
	// consent: OpenSC verifies its PIN at every signature
	// (C_Login(CKU_CONTEXT_SPECIFIC)) instead.
	cached bool
}

func newOpenSCView() *openSCView { return &openSCView{onCard: map[string]bool{}} }

// mayBeVerified reports whether OpenSC's program may have left tok
// verified on the card.
func (v *openSCView) mayBeVerified(tok string) bool { return v.onCard[tok] }

// judge says what is wrong with OpenSC's answer rv to st beside ours: it
// must be the answer OpenSC gave with its own steps alone, or the one
// answer forgot excuses.
func (v *openSCView) judge(st step, rv string) string {
	if rv == st.alone || v.forgot(st, rv) {
		return ""
	}
	return fmt.Sprintf("%s; with its own steps alone it answered %s", rv, st.alone)
}

// forgot reports whether rv is OpenSC's honest answer to an auth
// signature that succeeded alone only because the card stayed verified
// after OpenSC itself had forgotten the PIN (it logged out of a token
// since its login): any program that leaves the card unverified, as our
// module does after each operation, makes OpenSC answer
// CKR_USER_NOT_LOGGED_IN, after which it shows the token logged out and
// the application logs in again.
func (v *openSCView) forgot(st step, rv string) bool {
	return st.verb == verbSign && st.tok == tokAuth && st.alone == rvOK && rv == rvNotLoggedIn && !v.cached
}

// after updates the view after a step of a program of kind k answered rv:
// OpenSC's login or signature verifies (its C_Logout in 0.23 sends
// nothing to the card), and a step of our module that certainly ended by
// leaving the applet unverifies both tokens.
func (v *openSCView) after(k kind, st step, rv, scope string) {
	switch {
	case rv != rvOK:
	case k == kOpenSCProc && (st.verb == verbLogin || st.verb == verbSign):
		v.onCard[st.tok] = true
		v.cached = v.cached || (st.verb == verbLogin && st.tok == tokAuth)
	case k == kOpenSCProc && (st.verb == verbLogout || st.verb == verbClose):
		v.cached = false
	case k == kOurs && leaves(st.verb, scope):
		clear(v.onCard)
	}
}

// leaves reports whether our module's step verb, answered CKR_OK, ends
// by leaving the applet in scope: in the default scope every operation
// that verifies a PIN; in the session scope the logout.
func leaves(verb, scope string) bool {
	if scope == scopeSession {
		return verb == verbLogout
	}
	return verb == verbLogin || verb == verbSign || verb == verbChangePIN
}
