package pcsc

import (
	"fmt"
	"sync"
	"time"

	"github.com/ebfe/scard"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
)

// Conn is a shared connection to the card in one reader; it implements
// cardos.Transport. It is safe for concurrent use.
type Conn struct {
	mu     sync.Mutex
	sc     *scard.Context // this connection's own PC/SC context
	card   *scard.Card
	reader string
	atr    []byte
	// ownReset is set by End(true): pcsc-lite may report the reset this
	// connection made itself as SCARD_W_RESET_CARD at the next call, which
	// must not look like another application's reset.
	ownReset bool
	// pendingReset records another application's reset not reported yet.
	pendingReset bool
	closed       bool
}

var _ cardos.Transport = (*Conn)(nil)

// connect opens reader's card over a new PC/SC context.
func connect(reader string) (*Conn, error) {
	sc, err := scard.EstablishContext()
	if err != nil {
		return nil, establishErr(err, true)
	}
	card, err := sc.Connect(reader, scard.ShareShared, scard.ProtocolT1|scard.ProtocolT0)
	if err != nil {
		sc.Release()
		return nil, wrap(fmt.Sprintf("connect to %q", reader), err, true)
	}
	c := &Conn{sc: sc, card: card, reader: reader}
	c.refreshATR()
	return c, nil
}

// refreshATR reads the card's ATR. c.mu is held (or c is not shared yet).
func (c *Conn) refreshATR() {
	if st, err := c.card.Status(); err == nil {
		c.atr = append([]byte(nil), st.Atr...)
	}
}

// Reader returns the name of the card's reader.
func (c *Conn) Reader() string { return c.reader }

// reconnect takes the connection back after pcsc-lite reported a reset,
// leaving the card as it is. c.mu is held.
func (c *Conn) reconnect(op string) error {
	if err := c.card.Reconnect(scard.ShareShared, scard.ProtocolT1|scard.ProtocolT0, scard.LeaveCard); err != nil {
		return wrap(op+": reconnect after reset", err, false)
	}
	c.refreshATR()
	return nil
}

// call runs f, one PC/SC call on the card. When pcsc-lite answers
// SCARD_W_RESET_CARD (the call did nothing), it reconnects leaving the card
// as it is and, when rerun is set or the reset was this connection's own
// End(true), runs f again. reset reports that another application (or a
// power cycle) reset the card; with rerun unset f is then not run, so no
// command reaches a card whose applet is gone. A reset that could not be
// reported because f failed is reported by the next call. c.mu is held.
func (c *Conn) call(op string, f func() error, rerun bool) (reset bool, err error) {
	own := c.ownReset
	c.ownReset = false
	if c.pendingReset && !rerun {
		c.pendingReset = false
		return true, nil
	}
	err = f()
	if is(err, scard.ErrResetCard) {
		if !own {
			c.pendingReset = true
		}
		if err := c.reconnect(op); err != nil {
			return false, err
		}
		if c.pendingReset && !rerun {
			c.pendingReset = false
			return true, nil
		}
		err = f()
	}
	if err != nil {
		return false, err
	}
	reset, c.pendingReset = c.pendingReset, false
	return reset, nil
}

// errReset is the error of an operation that found the card reset.
func errReset(op string) error {
	return fmt.Errorf("pcsc: %s: %w (reconnected; select the applet again)", op, cardos.ErrCardReset)
}

// Transmit sends one command APDU and returns the response APDU. When
// another application reset the card since the last call, it reconnects
// and returns an error wrapping cardos.ErrCardReset without sending the
// command: the caller must select its applet again.
func (c *Conn) Transmit(cmd []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	var rsp []byte
	reset, err := c.call("transmit", func() (err error) {
		rsp, err = c.card.Transmit(cmd)
		return err
	}, false)
	if err != nil {
		if !is(err, scard.ErrRemovedCard, scard.ErrNoSmartcard, scard.ErrResetCard) && !serviceGone(err) && c.cardLeft() {
			return nil, fmt.Errorf("pcsc: transmit: %w (%w)", cardos.ErrCardRemoved, err)
		}
		return nil, wrap("transmit", err, false)
	}
	if reset {
		return nil, errReset("transmit")
	}
	if len(rsp) < 2 && c.cardLeft() {
		// vpcd (and some readers) answer nothing at all when the card
		// left in the middle of the command.
		return nil, fmt.Errorf("pcsc: transmit: %d-byte answer: %w", len(rsp), cardos.ErrCardRemoved)
	}
	return rsp, nil
}

