package cardos

import (
	"context"
	"errors"
)

// Errors reported by transports and contexts. Callers test them with
// errors.Is; implementations wrap them with detail.
var (
	// ErrNoCard means the reader holds no card.
	ErrNoCard = errors.New("cardos: no card in the reader")
	// ErrCardRemoved means the card was taken out during or since the
	// last conversation. The Transport is dead: connect again.
	ErrCardRemoved = errors.New("cardos: card removed")
	// ErrCardReset means another application (or a power cycle) reset the
	// card since this Transport last held it. Every PIN the card had
	// verified is forgotten and the selected applet is lost. The Transport
	// itself is still usable.
	ErrCardReset = errors.New("cardos: card was reset")
	// ErrReaderGone means the reader was unplugged or no longer exists.
	ErrReaderGone = errors.New("cardos: reader unavailable")
	// ErrNoService means the smart-card service (pcscd) is not reachable.
	ErrNoService = errors.New("cardos: smart-card service not available")
	// ErrAccessDenied means the smart-card service runs but refused this
	// program (pcsc-lite 2 asks polkit, which by default allows root and
	// the active local session only).
	ErrAccessDenied = errors.New("cardos: the smart-card service refused this program")
	// ErrTimeout means the card did not answer in time.
	ErrTimeout = errors.New("cardos: card did not answer in time")
	// ErrCommFailure means the card or reader answered something that is
	// not a well-formed response (too short, garbage, framing error).
	ErrCommFailure = errors.New("cardos: communication with the card failed")
)

// Transport is a connection to one card in one reader.
//
// A multi-APDU operation runs between Begin and End so that no other
// application can interleave its own commands. Transmit outside a
// transaction is allowed but not atomic.
type Transport interface {
	// Transmit sends one command APDU and returns the response APDU
	// (response data followed by SW1 SW2). It returns ErrCardRemoved,
	// ErrCardReset, ErrTimeout or ErrCommFailure (wrapped) on failure.
	Transmit(cmd []byte) ([]byte, error)
	// Begin starts an exclusive transaction. It returns an error wrapping
	// ErrCardReset when the card was reset since this Transport last held
	// it; the transaction is nevertheless held and End must be called.
	Begin() error
	// End ends the transaction. With reset set the card is reset as the
	// transaction ends, which drops every verified PIN.
	End(reset bool) error
	// Alive reports, without sending anything to the card, whether the
	// connection still stands: nil, or an error wrapping ErrCardRemoved,
	// ErrReaderGone or ErrNoService (the service restarted and forgot the
	// connection: connect again). A reset by another application is left
	// for Begin or Transmit to report.
	Alive() error
	// ATR returns the card's answer to reset.
	ATR() []byte
	// Close disconnects from the card, leaving it as it is.
	Close() error
}

// ReaderStatus describes one reader at one moment.
type ReaderStatus struct {
	// Name is the reader's name as the system reports it.
	Name string
	// Present reports whether a card is in the reader.
	Present bool
	// Events counts card insertions and removals seen in this reader since
	// the Context was opened; a changed count with Present still true means
	// the card was swapped.
	Events uint64
}

// Context lists readers and connects to cards. It is safe for concurrent
// use.
type Context interface {
	// Readers returns the readers attached now, in a stable order.
	Readers() ([]ReaderStatus, error)
	// Connect opens a shared connection to the card in the named reader.
	// It returns ErrNoCard or ErrReaderGone (wrapped) when it cannot.
	Connect(reader string) (Transport, error)
	// WaitChange blocks until the readers or their cards differ from
	// known, or until ctx is done (then it returns ctx.Err()). It returns
	// the new state.
	WaitChange(ctx context.Context, known []ReaderStatus) ([]ReaderStatus, error)
	// Close releases the Context and wakes every WaitChange with an error.
	Close() error
}
