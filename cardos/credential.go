package cardos

import (
	"crypto/x509"
	"errors"
	"fmt"
	"time"
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

// String names the key in one word for log lines: "auth" or "sign".
func (k Key) String() string {
	switch k {
	case AuthKey:
		return "auth"
	case SignKey:
		return "sign"
	}
	return fmt.Sprintf("Key(%d)", int(k))
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
	// ErrNotJPKI means the card has no JPKI applet: SELECT by AID was
	// refused with 6A82 (not found), 6A86 (wrong P1-P2), 6D00 or 6E00
	// (instruction or class not supported). Any other refusal (6Fxx,
	// 64xx, 65xx: a bad contact, a glitch) is a plain *apdu.Error, after
	// which the next look must try again.
	ErrNotJPKI = errors.New("the card has no JPKI applet (not a My Number Card?)")
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

// CertPresence is what is known about whether a certificate is on the
// credential.
type CertPresence int

const (
	CertUnknown CertPresence = iota // not yet known (the signature certificate needs the password)
	CertPresent
	CertAbsent // a card without signature certificate (holder under 15, face-authentication card)
)

// State is what a credential shows of one key without a PIN.
type State struct {
	// Serial identifies the credential: 16 hex digits derived from the
	// start of its authentication certificate; "" when that could not be
	// read without a PIN.
	Serial string
	// Kind is what kind of credential it is.
	Kind Kind
	// TriesLeft is the key's PIN retry counter.
	TriesLeft int
	// FullTries is the counter with every try left: as the card reported
	// it right after a successful VERIFY, or Key.MaxTries until then.
	FullTries int
	// SignCert says whether the signature certificate exists.
	SignCert CertPresence
}

// Logger receives the card layer's log lines. They never carry a PIN
// or the signature certificate's contents.
type Logger interface {
	Infof(format string, args ...any)
	Debugf(format string, args ...any)
}

// CredentialOptions configures one insertion.
type CredentialOptions struct {
	// Reader is the reader the credential is in.
	Reader string
	// Events is the reader's event count when the insertion was seen.
	Events uint64
	// HoldPIN says, per key, that a login keeps the PIN in locked memory
	// and verifies it again inside each transaction that needs it, the
	// card being left unverified at the end of each (PIN scope
	// operation); otherwise the card stays verified from the login to
	// the logout (PIN scope session).
	HoldPIN map[Key]bool
	// Log receives log lines; nil discards them.
	Log Logger
	// Clock is the clock of the retry-counter cache; nil is time.Now.
	Clock func() time.Time
}

// Credential is one insertion of a My Number credential (a card, or a
// phone's JPKI applet held to a reader): everything the module does
// with it, each operation one card conversation (one PC/SC transaction
// that selects what it needs), with the credential's errors above
// (ErrPINLocked, *WrongPINError, ErrPINRequired, ErrCardRemoved, ...).
// Nothing learnt from it crosses to another insertion: a card swapped
// or not proven the same after a reconnection reports ErrCardRemoved
// for good. All methods are safe for concurrent use.
type Credential interface {
	// Probe finds out, once, whether the card is a My Number credential
	// and reads its identity; later calls check the connection without
	// card traffic. It reports Found.
	Probe() bool
	// Found reports, without card traffic, whether the probe found a My
	// Number credential that is still there.
	Found() bool
	// Removed reports whether the credential is gone (taken out,
	// swapped, closed).
	Removed() bool
	// Close marks it gone and disconnects once the current conversation,
	// if any, is over.
	Close()

	// State returns what the credential shows of key k, reading what is
	// not known yet (the retry counter, whether a signature certificate
	// exists) in one conversation.
	State(k Key) (State, error)
	// InUse says that an application started to use key k (its first
	// session opened): a retry counter older than a few seconds is read
	// again at the next State.
	InUse(k Key)
	// SignCert reports, without card traffic, what is known about the
	// signature certificate.
	SignCert() CertPresence
	// Shows reports, without card traffic, whether certificate id is
	// known to exist (its start was read, and for SignCert the signature
	// key is logged in).
	Shows(id CertID) bool
	// Cert returns certificate id, reading it once per insertion (the
	// signature certificate once per login, and only while logged in).
	Cert(id CertID) ([]byte, *x509.Certificate, error)

	// LoggedIn reports whether key k is logged in.
	LoggedIn(k Key) bool
	// Login verifies key k's PIN (already checked for its format). With
	// again it verifies it once more without changing the login state
	// (CKU_CONTEXT_SPECIFIC). The caller's pin is cleared.
	Login(k Key, pin []byte, again bool) error
	// Logout logs both keys out (the card keeps no separate PIN states)
	// and makes the card forget its verified PINs.
	Logout(why string) error
	// LogoutIfUnused is Logout when key k is logged in and unused, asked
	// while no login can run, still reports true.
	LogoutIfUnused(k Key, unused func() bool, why string) error
	// LogoutAtExit logs out at process exit, without waiting for a
	// conversation in progress.
	LogoutAtExit()
	// ChangePIN verifies oldPIN, sets newPIN and confirms it. Both are
	// cleared.
	ChangePIN(k Key, oldPIN, newPIN []byte) error

	// CheckSignInput reports whether the card can sign n bytes of input
	// (ErrBadDataLength otherwise).
	CheckSignInput(n int) error
	// SignatureLen is the length of key k's signatures.
	SignatureLen(k Key) int
	// Sign has key k sign input (a DigestInfo; the card pads it).
	Sign(k Key, input []byte) ([]byte, error)
}

// Attach makes the Credential of the card in o.Reader over ctx. It does
// no card traffic.
type Attach func(ctx Context, o CredentialOptions) Credential

// Kind is what kind of My Number credential answers in the reader, as
// its JPKI token name (EF 0006) says.
type Kind int

const (
	KindUnknown Kind = iota // no JPKI applet, or a token name not listed
	KindCard                // a My Number Card
	KindJuki                // an old Juki card (住民基本台帳カード): not a My Number Card
	KindAndroid             // the Android smartphone credential (スマホ用電子証明書)
	KindIPhone              // the iPhone smartphone credential
)

// String names the kind for people.
func (k Kind) String() string {
	switch k {
	case KindCard:
		return "My Number Card"
	case KindJuki:
		return "Juki card (住基カード), not a My Number Card"
	case KindAndroid:
		return "smartphone certificate (Android)"
	case KindIPhone:
		return "smartphone certificate (iPhone)"
	}
	return "unknown JPKI token"
}

// Usable reports whether the module gives the kind its tokens.
func (k Kind) Usable() bool { return k == KindCard || k == KindAndroid || k == KindIPhone }
