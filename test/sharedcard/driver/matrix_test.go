package main

import "testing"

// TestPairsCoverEveryOrderedPair: every (X, Y) appears once per scope, and
// over the two scopes Y runs in every kind of program that can do it.
func TestPairsCoverEveryOrderedPair(t *testing.T) {
	kindsOfY := map[op]map[kind]bool{}
	for scope := range 2 {
		seen := map[[2]op]int{}
		for _, sc := range pairs(scope) {
			if len(sc.ops) != 2 || len(sc.actors) != 2 {
				t.Fatalf("%s: %d ops, %d actors", sc.name, len(sc.ops), len(sc.actors))
			}
			seen[[2]op{sc.ops[0], sc.ops[1]}]++
			if kindsOfY[sc.ops[1]] == nil {
				kindsOfY[sc.ops[1]] = map[kind]bool{}
			}
			kindsOfY[sc.ops[1]][sc.actors[1]] = true
		}
		if len(seen) != int(numOps)*int(numOps) {
			t.Errorf("scope %d: %d distinct pairs, want %d", scope, len(seen), numOps*numOps)
		}
	}
	for y := range numOps {
		for _, k := range y.kinds() {
			if !kindsOfY[y][k] {
				t.Errorf("B:%s never runs as %s", y, k)
			}
		}
	}
}

// TestScenarioSteps: every generated scenario has steps for its actors
// only, and every actor acts.
func TestScenarioSteps(t *testing.T) {
	var all []scenario
	for scope := range 2 {
		all = append(all, pairs(scope)...)
		all = append(all, triples(scope, 50, 1)...)
		all = append(all, wrongPIN(scope)...)
		all = append(all, withOpenSC(scope, 4)...)
		all = append(all, coexist(scope, 5, 1)...)
	}
	for _, sc := range all {
		acted := make([]bool, len(sc.actors))
		for _, st := range sc.steps {
			if st.actor < 0 || st.actor >= len(sc.actors) {
				t.Fatalf("%s: step of actor %d", sc.name, st.actor)
			}
			acted[st.actor] = true
			if st.verb == "" {
				t.Errorf("%s: empty step", sc.name)
			}
		}
		for i, a := range acted {
			if !a {
				t.Errorf("%s: actor %c does nothing", sc.name, 'A'+i)
			}
		}
	}
}

// TestAllowed pins the expectations that carry test/SHARED-CARD.md's
// promises.
func TestAllowed(t *testing.T) {
	signAuth := step{prim: p(verbSign, tokAuth)}
	for _, c := range []struct {
		name  string
		in    bool
		drop  drop
		scope string
		want  string
	}{
		{"default scope: a login survives anything another program does", true, dropMust, scopeDefault, rvOK},
		{"session scope: another program selected an applet or reset the card", true, dropMust, scopeSession, rvNotLoggedIn},
		{"session scope: nothing happened", true, dropNone, scopeSession, rvOK},
		{"logged out: the key is gone", false, dropNone, scopeSession, rvNoKey},
	} {
		m := newModel()
		m.in[tokAuth], m.drop[tokAuth] = c.in, c.drop
		got := m.allowed(signAuth, c.scope)
		if got[0] != c.want {
			t.Errorf("%s: allowed %v, want first %s", c.name, got, c.want)
		}
	}
	if got := (drop(dropMust)).after(effReverify); got != dropMaybe {
		t.Errorf("another program's login after a reset: drop %d, want maybe", got)
	}
}

// TestCoexistPairs: every (OpenSC op, our op) pair runs in both orders,
// and in each an OpenSC step follows a step of ours.
func TestCoexistPairs(t *testing.T) {
	seen := map[[2]op]int{}
	for _, sc := range coexist(0, 0, 1) {
		x, y := sc.ops[0], sc.ops[1]
		if sc.actors[0] == kOurs {
			x, y = y, x
		}
		seen[[2]op{x, y}]++
		oursSeen, followed := false, false
		for _, st := range sc.steps {
			k := sc.actors[st.actor]
			followed = followed || (oursSeen && k == kOpenSCProc)
			oursSeen = oursSeen || k == kOurs
		}
		if !followed {
			t.Errorf("%s: no OpenSC step after a step of ours", sc.name)
		}
	}
	for _, x := range coexistOpenSC {
		for _, y := range coexistOurs {
			if seen[[2]op{x, y}] != 2 {
				t.Errorf("OpenSC %s × ours %s: %d orders, want 2", x, y, seen[[2]op{x, y}])
			}
		}
	}
}

// TestOpenSCForgot: only an auth signature that OpenSC cannot verify
// again (no cached PIN) may answer CKR_USER_NOT_LOGGED_IN where alone it
// signed; anything else must match the answer alone.
func TestOpenSCForgot(t *testing.T) {
	signAuth := step{prim: p(verbSign, tokAuth), alone: rvOK}
	for _, c := range []struct {
		name   string
		steps  []prim // OpenSC's steps before, all answered CKR_OK
		st     step
		rv     string
		excuse bool
	}{
		{"logged out of the sign token since the auth login", []prim{login(tokAuth, pinGood), p(verbLogout, tokSign)}, signAuth, rvNotLoggedIn, true},
		{"auth PIN cached", []prim{login(tokAuth, pinGood)}, signAuth, rvNotLoggedIn, false},
		{"logged in again after the logout", []prim{p(verbLogout, tokSign), login(tokAuth, pinGood)}, signAuth, rvNotLoggedIn, false},
		{"a general error is never excused", []prim{p(verbLogout, tokSign)}, signAuth, rvGeneralError, false},
		{"the sign key verifies at every signature", []prim{p(verbLogout, tokAuth)}, step{prim: p(verbSign, tokSign), alone: rvOK}, rvNotLoggedIn, false},
	} {
		v := newOpenSCView()
		for _, pr := range c.steps {
			v.after(kOpenSCProc, step{prim: pr}, rvOK, scopeDefault)
		}
		if got := v.judge(c.st, c.rv) == ""; got != c.excuse {
			t.Errorf("%s: excused %v, want %v", c.name, got, c.excuse)
		}
	}
}
