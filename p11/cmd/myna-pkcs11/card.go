package main

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/backend"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/mynacard"
)

// Advice printed with errors and warnings. Plain words: the people reading
// them own a card, not a smart-card manual.
const (
	lockedAdvice = "Only your municipal office can unlock it: take the card to the 市区町村の窓口 " +
		"(the residents' counter of your city, ward, town or village office). No software can unlock it."
	faceAuthAdvice = "No PIN of this card can be used: both read 0 tries left. This is what a face-authentication card " +
		"(顔認証マイナンバーカード) looks like: it has no PINs and no signature certificate, so its keys cannot be used on a " +
		"computer. If you did set PINs, both are locked instead. Either way, the 市区町村の窓口 can set new PINs."
	noSignCertAdvice = "This card holds no signature certificate (署名用電子証明書): cards of holders under 15 have none, " +
		"and it may not have been issued or may have been removed. The signature key cannot be used; " +
		"the 市区町村の窓口 can issue one."
	cardExpiryUnknown = "unknown: the card's own expiry date (有効期限) is not stored where it can be read " +
		"without the card-surface PIN; it is printed on the front of the card (for adults, usually the 10th " +
		"birthday after issue)"
	expiredAdvice = "The certificate has expired: it can no longer be used. A new one is issued at the 市区町村の窓口."
	renewAdvice   = "Renewal is open: take the card to the 市区町村の窓口 to get a new certificate."
)

// cardError carries an error and what the person can do about it.
type cardError struct {
	msg    string
	advice string
	err    error
}

func (e *cardError) Error() string { return e.msg }
func (e *cardError) Unwrap() error { return e.err }

// explain turns back-end and card errors into sentences with advice.
func explain(err error) *cardError {
	var ce *cardError
	switch {
	case errors.As(err, &ce):
		return ce
	case errors.Is(err, cardos.ErrNoService):
		advice := "Start it with: sudo systemctl start pcscd.socket (or run: sudo pcscd)."
		if _, serr := os.Stat("/usr/sbin/pcscd"); serr != nil {
			advice = "Install and start it with: sudo apt install pcscd && sudo systemctl start pcscd.socket."
		}
		return &cardError{msg: "the smart-card service pcscd is not running", advice: advice, err: err}
	case errors.Is(err, cardos.ErrAccessDenied):
		return &cardError{msg: "the smart-card service pcscd refused this program",
			advice: "pcscd runs but asks polkit who may use the reader (Debian 13 and later): root and the active local session are allowed. From an SSH login, cron or a service, add the polkit rule shown in the README.", err: err}
	case errors.Is(err, cardos.ErrNoCard):
		return &cardError{msg: "the reader holds no card", advice: "Insert the My Number Card (on a contactless reader, lay it flat on the reader and leave it there).", err: err}
	case errors.Is(err, cardos.ErrCardRemoved):
		return &cardError{msg: "the card was removed", advice: "Put the card back and leave it in (or on) the reader until the command ends.", err: err}
	case errors.Is(err, cardos.ErrReaderGone):
		return &cardError{msg: "the card reader was unplugged", advice: "Plug the reader in again.", err: err}
	case errors.Is(err, cardos.ErrTimeout), errors.Is(err, cardos.ErrCommFailure):
		return &cardError{msg: "the card did not answer properly: " + err.Error(), advice: "On a contactless reader, keep the card still and flat on the reader, then try again.", err: err}
	case errors.Is(err, cardos.ErrPINChangeUnconfirmed):
		return &cardError{msg: "the card answered that it changed the PIN, but then refused the new PIN: it did not store what was sent (one try was spent finding out)",
			advice: "Do not rely on the new PIN. Check the tries left with `myna-pkcs11 status` before you try the old PIN; if it is not accepted either, the 市区町村の窓口 can set a new one. Please report this card with `myna-pkcs11 diagnose`.", err: err}
	case errors.Is(err, cardos.ErrNotJPKI):
		return &cardError{msg: "the card is not a My Number Card (it has no JPKI applet)", err: err}
	}
	return &cardError{msg: err.Error(), err: err}
}

