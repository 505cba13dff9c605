package p11

import (
	"fmt"

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
// characters CKR_PIN_INVALID. Errors never contain the PIN.
func checkPIN(k tokenKind, pin []byte) ([]byte, error) {
	switch k {
	case authToken:
		if len(pin) != authPINLen {
			return nil, fmt.Errorf("the authentication PIN has %d characters, it must have exactly %d digits: %w", len(pin), authPINLen, ck.Error(ck.CKR_PIN_LEN_RANGE))
		}
		for _, b := range pin {
			if b < '0' || b > '9' {
				return nil, fmt.Errorf("the authentication PIN must be 4 digits 0-9: %w", ck.Error(ck.CKR_PIN_INVALID))
			}
		}
		return append([]byte(nil), pin...), nil
	case signToken:
		if len(pin) < signPINMinLen || len(pin) > signPINMaxLen {
			return nil, fmt.Errorf("the signature password has %d characters, it must have %d to %d: %w", len(pin), signPINMinLen, signPINMaxLen, ck.Error(ck.CKR_PIN_LEN_RANGE))
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
				return nil, fmt.Errorf("the signature password may only contain letters A-Z and digits 0-9: %w", ck.Error(ck.CKR_PIN_INVALID))
			}
		}
		return out, nil
	}
	return nil, ck.Error(ck.CKR_GENERAL_ERROR)
}

// CheckPIN applies the module's PIN policy for the signature token (sign
// true) or the authentication token, without touching any card: it returns
// the bytes the module would send (the signature password upper-cased) or
// an error carrying CKR_PIN_LEN_RANGE or CKR_PIN_INVALID. Tools use it to
// refuse a malformed PIN before asking for confirmation.
func CheckPIN(sign bool, pin []byte) ([]byte, error) {
	if sign {
		return checkPIN(signToken, pin)
	}
	return checkPIN(authToken, pin)
}
