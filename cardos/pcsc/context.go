package pcsc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ebfe/scard"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
)

// Intervals of WaitChange: how long one GetStatusChange waits before the
// reader list is read again (a safety net for missed plug events), and how
// long to pause after an error before trying again.
const (
	waitSlice = 5 * time.Second
	waitRetry = 500 * time.Millisecond
)

// Context is a cardos.Context over PC/SC. It is safe for concurrent use.
type Context struct {
	mu     sync.Mutex
	sc     *scard.Context // for listing readers; nil until (re-)established
	closed bool
	track  *tracker
	waits  map[*scard.Context]context.CancelFunc // running WaitChange calls
}

var _ cardos.Context = (*Context)(nil)

// New returns a PC/SC Context. It succeeds when pcscd is not running:
// Readers then reports cardos.ErrNoService until the service is back.
func New() (*Context, error) {
	c := &Context{track: newTracker(), waits: map[*scard.Context]context.CancelFunc{}}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.context(); err != nil && !errors.Is(err, cardos.ErrNoService) {
		return nil, err
	}
	return c, nil
}

// context returns the listing context, establishing it when needed.
// c.mu is held.
func (c *Context) context() (*scard.Context, error) {
	if c.closed {
		return nil, ErrClosed
	}
	if c.sc == nil {
		sc, err := scard.EstablishContext()
		if err != nil {
			return nil, establishErr(err, false)
		}
		c.sc = sc
	}
	return c.sc, nil
}

// dropContext releases the listing context after err showed it unusable,
// so that the next call establishes a new one. c.mu is held.
func (c *Context) dropContext(err error) {
	if c.sc != nil && serviceGone(err) {
		c.sc.Release()
		c.sc = nil
	}
}

// Readers returns the attached readers sorted by name, with card presence
// and insert/remove counts.
func (c *Context) Readers() ([]cardos.ReaderStatus, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, err := c.readers()
	if err != nil {
		return nil, err
	}
	return c.track.update(st), nil
}

// readers reads the current state of every reader. c.mu is held.
func (c *Context) readers() ([]scard.ReaderState, error) {
	var err error
	for try := 0; try < 3; try++ {
		var sc *scard.Context
		if sc, err = c.context(); err != nil {
			return nil, err
		}
		var names []string
		names, err = sc.ListReaders()
		if is(err, scard.ErrNoReadersAvailable) {
			return nil, nil
		}
		if err != nil {
			c.dropContext(err)
			if serviceGone(err) && try == 0 {
				continue // a restarted pcscd: try once with a new context
			}
			return nil, wrap("list readers", err, false)
		}
		st := make([]scard.ReaderState, len(names))
		for i, n := range names {
			st[i] = scard.ReaderState{Reader: n, CurrentState: scard.StateUnaware}
		}
		err = sc.GetStatusChange(st, 0)
		if err == nil || is(err, scard.ErrTimeout) {
			return st, nil
		}
		c.dropContext(err)
		if !is(err, scard.ErrUnknownReader, scard.ErrReaderUnavailable) && !(serviceGone(err) && try == 0) {
			break
		}
		// A reader went away between the two calls, or pcscd restarted:
		// read the list again.
	}
	return nil, wrap("read reader states", err, false)
}

// Connect opens a shared connection (T=1 or T=0) to the card in the named
// reader, over a PC/SC context of its own.
func (c *Context) Connect(reader string) (cardos.Transport, error) {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	return connect(reader)
}

// WaitChange blocks until the readers or their cards differ from known
// (names, presence or event counts), then returns the new state. It
// watches plug and unplug through the \\?PnP?\Notification pseudo-reader
// and reads the list again every few seconds in case an event was missed.
// While pcscd is down it counts as having no readers. It returns ctx.Err()
// when ctx is done and ErrClosed when the Context is closed.
func (c *Context) WaitChange(ctx context.Context, known []cardos.ReaderStatus) ([]cardos.ReaderStatus, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil, ErrClosed
		}
		st, err := c.readers()
		var cur []cardos.ReaderStatus
		switch {
		case err == nil:
			cur = c.track.update(st)
		case errors.Is(err, cardos.ErrNoService):
			cur = c.track.update(nil)
		default:
			c.mu.Unlock()
			return nil, err
		}
		if !sameStatus(cur, known) {
			c.mu.Unlock()
			return cur, nil
		}
		wait := make([]scard.ReaderState, 0, len(st)+1)
		for _, rs := range st {
			wait = append(wait, scard.ReaderState{Reader: rs.Reader, CurrentState: c.track.lastState(rs.Reader)})
		}
		// pcsc-lite compares the high word of the PnP reader's current
		// state with the number of readers.
		wait = append(wait, scard.ReaderState{Reader: pnpReader, CurrentState: scard.StateFlag(len(st) << 16)})
		var wsc *scard.Context
		wctx, cancel := context.WithCancel(ctx)
		if err == nil {
			if wsc, err = scard.EstablishContext(); err == nil {
				c.waits[wsc] = cancel
			}
		}
		c.mu.Unlock()
		if wsc == nil {
			cancel()
			if err := sleep(ctx, waitRetry); err != nil {
				return nil, err
			}
			continue
		}
		err = c.block(wctx, wsc, wait)
		cancel()
		if err != nil && !is(err, scard.ErrTimeout, scard.ErrCancelled) {
			// Unknown reader, service stopped...: look again shortly.
			if err := sleep(ctx, waitRetry); err != nil {
				return nil, err
			}
		}
	}
}

// block runs one GetStatusChange on wsc, cancelled when ctx is done, and
// releases wsc. SCardCancel only wakes a call already waiting, so it is
// repeated until GetStatusChange returns.
func (c *Context) block(ctx context.Context, wsc *scard.Context, wait []scard.ReaderState) error {
	returned := make(chan struct{})
	cancelled := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(cancelled)
		for {
			wsc.Cancel()
			select {
			case <-returned:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
	err := wsc.GetStatusChange(wait, waitSlice)
	close(returned)
	if !stop() {
		<-cancelled
	}
	c.mu.Lock()
	delete(c.waits, wsc)
	c.mu.Unlock()
	wsc.Release()
	return err
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Close releases the Context and wakes every WaitChange, which returns
// ErrClosed. Cards connected through it stay connected until their own
// Close.
func (c *Context) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	for _, cancel := range c.waits {
		cancel()
	}
	if c.sc != nil {
		err := c.sc.Release()
		c.sc = nil
		if err != nil && !serviceGone(err) {
			return fmt.Errorf("pcsc: release context: %w", err)
		}
	}
	return nil
}