// settleTime bounds how long cardLeft waits for pcscd to notice a card
// that left: pcsc-lite polls a reader without card-event interrupts
// (vpcd, many contactless readers) every 400 ms (its
// PCSCLITE_STATUS_POLL_RATE).
const settleTime = time.Second

// cardLeft is asked after a transmit failed with anything but a removal,
// or brought back less than a status word:
// a card taken out in the middle of a command, or a phone moved out of
// the field, often shows first as a communication error, and the
// removal only at pcscd's next poll of the reader. It waits (at most
// settleTime, on this connection's own context; no command reaches the
// card) for the reader's state to settle and reports whether it holds no
// card. c.mu is held.
func (c *Conn) cardLeft() bool {
	st := []scard.ReaderState{{Reader: c.reader, CurrentState: scard.StateUnaware}}
	if err := c.sc.GetStatusChange(st, 0); err != nil {
		return false
	}
	if !present(st[0].EventState) {
		return true
	}
	st[0].CurrentState = st[0].EventState &^ scard.StateChanged
	if err := c.sc.GetStatusChange(st, settleTime); err != nil {
		return false // a time-out: the card stayed
	}
	return !present(st[0].EventState)
}

// Begin starts an exclusive transaction, waiting while another
// application holds one. When another application reset the card since
// the last call it reconnects, takes the transaction and returns an error
// wrapping cardos.ErrCardReset; End must then still be called.
func (c *Conn) Begin() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	reset, err := c.call("begin transaction", c.card.BeginTransaction, true)
	if err != nil {
		return wrap("begin transaction", err, false)
	}
	if reset {
		return errReset("begin transaction")
	}
	return nil
}

// End ends the transaction. With reset set the card is reset
// (SCARD_RESET_CARD), which drops every verified PIN; when no transaction
// is held the reset is still done, by reconnecting.
func (c *Conn) End(reset bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	disp := scard.LeaveCard
	if reset {
		disp = scard.ResetCard
	}
	foreign, err := c.call("end transaction", func() error { return c.card.EndTransaction(disp) }, true)
	if err != nil && reset && is(err, scard.ErrNotTransacted) {
		err = c.card.Reconnect(scard.ShareShared, scard.ProtocolT1|scard.ProtocolT0, scard.ResetCard)
	}
	if err != nil {
		return wrap("end transaction", err, false)
	}
	if reset {
		c.ownReset = true
		c.refreshATR()
	} else if foreign {
		c.pendingReset = true // report it at the next Begin or Transmit
	}
	return nil
}

// Alive asks pcsc-lite for the card's status (SCardStatus: no command
// reaches the card) and reports whether the connection still stands. A
// reset it reports is kept for the next Begin or Transmit, as call does.
func (c *Conn) Alive() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	_, err := c.card.Status()
	if is(err, scard.ErrResetCard) {
		if !c.ownReset {
			c.pendingReset = true
		}
		c.ownReset = false
		return c.reconnect("status")
	}
	return wrap("status", err, false)
}

// ATR returns the card's answer to reset.
func (c *Conn) ATR() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.atr...)
}

// Close disconnects from the card, leaving it as it is, and releases the
// connection's PC/SC context.
func (c *Conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	err := c.card.Disconnect(scard.LeaveCard)
	c.sc.Release()
	if err != nil && !is(err, scard.ErrRemovedCard, scard.ErrNoSmartcard, scard.ErrReaderUnavailable,
		scard.ErrUnknownReader, scard.ErrInvalidHandle, scard.ErrNoService, scard.ErrServiceStopped) {
		return wrap("disconnect", err, false)
	}
	return nil
}
