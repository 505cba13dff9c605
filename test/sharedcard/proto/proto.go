// Package proto is the line protocol between the shared-card driver
// (test/sharedcard/driver) and the long-lived module programs it starts
// (test/sharedcard/p11prog).
//
// The driver writes one command per line on the program's stdin; the
// program answers each with exactly one JSON line (an Answer) on stdout,
// so the driver can interleave several programs step by step and wait on
// explicit answers instead of sleeping. PINs never travel in the protocol:
// a command names a PIN (good, alt, wrong) and the program takes the
// values from its environment.
package proto

import (
	"fmt"
	"strings"
)

// Commands understood by p11prog. Arguments follow the command name,
// separated by single spaces. TOKEN is "auth" or "sign"; PINNAME is one
// of the PIN names below.
const (
	CmdList        = "list"        // C_GetSlotList(present): N = slots holding our two tokens
	CmdTokenInfo   = "tokeninfo"   // C_GetTokenInfo on both tokens (Serials: their serial numbers)
	CmdObjects     = "objects"     // objects TOKEN: C_FindObjects* in the token's last session (opened if none)
	CmdLogin       = "login"       // login TOKEN PINNAME: C_Login(CKU_USER) in the last session (opened if none)
	CmdSign        = "sign"        // sign TOKEN HEXMSG: CKM_SHA256_RSA_PKCS with the token's private key
	CmdLogout      = "logout"      // logout TOKEN: C_Logout in the last session
	CmdChangePIN   = "changepin"   // changepin TOKEN: C_SetPIN good→alt, then alt→good
	CmdOpen        = "open"        // open TOKEN: C_OpenSession (R/W), which becomes the token's last session
	CmdClose       = "close"       // close TOKEN: C_CloseSession of the token's last session
	CmdSessionInfo = "sessioninfo" // sessioninfo TOKEN: C_GetSessionInfo of the last session
	CmdReset       = "reset"       // C_CloseAllSessions on both tokens (the driver's clean slate)
	CmdReinit      = "reinit"      // C_Finalize + C_Initialize (after a failure in this program)
	CmdQuit        = "quit"        // C_Finalize and exit
	CmdExit        = "exit"        // os.Exit(0) at once: no C_Finalize, no answer (a Go program's exit runs no C library destructor)
)

// Tokens.
const (
	TokenAuth = "auth"
	TokenSign = "sign"
)

// PIN names: the values come from the environment variables below.
const (
	PINGood  = "good"  // the card's PIN
	PINAlt   = "alt"   // the temporary PIN of changepin
	PINWrong = "wrong" // a well-formed wrong PIN (spends exactly one try)
)

// Environment variables holding the PIN values, per token and name, e.g.
// MYNA_TEST_AUTH_PIN_GOOD.
func PINEnv(token, name string) string {
	return fmt.Sprintf("MYNA_TEST_%s_PIN_%s", strings.ToUpper(token), strings.ToUpper(name))
}

// RVNoKey is the RV of a sign that found no private key with the token's
// CKA_ID: the key is a private object, invisible while not logged in.
const RVNoKey = "NO_KEY"

// Answer is the one JSON line a program writes per command.
type Answer struct {
	// RV is the CK_RV name of the call that decided the answer
	// ("CKR_OK", "CKR_USER_NOT_LOGGED_IN", ...); for changepin the first
	// failing C_SetPIN.
	RV string `json:"rv"`
	// Call names the PKCS#11 function that returned RV.
	Call string `json:"call,omitempty"`
	// Sig is the hex signature of a successful sign.
	Sig string `json:"sig,omitempty"`
	// State is the CKS_ name of C_GetSessionInfo's state (sessioninfo).
	State string `json:"state,omitempty"`
	// N is a count: slots (list), objects (objects).
	N int `json:"n,omitempty"`
	// Serials maps each token to its CK_TOKEN_INFO serialNumber,
	// trailing blanks removed (tokeninfo).
	Serials map[string]string `json:"serials,omitempty"`
	// Objects lists "CLASS:ID" (hex CKA_ID) of the objects found (objects).
	Objects []string `json:"objects,omitempty"`
	// Err is a protocol or program error (not a CK_RV): unknown
	// command, token not found. The driver fails the step on it.
	Err string `json:"err,omitempty"`
}
