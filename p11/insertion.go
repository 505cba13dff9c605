package p11

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
)

// tokenKind says which of a card's two tokens a slot holds: the token of
// the authentication key (利用者証明用, 4-digit PIN) or of the signature
// key (署名用, 6–16 character password).
type tokenKind = cardos.Key

const (
	authToken = cardos.AuthKey
	signToken = cardos.SignKey
)

// insertion is the module's side of one card insertion: the card layer's
// credential (which owns everything learnt from the card), the number
// its object handles carry, and the attribute sets built from its public
// certificates. A swapped or re-inserted card is a new insertion.
type insertion struct {
	gen    uint64 // module-wide unique number of this insertion (object handles)
	reader string
	events uint64 // ReaderStatus.Events when the card was seen
	card   cardos.Credential
	log    *logger
	// ownSerial is the serial shown when the credential has none
	// readable without a PIN: random, this insertion's own.
	ownSerial string

	mu sync.Mutex
	// attrs caches the attribute sets of the public objects. The
	// signature token's objects are built afresh from the card layer,
	// which holds the signature certificate only while logged in.
	attrs map[objKind]attrSet
}

// newInsertionLocked makes the insertion of the card in reader r, seen
// with the event count events; the caller holds m.mu.
func (m *Module) newInsertionLocked(r *reader, events uint64) *insertion {
	m.nextGen++
	hold := map[cardos.Key]bool{
		cardos.AuthKey: m.cfg.AuthPINScope == ScopeOperation,
		cardos.SignKey: m.cfg.SignPINScope == ScopeOperation,
	}
	return &insertion{gen: m.nextGen, reader: r.name, events: events, log: m.log, ownSerial: randomSerial(),
		card: m.attach(m.ctx, cardos.CredentialOptions{Reader: r.name, Events: events, HoldPIN: hold, Log: m.log,
			Clock: func() time.Time { return now() }})}
}

// randomSerial returns 16 random hex digits.
func randomSerial() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// now is the clock the card layer's retry-counter cache goes by; tests
// move it.
var now = time.Now
