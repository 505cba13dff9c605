package sim

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
)

// Reader is a simulated card reader that can hold one Card. Insert and
// Remove wake every Context watching it and ServeVPCD.
type Reader struct {
	name string

	mu       sync.Mutex
	card     *Card
	slot     uint64        // increments at every Insert and Remove
	events   uint64        // insertions and removals
	changed  chan struct{} // closed and replaced at every change
	gone     bool          // removed from its Context
	lock     chan struct{} // transaction lock: holds one token when free
	lockedBy *transport
}

// NewReader returns an empty reader with the given name.
func NewReader(name string) *Reader {
	r := &Reader{name: name, changed: make(chan struct{}), lock: make(chan struct{}, 1)}
	r.lock <- struct{}{}
	return r
}

// Name returns the reader's name.
func (r *Reader) Name() string { return r.name }

// Card returns the card in the reader, or nil.
func (r *Reader) Card() *Card {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.card
}

// Insert puts c into the reader (replacing any card) and powers it on.
func (r *Reader) Insert(c *Card) {
	c.mu.Lock()
	c.removed = false
	c.resetLocked()
	c.mu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.card = c
	r.slot++
	r.events++
	r.notifyLocked()
}

// Remove takes the card out. Open transports fail with
// cardos.ErrCardRemoved from now on.
func (r *Reader) Remove() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.removeLocked()
}

func (r *Reader) removeLocked() {
	if r.card == nil {
		return
	}
	r.card.mu.Lock()
	r.card.resetLocked()
	r.card.mu.Unlock()
	r.card = nil
	r.slot++
	r.events++
	r.notifyLocked()
}

// removeIfSlot removes the card if it is still the insertion slot
// describes (a fault removal racing with a new Insert does nothing).
func (r *Reader) removeIfSlot(slot uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.slot == slot {
		r.removeLocked()
	}
}

func (r *Reader) notifyLocked() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// current returns the card, its insertion slot and the change channel.
func (r *Reader) current() (*Card, uint64, chan struct{}, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.card, r.slot, r.changed, r.gone
}

// acquire takes the reader's transaction lock for t, or fails when ctx
// is done.
func (r *Reader) acquire(ctx context.Context, t *transport) error {
	select {
	case <-r.lock:
		r.mu.Lock()
		r.lockedBy = t
		r.mu.Unlock()
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *Reader) release() {
	r.mu.Lock()
	r.lockedBy = nil
	r.mu.Unlock()
	r.lock <- struct{}{}
}

// Context is an in-process cardos.Context over simulated readers.
type Context struct {
	mu      sync.Mutex
	readers []*Reader
	base    map[*Reader]uint64 // reader events when added (or the service started)
	changed chan struct{}      // closed and replaced when the reader list changes
	closed  chan struct{}
	once    sync.Once
	down    bool   // the service is stopped (StopService)
	epoch   uint64 // service starts: a transport of an older epoch is dead
}

var _ cardos.Context = (*Context)(nil)

// NewContext returns a Context listing the given readers in order.
func NewContext(readers ...*Reader) *Context {
	c := &Context{base: map[*Reader]uint64{}, changed: make(chan struct{}), closed: make(chan struct{})}
	for _, r := range readers {
		c.AddReader(r)
	}
	return c
}

// OpenContext opens the card of the state file at path (creating it with
// defaults if missing) in one reader named "Myna Simulator 00 00", as
// opt.Device.
func OpenContext(path string, opt Options) (*Context, error) {
	card, err := Open(path, opt)
	if err != nil {
		return nil, err
	}
	r := NewReader("Myna Simulator 00 00")
	r.Insert(card)
	return NewContext(r), nil
}

// AddReader plugs r in (appended to the list).
func (c *Context) AddReader(r *Reader) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r.mu.Lock()
	r.gone = false
	c.base[r] = r.events
	r.mu.Unlock()
	c.readers = append(c.readers, r)
	c.notifyLocked()
}

// RemoveReader unplugs the reader with the given name. Its transports
// fail with cardos.ErrReaderGone (and ErrCardRemoved).
func (c *Context) RemoveReader(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, r := range c.readers {
		if r.name == name {
			c.readers = append(c.readers[:i:i], c.readers[i+1:]...)
			delete(c.base, r)
			r.mu.Lock()
			r.gone = true
			r.notifyLocked()
			r.mu.Unlock()
			c.notifyLocked()
			return
		}
	}
}

func (c *Context) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *Context) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

