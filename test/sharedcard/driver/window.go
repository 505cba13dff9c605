package main

import (
	"encoding/hex"
	"fmt"
	"time"

	"github.com/myna-pkcs11/myna-pkcs11/test/sharedcard/proto"
)

// probeEvery is the pace of the window measurement (a measurement, not a
// synchronisation: every step still waits on its answer).
const probeEvery = 100 * time.Millisecond

// measureWindow measures, per token, how long the card accepts a PIN-less
// SIGN while a program of ours is logged in and idle (after its login and
// one signature), and checks that it refuses after C_Logout. In the
// default scope the card must refuse throughout. It prints one line per
// token and returns the number of failed checks.
func (w *world) measureWindow() int {
	o := w.ours[0]
	failed := 0
	for _, tok := range tokens {
		msg := []byte("window " + tok)
		var problem string
		for _, line := range []string{proto.CmdReset, "login " + tok + " " + pinGood, "sign " + tok + " " + hex.EncodeToString(msg)} {
			if a, err := o.do(line); err != nil || a.RV != rvOK || a.Err != "" {
				problem = fmt.Sprintf("%s: %s %s %v", verb(line), a.RV, a.Err, err)
				break
			}
		}
		if problem != "" {
			fmt.Printf("FAIL shared-card [%s]: window %s: login and sign before the idle hold: %s\n", w.scope, tok, problem)
			failed++
			continue
		}
		accepted, n, signed, err := w.hold(tok)
		if a, e := o.do("logout " + tok); e != nil || a.RV != rvOK {
			fmt.Printf("FAIL shared-card [%s]: window %s: C_Logout: %s %v\n", w.scope, tok, a.RV, e)
			failed++
		}
		after, errAfter := w.prober.probeSign(keyEF[tok])
		verdict := "refused"
		if after {
			verdict = "SIGNED"
		}
		fmt.Printf("window [%s] %s key: the card accepted a PIN-less SIGN for %.1f s of a %.1f s idle hold after login + sign (%d of %d probes); after C_Logout: %s\n",
			w.scope, tok, accepted.Seconds(), w.cfg.hold.Seconds(), signed, n, verdict)
		switch {
		case err != nil || errAfter != nil:
			fmt.Printf("FAIL shared-card [%s]: window %s: probe: %v %v\n", w.scope, tok, err, errAfter)
			failed++
		case w.scope == scopeDefault && signed > 0:
			fmt.Printf("FAIL shared-card [%s]: window %s: the default scope must leave the card unverified between our transactions\n", w.scope, tok)
			failed++
		case after:
			fmt.Printf("FAIL shared-card [%s]: window %s: the card still signs PIN-less after C_Logout\n", w.scope, tok)
			failed++
		}
	}
	return failed
}

// hold probes the card every probeEvery for w.cfg.hold and returns the
// time it accepted a PIN-less SIGN, the probes sent and accepted.
func (w *world) hold(tok string) (accepted time.Duration, n, signed int, err error) {
	start := time.Now()
	last := start
	for time.Since(start) < w.cfg.hold {
		ok, e := w.prober.probeSign(keyEF[tok])
		if e != nil {
			return accepted, n, signed, e
		}
		now := time.Now()
		n++
		if ok {
			signed++
			accepted += now.Sub(last)
		}
		last = now
		time.Sleep(probeEvery)
	}
	return accepted, n, signed, nil
}

// measureKilled measures how long the card accepts a PIN-less SIGN after
// a program of ours is killed (SIGKILL: no C_Finalize, no library
// destructor) while logged in to the auth token, with other programs
// keeping the card connected (the long-lived programs and the prober), as
// on a desktop. pcsc-lite disconnects a dead client's card handles with
// SCARD_LEAVE_CARD unless it held a transaction (MSGRemoveContext in its
// src/winscard_svc.c), so nothing resets the card. The default scope must
// refuse throughout; the session scope's window is printed. The card is
// reset afterwards. It returns the number of failed checks.
func (w *world) measureKilled() int {
	o, err := startOurs("killed-"+w.scope, w.ours[0].argv, w.ours[0].env, w.cfg.dir, w.cfg.stepTimeout)
	if err != nil {
		fmt.Printf("FAIL shared-card [%s]: killed program: %v\n", w.scope, err)
		return 1
	}
	for _, line := range []string{"login " + tokAuth + " " + pinGood, "sign " + tokAuth + " " + hex.EncodeToString([]byte("killed"))} {
		if a, err := o.do(line); err != nil || a.RV != rvOK || a.Err != "" {
			o.kill()
			fmt.Printf("FAIL shared-card [%s]: killed program: %s: %s %s %v\n", w.scope, verb(line), a.RV, a.Err, err)
			return 1
		}
	}
	o.kill()
	accepted, n, signed, err := w.hold(tokAuth)
	if e := w.guard(func() error { return w.prober.reset(false) }); err == nil {
		err = e
	}
	fmt.Printf("window [%s] auth key after its program was killed (SIGKILL) while logged in, other programs connected: the card accepted a PIN-less SIGN for %.1f s of a %.1f s hold (%d of %d probes)\n",
		w.scope, accepted.Seconds(), w.cfg.hold.Seconds(), signed, n)
	switch {
	case err != nil:
		fmt.Printf("FAIL shared-card [%s]: killed program: probe: %v\n", w.scope, err)
		return 1
	case w.scope == scopeDefault && signed > 0:
		fmt.Printf("FAIL shared-card [%s]: killed program: the default scope must leave the card unverified after its program dies\n", w.scope)
		return 1
	}
	return 0
}
