package main

import "slices"

// CK_RV names the suite accepts. Anything else fails the step; these three
// are called out as never acceptable for what another program can cause.
const (
	rvOK             = "CKR_OK"
	rvNotLoggedIn    = "CKR_USER_NOT_LOGGED_IN"
	rvAlreadyLogged  = "CKR_USER_ALREADY_LOGGED_IN"
	rvPINIncorrect   = "CKR_PIN_INCORRECT"
	rvNoKey          = "NO_KEY" // proto.RVNoKey: the private key is invisible while logged out
	rvDeviceError    = "CKR_DEVICE_ERROR"
	rvGeneralError   = "CKR_GENERAL_ERROR"
	rvFunctionFailed = "CKR_FUNCTION_FAILED"
)

var forbiddenRV = []string{rvDeviceError, rvGeneralError, rvFunctionFailed}

// Scopes: how long the module leaves the card verified.
const (
	scopeDefault = "default" // the module's default: verified only inside each of its transactions
	scopeSession = "session" // MYNA_PKCS11_{AUTH,SIGN}_PIN_SCOPE=session: verified while logged in
)

// drop is what other programs did to the card's verified state of a token
// since a long-lived program of ours logged in to it (only the session
// scope relies on that state).
type drop int

const (
	dropNone  drop = iota // nothing that can unverify the card
	dropMaybe             // something that may have (another program's logout, a process exit)
	dropMust              // something that certainly did (another applet selected, card reset, wrong PIN)
)

// effect is what one step does to the other programs' login on a token.
type effect int

const (
	effNone     effect = iota
	effMaybe           // may unverify the card
	effMust            // certainly unverifies it
	effReverify        // verifies the PIN again: a certain drop becomes uncertain
	effToolPIN         // a pkcs11-tool run that verified the PIN and then exited
)

func (d drop) after(e effect) drop {
	switch e {
	case effMaybe:
		return max(d, dropMaybe)
	case effMust:
		return dropMust
	case effReverify:
		if d == dropMust {
			return dropMaybe
		}
	case effToolPIN:
		return dropMaybe
	}
	return d
}

// actorModel is the suite's belief about one program of a scenario.
type actorModel struct {
	in   map[string]bool // logged in (PKCS#11 state of this application)
	drop map[string]drop
	// mayBeOut: the program logged out of (or closed) its other token,
	// which the module may apply to both tokens ("the card keeps no
	// separate PIN states"): this token may be logged out too.
	mayBeOut map[string]bool
}

func newModel() *actorModel {
	return &actorModel{in: map[string]bool{}, drop: map[string]drop{}, mayBeOut: map[string]bool{}}
}

// allowed returns the return codes acceptable for an ours step in scope.
func (m *actorModel) allowed(st step, scope string) []string {
	in, d := m.in[st.tok], m.drop[st.tok]
	if in && m.mayBeOut[st.tok] {
		switch st.verb {
		case verbLogin:
			return []string{rvAlreadyLogged, rvOK}
		case verbSign:
			return []string{rvOK, rvNotLoggedIn, rvNoKey}
		case verbLogout:
			return []string{rvOK, rvNotLoggedIn}
		}
	}
	switch st.verb {
	case verbLogin:
		switch {
		case in && d == dropNone:
			return []string{rvAlreadyLogged}
		case in:
			return []string{rvAlreadyLogged, rvOK}
		case st.pin == pinWrong:
			return []string{rvPINIncorrect}
		}
		return []string{rvOK}
	case verbSign:
		switch {
		case !in:
			return []string{rvNoKey, rvNotLoggedIn}
		case scope == scopeDefault || d == dropNone:
			return []string{rvOK}
		case d == dropMust:
			return []string{rvNotLoggedIn}
		}
		return []string{rvOK, rvNotLoggedIn}
	case verbLogout:
		switch {
		case !in:
			return []string{rvNotLoggedIn}
		case scope == scopeSession && d != dropNone:
			return []string{rvOK, rvNotLoggedIn}
		}
		return []string{rvOK}
	}
	return []string{rvOK}
}

// effects returns what a step of kind k (answered rv) does to the other
// programs' login on each token.
func effects(k kind, st step, rv, scope string) map[string]effect {
	e := map[string]effect{}
	set := func(tok string, x effect) { e[tok] = x }
	all := func(x effect) {
		for _, t := range tokens {
			set(t, x)
		}
	}
	switch k {
	case kRaw:
		if st.verb == verbApplet || st.verb == verbReset {
			all(effMust)
		}
	case kOpenSC, kOpenSCProc:
		all(effMaybe)
	case kTool:
		all(effMaybe)
		if rv == rvOK && (st.verb == verbLogin || st.verb == verbSign || st.verb == verbChangePIN) {
			set(st.tok, effToolPIN)
		}
	case kOurs:
		if scope == scopeDefault {
			all(effMaybe) // verifies and unverifies inside its transactions
		}
		switch {
		case st.verb == verbLogin && rv == rvPINIncorrect:
			set(st.tok, effMust)
		case st.verb == verbLogin && rv == rvOK && scope == scopeSession:
			set(st.tok, effReverify)
		case slices.Contains([]string{verbLogout, verbClose, verbChangePIN}, st.verb):
			all(effMaybe)
		}
	}
	return e
}

// verifies reports whether a successful step verified tok's PIN on the
// card (a correct VERIFY sets the retry counter back to its maximum).
func verifies(k kind, st step, rv, scope string) bool {
	if rv != rvOK {
		return false
	}
	switch st.verb {
	case verbLogin:
		return st.pin == pinGood
	case verbChangePIN:
		return true
	case verbSign:
		return k == kTool || (k == kOurs && scope == scopeDefault)
	}
	return false
}

// update applies the answer of the program's own step to its model.
func (m *actorModel) update(st step, rv string) {
	switch st.verb {
	case verbLogin:
		if rv == rvOK {
			m.in[st.tok], m.drop[st.tok], m.mayBeOut[st.tok] = true, dropNone, false
		}
	case verbSign:
		if rv == rvNotLoggedIn || rv == rvNoKey {
			m.in[st.tok] = false
		}
	case verbLogout, verbClose:
		m.in[st.tok] = false
		m.mayBeOut[other(st.tok)] = true
	}
}
