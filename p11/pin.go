package p11

import (
	"fmt"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// PIN length limits of the two tokens, as reported in CK_TOKEN_INFO.
const (
	authPINLen    = 4
	signPINMinLen = 6
	signPINMaxLen = 16
)

// checkPIN applies the token's PIN policy before anything reaches the
// card and returns the bytes to send. The authentication PIN must be
// exactly four ASCII digits. The signature password must be 6–16
// characters of A–Z and 0–9; lower-case letters are upper-cased because
// the card stores the password in upper case and a lower-case attempt
// would only burn a try. Wrong lengths (including a missing PIN: there is
// no protected authentication path) give CKR_PIN_LEN_RANGE, other
// characters CKR_PIN_INVALID (a *pinFormatError). Errors never contain
// the PIN.
func checkPIN(k tokenKind, pin []byte) ([]byte, error) {
	bad := func(rv uint, format string, args ...any) error {
		return &pinFormatError{why: fmt.Sprintf(format, args...), rv: rv}
	}
	switch k {
	case authToken:
		if len(pin) != authPINLen {
			return nil, bad(ck.CKR_PIN_LEN_RANGE, "the authentication PIN has %d characters, it must have exactly %d digits", len(pin), authPINLen)
		}
		for _, b := range pin {
			if b < '0' || b > '9' {
				return nil, bad(ck.CKR_PIN_INVALID, "the authentication PIN must be 4 digits 0-9")
			}
		}
		return append([]byte(nil), pin...), nil
	case signToken:
		if len(pin) < signPINMinLen || len(pin) > signPINMaxLen {
			return nil, bad(ck.CKR_PIN_LEN_RANGE, "the signature password has %d characters, it must have %d to %d", len(pin), signPINMinLen, signPINMaxLen)
		}
		out := make([]byte, len(pin))
		for i, b := range pin {
			switch {
			case b >= 'a' && b <= 'z':
				out[i] = b - 'a' + 'A'
			case b >= 'A' && b <= 'Z', b >= '0' && b <= '9':
				out[i] = b
			default:
				clear(out)
				return nil, bad(ck.CKR_PIN_INVALID, "the signature password may only contain letters A-Z and digits 0-9")
			}
		}
		return out, nil
	}
	return nil, ck.Error(ck.CKR_GENERAL_ERROR)
}

// CheckPIN applies the module's PIN policy for key k's token, without
// touching any card: it returns the bytes the module would send (the
// signature password upper-cased) or an error carrying CKR_PIN_LEN_RANGE
// or CKR_PIN_INVALID. Tools use it to refuse a malformed PIN before
// asking for confirmation.
func CheckPIN(k cardos.Key, pin []byte) ([]byte, error) { return checkPIN(k, pin) }

// loginPINError turns checkPIN's error into C_Login's answer: always
// CKR_PIN_INCORRECT. PKCS#11 lists CKR_PIN_INCORRECT, not CKR_PIN_LEN_RANGE
// or CKR_PIN_INVALID, among C_Login's return values (base specification
// 3.0, §5.6.7; the two are C_InitPIN's and C_SetPIN's), and NSS asks for
// the PIN again only after CKR_PIN_INCORRECT (pk11_CheckPassword in
// lib/pk11wrap/pk11auth.c maps it to SECWouldBlock, every other code to a
// failure): Firefox ESR 153 gave up ("Secure Connection Failed") after
// CKR_PIN_LEN_RANGE and CKR_PIN_INVALID, Chromium 156 after
// CKR_PIN_INVALID (test/suites/firefox.sh and chromium.sh try each kind
// of malformed PIN: too short, too long, letters, empty; Chromium takes an
// empty PIN as Cancel and never calls C_Login). A malformed PIN cannot be the
// right one, so the answer is true. Nothing reaches the card, so no try
// is spent and the token's count-low flags stay as they are; the message
// (for the log) says what was wrong and that the card was not asked,
// never the PIN. C_SetPIN keeps checkPIN's codes.
func loginPINError(err error) error {
	why := err.Error()
	if pe, ok := err.(*pinFormatError); ok {
		why = pe.why
	}
	return fmt.Errorf("%s (not sent to the card, no try spent; answered as a wrong PIN so that the program asks again): %w", why, ck.Error(ck.CKR_PIN_INCORRECT))
}

// pinFormatError is a PIN refused by the token's policy: what is wrong
// (never the PIN) and the code C_SetPIN answers.
type pinFormatError struct {
	why string
	rv  uint
}

func (e *pinFormatError) Error() string { return e.why + ": " + ck.Error(e.rv).Error() }
func (e *pinFormatError) Unwrap() error { return ck.Error(e.rv) }