var (
	errClosed      = fmt.Errorf("sim: context closed: %w", cardos.ErrNoService)
	errServiceDown = fmt.Errorf("sim: the smart-card service is stopped: %w", cardos.ErrNoService)
	errStaleHandle = fmt.Errorf("sim: the smart-card service restarted and forgot this connection (invalid handle): %w", cardos.ErrNoService)
)

// StopService stops the simulated smart-card service, as when pcscd is
// stopped, upgraded or crashes: Readers and Connect fail with
// cardos.ErrNoService, and every transport connected so far is dead for
// good (it answers ErrNoService, as an invalid handle does). Cards may be
// inserted and removed while it is stopped; no one sees it.
func (c *Context) StopService() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.down = true
	c.epoch++
	c.notifyLocked()
}

// StartService starts the service again: it counts insertions and
// removals afresh, so a reader's Events can repeat the count seen before
// the stop whatever card it holds now, and it powers up every card in a
// reader (a power cycle: security states cleared), as a new pcscd does.
func (c *Context) StartService() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.down = false
	for _, r := range c.readers {
		r.mu.Lock()
		c.base[r] = r.events
		if r.card != nil {
			r.card.Reset()
		}
		r.mu.Unlock()
	}
	c.notifyLocked()
}

// serviceErr reports why the Context cannot serve now, or nil.
func (c *Context) serviceErr() error {
	if c.isClosed() {
		return errClosed
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return errServiceDown
	}
	return nil
}

// current reports whether a transport of epoch still stands.
func (c *Context) current(epoch uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.down && c.epoch == epoch
}

// Readers lists the readers with their card presence.
func (c *Context) Readers() ([]cardos.ReaderStatus, error) {
	if err := c.serviceErr(); err != nil {
		return nil, err
	}
	st, _, _ := c.snapshot()
	return st, nil
}

// snapshot returns the reader states and the channels to wait on.
func (c *Context) snapshot() ([]cardos.ReaderStatus, []chan struct{}, chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := make([]cardos.ReaderStatus, 0, len(c.readers))
	chans := make([]chan struct{}, 0, len(c.readers))
	for _, r := range c.readers {
		r.mu.Lock()
		st = append(st, cardos.ReaderStatus{Name: r.name, Present: r.card != nil, Events: r.events - c.base[r]})
		chans = append(chans, r.changed)
		r.mu.Unlock()
	}
	return st, chans, c.changed
}

func (c *Context) reader(name string) *Reader {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.readers {
		if r.name == name {
			return r
		}
	}
	return nil
}

// Connect opens a shared connection to the card in the named reader.
func (c *Context) Connect(reader string) (cardos.Transport, error) {
	if err := c.serviceErr(); err != nil {
		return nil, err
	}
	r := c.reader(reader)
	if r == nil {
		return nil, fmt.Errorf("sim: no reader %q: %w", reader, cardos.ErrReaderGone)
	}
	card, slot, _, _ := r.current()
	if card == nil {
		return nil, fmt.Errorf("sim: reader %q: %w", reader, cardos.ErrNoCard)
	}
	c.mu.Lock()
	epoch := c.epoch
	c.mu.Unlock()
	return &transport{ctx: c, epoch: epoch, r: r, card: card, slot: slot, gen: card.generation()}, nil
}

// WaitChange blocks until the readers differ from known, ctx is done or
// the Context is closed.
func (c *Context) WaitChange(ctx context.Context, known []cardos.ReaderStatus) ([]cardos.ReaderStatus, error) {
	for {
		if c.isClosed() {
			return nil, errClosed
		}
		st, chans, listChanged := c.snapshot()
		if c.serviceErr() != nil {
			st = []cardos.ReaderStatus{} // a stopped service lists no reader
		}
		if !sameStatus(st, known) {
			return st, nil
		}
		// Wake on any reader change, list change, close or ctx.
		wake := make(chan struct{})
		stop := make(chan struct{})
		for _, ch := range chans {
			go func(ch chan struct{}) {
				select {
				case <-ch:
					select {
					case wake <- struct{}{}:
					case <-stop:
					}
				case <-stop:
				}
			}(ch)
		}
		select {
		case <-wake:
		case <-listChanged:
		case <-c.closed:
		case <-ctx.Done():
			close(stop)
			return nil, ctx.Err()
		}
		close(stop)
	}
}

func sameStatus(a, b []cardos.ReaderStatus) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Close releases the Context and wakes every WaitChange.
func (c *Context) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

