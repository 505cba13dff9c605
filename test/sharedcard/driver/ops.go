package main

// op is one operation of the matrix.
type op int

const (
	opList op = iota
	opObjects
	opTokenInfo
	opLoginAuth
	opLoginSign
	opSignAuth
	opSignSign
	opLogout
	opChangePIN
	opClose
	opRawApplet // raw PC/SC client: SELECT another applet (GP ISD or the text AP)
	opRawEF     // raw PC/SC client: SELECT JPKI AP + one of its EFs
	opReset     // raw PC/SC client: reset the card
	numOps
)

var opNames = [numOps]string{"list", "objects", "tokeninfo", "login-auth", "login-sign", "sign-auth",
	"sign-sign", "logout", "change-pin", "close", "raw-applet", "raw-ef", "card-reset"}

func (o op) String() string { return opNames[o] }

// kind is a kind of program.
type kind int

const (
	kOurs       kind = iota // a long-lived process of our module (p11prog)
	kTool                   // pkcs11-tool with our module, one process per command
	kOpenSC                 // pkcs11-tool with OpenSC's module (slow to load: only a few)
	kRaw                    // a raw PC/SC client
	kOpenSCProc             // a long-lived process of OpenSC's module (p11prog -module opensc-pkcs11.so)
)

var kindNames = map[kind]string{kOurs: "ours", kTool: "pkcs11-tool", kOpenSC: "pkcs11-tool+opensc", kRaw: "raw", kOpenSCProc: "opensc"}

func (k kind) String() string { return kindNames[k] }

// ourModule reports whether the kind runs our module (its steps are
// followed by the no-PIN window probe).
func (k kind) ourModule() bool { return k == kOurs || k == kTool }

// longLived reports whether the kind is a p11prog process, which keeps
// its sessions and login from one step to the next.
func (k kind) longLived() bool { return k == kOurs || k == kOpenSCProc }

// kinds returns the kinds of program that can perform o, preferred first.
// The matrix rotates among them.
func (o op) kinds() []kind {
	switch o {
	case opRawApplet, opRawEF, opReset:
		return []kind{kRaw}
	case opLogout, opClose:
		return []kind{kOurs} // pkcs11-tool has no separate logout or close
	}
	return []kind{kOurs, kTool}
}

// prim is one step's action: a command of one program.
type prim struct {
	verb    string // verbList ... verbReset
	tok     string // token, for the verbs that take one
	pin     string // PIN name for login (proto.PINGood / PINWrong)
	variant int    // which applet / EF / reset method / token (raw and tool)
}

// Verbs of prim.
const (
	verbList      = "list"
	verbTokenInfo = "tokeninfo"
	verbObjects   = "objects"
	verbLogin     = "login"
	verbSign      = "sign"
	verbLogout    = "logout"
	verbChangePIN = "changepin"
	verbClose     = "close"
	verbSession   = "sessioninfo"
	verbApplet    = "applet"
	verbEF        = "ef"
	verbReset     = "reset"
)

func p(verb, tok string) prim { return prim{verb: verb, tok: tok} }

func login(tok, pin string) prim { return prim{verb: verbLogin, tok: tok, pin: pin} }

// both returns verb on both tokens.
func both(verb string) []prim { return []prim{p(verb, tokAuth), p(verb, tokSign)} }

// prims is what a program of kind k does for o. variant picks the applet,
// EF, reset method or (for pkcs11-tool) the token where there is a choice.
func (o op) prims(k kind, variant int) []prim {
	tok := tokens[variant%2]
	switch o {
	case opList:
		return []prim{p(verbList, "")}
	case opTokenInfo:
		return []prim{p(verbTokenInfo, "")}
	case opObjects:
		if k.longLived() {
			return both(verbObjects)
		}
		return []prim{p(verbObjects, tok)}
	case opLoginAuth:
		return []prim{login(tokAuth, pinGood)}
	case opLoginSign:
		return []prim{login(tokSign, pinGood)}
	case opSignAuth:
		return []prim{p(verbSign, tokAuth)}
	case opSignSign:
		return []prim{p(verbSign, tokSign)}
	case opLogout:
		return both(verbLogout)
	case opChangePIN:
		if k.longLived() {
			return both(verbChangePIN)
		}
		return []prim{p(verbChangePIN, tok)}
	case opClose:
		return both(verbClose)
	case opRawApplet:
		return []prim{{verb: verbApplet, variant: variant}}
	case opRawEF:
		return []prim{{verb: verbEF, variant: variant}}
	case opReset:
		return []prim{{verb: verbReset, variant: variant}}
	}
	return nil
}

// setup is what a long-lived program does before o so that o means
// something (sign needs a login, logout and close need one).
func (o op) setup(k kind) []prim {
	if !k.longLived() {
		return nil
	}
	switch o {
	case opSignAuth:
		return []prim{login(tokAuth, pinGood)}
	case opSignSign:
		return []prim{login(tokSign, pinGood)}
	case opLogout, opClose:
		return []prim{login(tokAuth, pinGood), login(tokSign, pinGood)}
	}
	return nil
}

// followUp is what the program that did o does after the other programs'
// steps: the operation that depends on o (sign after login, login again
// after logout, ...) or o again.
func (o op) followUp(k kind, variant int) []prim {
	if !k.longLived() {
		return o.prims(k, variant+1)
	}
	switch o {
	case opLoginAuth:
		return []prim{p(verbSign, tokAuth)}
	case opLoginSign:
		return []prim{p(verbSign, tokSign)}
	case opLogout, opClose:
		return []prim{p(verbSign, tokAuth), login(tokAuth, pinGood), p(verbSign, tokAuth), p(verbSign, tokSign)}
	case opChangePIN:
		return []prim{login(tokAuth, pinGood), p(verbSign, tokAuth), login(tokSign, pinGood), p(verbSign, tokSign)}
	}
	return o.prims(k, variant+1)
}
