package cardos

import (
	"errors"
	"fmt"
)

// Key names one of the two key pairs of a My Number credential, and the
// PIN that guards it. J-LIS documents both (公的個人認証サービス 利用者クライアントソフト,
// https://www.jpki.go.jp/): the user-authentication key (利用者証明用)
// behind a 4-digit PIN that locks after 3 wrong tries, and the
// digital-signature key (署名用) behind a 6–16 character password that
// locks after 5.
type Key int

// The two keys.
const (
	AuthKey Key = 1 // 利用者証明用
	SignKey Key = 2 // 署名用
)

// String names the key.
func (k Key) String() string {
	switch k {
	case AuthKey:
		return "authentication key"
	case SignKey:
		return "signature key"
	}
	return fmt.Sprintf("Key(%d)", int(k))
}

// Short is the key's one-word name for log lines: "auth" or "sign".
func (k Key) Short() string {
	if k == SignKey {
		return "sign"
	}
	return "auth"
}

// MaxTries returns the documented retry limit of the key's PIN: 3 for
// AuthKey, 5 for SignKey, 0 for an unknown key. A card may report its own
// (see Credential.State).
func (k Key) MaxTries() int {
	switch k {
	case AuthKey:
		return 3
	case SignKey:
		return 5
	}
	return 0
}

// Keys lists both keys, authentication first.
var Keys = []Key{AuthKey, SignKey}

// CertID names one of the four certificates of a My Number credential.
type CertID int

// The four certificates.
const (
	// AuthCert is the user-authentication certificate. It carries no
	// personal data; a card serves it without a PIN.
	AuthCert CertID = iota + 1
	// AuthCACert is the CA certificate that issued AuthCert.
	AuthCACert
	// SignCert is the digital-signature certificate. It carries the
	// holder's name, address, birth date and sex, and is readable only
	// after the signature password.
	SignCert
	// SignCACert is the CA certificate that issued SignCert.
	SignCACert
)

// String names the certificate.
func (id CertID) String() string {
	switch id {
	case AuthCert:
		return "authentication certificate"
	case AuthCACert:
		return "authentication CA certificate"
	case SignCert:
		return "signature certificate"
	case SignCACert:
		return "signature CA certificate"
	}
	return fmt.Sprintf("CertID(%d)", int(id))
}

// Errors of the credential, reported by the card layers above the
// transport (jpki, mynacard). Callers test them with errors.Is or
// errors.As; the status word behind them stays wrapped.
var (
	// ErrNotFound means the file is absent or empty (6A82, or an EF that
	// holds no certificate, as on cards without a signature certificate).
	ErrNotFound = errors.New("file not found or empty on the card")
	// ErrPINRequired means the operation needs the key's PIN verified
	// first (6982): the card is not, or no longer, logged in.
	ErrPINRequired = errors.New("PIN not verified (log in first)")
	// ErrPINLocked means the PIN is blocked (63C0, 6983 or 6984), or
	// known to be. Only the municipal office can unblock it.
	ErrPINLocked = errors.New("PIN is locked (it can only be reset at the municipal office)")
	// ErrBadPINLength means an empty or over-long PIN (or new PIN); it is
	// returned before anything reaches the card.
	ErrBadPINLength = errors.New("PIN length out of range")
	// ErrBadDataLength means signature input the card cannot take; it is
	// returned before anything reaches the card.
	ErrBadDataLength = errors.New("input length out of range")
	// ErrPINChangeUnconfirmed means the card answered 9000 to a PIN
	// change but then refused the new PIN: it stored something other
	// than what was sent, and neither the old nor the new PIN is known
	// to be valid.
	ErrPINChangeUnconfirmed = errors.New("the card accepted the PIN change but refuses the new PIN: it did not store what was sent")
)

// WrongPINError means the card rejected the PIN and still allows
// TriesLeft more attempts (63Cx, x > 0).
type WrongPINError struct {
	// TriesLeft is the number of attempts the card still allows.
	TriesLeft int
}

func (e *WrongPINError) Error() string {
	if e.TriesLeft == 1 {
		return "wrong PIN, 1 try left before the PIN locks"
	}
	return fmt.Sprintf("wrong PIN, %d tries left", e.TriesLeft)
}

// Gone reports whether err says the card or its reader is gone (or the
// card in the reader is not the one the caller stood for).
func Gone(err error) bool {
	return errors.Is(err, ErrCardRemoved) || errors.Is(err, ErrReaderGone) || errors.Is(err, ErrNoCard)
}