// transport is one connection to the card in a reader.
type transport struct {
	ctx   *Context
	epoch uint64 // the service start it was connected in
	r     *Reader
	card  *Card
	slot  uint64 // insertion the transport was opened on

	mu     sync.Mutex
	gen    uint64 // card reset generation last seen
	held   bool   // in a transaction
	closed bool
}

var _ cardos.Transport = (*transport)(nil)

var errTransportClosed = errors.New("sim: transport closed: connect again")

// check returns an error when the card is no longer the one connected.
func (t *transport) check() error {
	if t.closed {
		return errTransportClosed
	}
	if !t.ctx.current(t.epoch) {
		return errStaleHandle
	}
	card, slot, _, gone := t.r.current()
	if gone {
		return fmt.Errorf("sim: reader %q unplugged: %w: %w", t.r.name, cardos.ErrReaderGone, cardos.ErrCardRemoved)
	}
	if card != t.card || slot != t.slot {
		return fmt.Errorf("sim: reader %q: %w", t.r.name, cardos.ErrCardRemoved)
	}
	return nil
}

// checkReset reports (once) a reset by someone else.
func (t *transport) checkReset() error {
	if g := t.card.generation(); g != t.gen {
		t.gen = g
		return fmt.Errorf("sim: reader %q: %w", t.r.name, cardos.ErrCardReset)
	}
	return nil
}

// Transmit sends one command. Outside a transaction it waits for other
// transactions on the reader to end.
func (t *transport) Transmit(cmd []byte) ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.check(); err != nil {
		return nil, err
	}
	if !t.held {
		if err := t.acquire(); err != nil {
			return nil, err
		}
		defer t.r.release()
		if err := t.check(); err != nil {
			return nil, err
		}
	}
	if err := t.checkReset(); err != nil {
		return nil, err
	}
	resp, ev := t.card.process(cmd)
	switch ev {
	case evRemoved:
		t.r.removeIfSlot(t.slot)
		return nil, fmt.Errorf("sim: reader %q: %w", t.r.name, cardos.ErrCardRemoved)
	case evReset:
		t.gen = t.card.generation()
		return nil, fmt.Errorf("sim: reader %q: card reset by another application: %w", t.r.name, cardos.ErrCardReset)
	case evSilent:
		time.Sleep(t.card.opt.timeout())
		return nil, fmt.Errorf("sim: reader %q: no answer in %v: %w", t.r.name, t.card.opt.timeout(), cardos.ErrTimeout)
	}
	if len(resp) < 2 {
		return nil, fmt.Errorf("sim: reader %q: %d-byte response: %w", t.r.name, len(resp), cardos.ErrCommFailure)
	}
	return resp, nil
}

// acquire takes the reader's transaction lock, giving up when the card
// or reader goes away while waiting.
func (t *transport) acquire() error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, _, changed, _ := t.r.current()
	go func() {
		select {
		case <-changed:
			cancel()
		case <-ctx.Done():
		}
	}()
	if err := t.r.acquire(ctx, t); err != nil {
		if cerr := t.check(); cerr != nil {
			return cerr
		}
		return err
	}
	return nil
}

// Begin starts an exclusive transaction.
func (t *transport) Begin() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.check(); err != nil {
		return err
	}
	if t.held {
		return errors.New("sim: transaction already begun on this transport")
	}
	if err := t.acquire(); err != nil {
		return err
	}
	if err := t.check(); err != nil {
		t.r.release()
		return err
	}
	t.held = true
	return t.checkReset()
}

// End ends the transaction, resetting the card if asked.
func (t *transport) End(reset bool) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.held {
		return errors.New("sim: End without Begin")
	}
	t.held = false
	defer t.r.release()
	if err := t.check(); err != nil {
		return err
	}
	if reset {
		t.card.Reset()
		t.gen = t.card.generation()
	}
	return nil
}

// Alive reports whether the connection still stands, without a command.
func (t *transport) Alive() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.check()
}

// ATR returns the card's answer to reset.
func (t *transport) ATR() []byte { return t.card.ATR() }

// Protocol returns the transmission protocol: every JPKI ATR announces
// T=1 only (cardos/jpki/FACTS.md §10.1).
func (t *transport) Protocol() string { return "T=1" }

// Close disconnects, ending a transaction still held.
func (t *transport) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil
	}
	t.closed = true
	if t.held {
		t.held = false
		t.r.release()
	}
	return nil
}