// errNoReader and errNoCard say that there is nothing to talk to.
var (
	errNoReader = &cardError{msg: "no card reader found",
		advice: "Plug in a PC/SC (CCID) smart-card reader. pcsc_scan (package pcsc-tools) shows what pcscd sees."}
	errNoCard = &cardError{msg: "no card in any reader",
		advice: "Insert the My Number Card (on a contactless reader, lay it flat on the reader and leave it there)."}
)

// backendName describes the back end the command uses.
func backendName() string {
	if p := os.Getenv(backend.EnvSim); p != "" {
		return "simulator (" + backend.EnvSim + "=" + p + ")"
	}
	return "PC/SC"
}

// openBackend opens the card back end and lists its readers.
func openBackend() (cardos.Context, []cardos.ReaderStatus, error) {
	ctx, err := backend.Open()
	if err != nil {
		return nil, nil, explain(err)
	}
	readers, err := ctx.Readers()
	if err != nil {
		ctx.Close()
		return nil, nil, explain(err)
	}
	return ctx, readers, nil
}

// pickReader returns the reader to use: name when given, else the only
// reader holding a card.
func pickReader(readers []cardos.ReaderStatus, name string) (string, error) {
	if len(readers) == 0 {
		return "", errNoReader
	}
	var withCard []string
	for _, r := range readers {
		if name != "" && r.Name == name {
			if !r.Present {
				return "", &cardError{msg: fmt.Sprintf("reader %q holds no card", name), advice: errNoCard.advice, err: cardos.ErrNoCard}
			}
			return name, nil
		}
		if r.Present {
			withCard = append(withCard, r.Name)
		}
	}
	if name != "" {
		return "", &cardError{msg: fmt.Sprintf("no reader named %q", name), advice: "Run 'myna-pkcs11 status' to see the reader names."}
	}
	switch len(withCard) {
	case 0:
		return "", errNoCard
	case 1:
		return withCard[0], nil
	}
	return "", &cardError{msg: fmt.Sprintf("%d readers hold a card", len(withCard)), advice: "Choose one with --reader NAME (see 'myna-pkcs11 status')."}
}

// pinState is the retry counter of one PIN, read without spending a try.
type pinState struct {
	TriesLeft int  `json:"tries_left"`
	MaxTries  int  `json:"max_tries"`
	Locked    bool `json:"locked"`
}

// Certificate states of a key.
const (
	certShown   = "shown"
	certHidden  = "protected" // the signature certificate: the card releases it only after the password
	certAbsent  = "absent"
	certUnknown = "unreadable"
)

// keyStatus is what status reports for one key.
type keyStatus struct {
	Key              string        `json:"key"` // "auth" or "sign"
	PIN              pinState      `json:"pin"`
	CertificateState string        `json:"certificate_state"`
	Certificate      *certSummary  `json:"certificate,omitempty"`
	CA               *certSummary  `json:"ca_certificate,omitempty"`
	Holder           []holderField `json:"holder,omitempty"`
	Notes            []string      `json:"notes,omitempty"`
}

// cardStatus is what status reports for one card.
type cardStatus struct {
	TokenName      string      `json:"token_name"`
	Kind           string      `json:"kind"`
	Credential     string      `json:"credential"` // Kind for people: "smartphone certificate (Android)"
	FaceAuth       bool        `json:"face_auth"`
	NoSignCert     bool        `json:"no_sign_cert"`
	Keys           []keyStatus `json:"keys"`
	CardExpiry     *string     `json:"card_expiry"`
	CardExpiryNote string      `json:"card_expiry_note"`
	Notes          []string    `json:"notes,omitempty"`
}

// key returns the status of key k.
func (c *cardStatus) key(k cardos.Key) *keyStatus {
	name := k.String()
	for i := range c.Keys {
		if c.Keys[i].Key == name {
			return &c.Keys[i]
		}
	}
	return nil
}

// keyNoun names a key's PIN for people.
func keyNoun(k cardos.Key) string {
	if k == cardos.SignKey {
		return "signature password (署名用パスワード)"
	}
	return "authentication PIN (利用者証明用暗証番号)"
}

// inspect reads everything status shows from the card in reader, without
// any PIN, through the card layer (mynacard.Card.Survey): token name,
// both retry counters (empty VERIFY, no try spent), the authentication
// and CA certificates, and whether a signature certificate exists. The
// signature certificate itself is never read.
func inspect(ctx cardos.Context, reader string, now time.Time) (*cardStatus, error) {
	card := mynacard.New(ctx, cardos.CredentialOptions{Reader: reader})
	defer card.Close()
	sv, err := card.Survey()
	if err != nil {
		return nil, explain(err)
	}
	st := &cardStatus{CardExpiryNote: cardExpiryUnknown, TokenName: sv.TokenName, Kind: kindName(sv.Kind), Credential: sv.Kind.String()}
	if sv.Kind == cardos.KindJuki {
		st.Notes = append(st.Notes, "This is a Juki card (住民基本台帳カード), not a My Number Card.")
	}
	for _, k := range cardos.Keys {
		n := sv.TriesLeft[k]
		st.Keys = append(st.Keys, keyStatus{Key: k.String(), PIN: pinState{TriesLeft: n, MaxTries: k.MaxTries(), Locked: n == 0}})
	}
	auth, sign := st.key(cardos.AuthKey), st.key(cardos.SignKey)
	switch sv.AuthCertState {
	case cardos.CertPresent:
		if c, perr := x509.ParseCertificate(sv.AuthCert); perr == nil {
			s := summarize(c, now, true)
			auth.Certificate, auth.CertificateState = &s, certShown
		} else {
			auth.CertificateState = certUnknown
			auth.Notes = append(auth.Notes, "The authentication certificate does not parse.")
		}
	case cardos.CertAbsent:
		auth.CertificateState = certAbsent
	default:
		auth.CertificateState = certUnknown
		auth.Notes = append(auth.Notes, "The card only shows the authentication certificate after the PIN (as smartphone JPKI does).")
	}
	for id, ks := range map[cardos.CertID]*keyStatus{cardos.AuthCACert: auth, cardos.SignCACert: sign} {
		if der := sv.CA[id]; der != nil {
			if c, perr := x509.ParseCertificate(der); perr == nil {
				s := summarize(c, now, false)
				ks.CA = &s
			}
		}
	}
	sign.CertificateState = certHidden
	if sv.SignCert == cardos.CertAbsent {
		sign.CertificateState = certAbsent
		st.NoSignCert = true
	}
	// Whether EF 0001 is empty can often only be learnt with the
	// password, which a face-authentication card does not have.
	st.FaceAuth = sv.FaceAuth
	addNotes(st, now)
	return st, nil
}

// kindName is the kind field of status --json.
func kindName(k cardos.Kind) string {
	switch k {
	case cardos.KindCard:
		return "my-number-card"
	case cardos.KindJuki:
		return "juki-card"
	case cardos.KindAndroid, cardos.KindIPhone:
		return "smartphone"
	}
	return "unknown"
}

// addNotes adds the plain-language notes for locked PINs, face-auth
// cards, cards without a signature certificate and certificate dates.
func addNotes(st *cardStatus, now time.Time) {
	if st.FaceAuth {
		st.Notes = append(st.Notes, faceAuthAdvice)
	} else if st.NoSignCert {
		st.Notes = append(st.Notes, noSignCertAdvice)
	}
	for i := range st.Keys {
		ks := &st.Keys[i]
		if ks.PIN.Locked && !st.FaceAuth && !(ks.Key == "sign" && st.NoSignCert) {
			ks.Notes = append(ks.Notes, "The "+keyNounByName(ks.Key)+" is LOCKED. "+lockedAdvice)
		} else if ks.PIN.TriesLeft == 1 && !ks.PIN.Locked {
			ks.Notes = append(ks.Notes, "Only ONE try is left: one more wrong "+keyNounByName(ks.Key)+" locks it, and "+
				"only the 市区町村の窓口 can unlock it.")
		}
		if c := ks.Certificate; c != nil && c.RenewalOpen != nil {
			switch {
			case c.Expired:
				ks.Notes = append(ks.Notes, expiredAdvice)
			case *c.RenewalOpen:
				ks.Notes = append(ks.Notes, renewAdvice)
			}
		}
	}
}

func keyNounByName(name string) string {
	if name == "sign" {
		return keyNoun(cardos.SignKey)
	}
	return keyNoun(cardos.AuthKey)
}
