package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// cdp is a Chrome DevTools Protocol client over --remote-debugging-pipe:
// Chromium reads NUL-terminated JSON messages on its fd 3 and writes
// them on its fd 4.
type cdp struct {
	w       io.Writer
	mu      sync.Mutex
	nextID  int
	waiting map[int]chan cdpReply
	closed  chan struct{}
	err     error
}

// cdpReply is the answer to one command.
type cdpReply struct {
	ID     int             `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// newCDP starts reading Chromium's messages from r.
func newCDP(r io.Reader, w io.Writer) *cdp {
	c := &cdp{w: w, waiting: map[int]chan cdpReply{}, closed: make(chan struct{})}
	go c.read(r)
	return c
}

func (c *cdp) read(r io.Reader) {
	br := bufio.NewReader(r)
	for {
		msg, err := br.ReadBytes(0)
		if err != nil {
			c.mu.Lock()
			c.err = fmt.Errorf("DevTools pipe closed: %v", err)
			c.mu.Unlock()
			close(c.closed)
			return
		}
		var rep cdpReply
		if json.Unmarshal(msg[:len(msg)-1], &rep) != nil || rep.ID == 0 {
			continue // an event
		}
		c.mu.Lock()
		ch := c.waiting[rep.ID]
		delete(c.waiting, rep.ID)
		c.mu.Unlock()
		if ch != nil {
			ch <- rep
		}
	}
}

// send writes a command and returns the channel its reply comes on.
func (c *cdp) send(session, method string, params any) (<-chan cdpReply, error) {
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	ch := make(chan cdpReply, 1)
	c.waiting[id] = ch
	c.mu.Unlock()
	msg := map[string]any{"id": id, "method": method, "params": params}
	if session != "" {
		msg["sessionId"] = session
	}
	b, err := json.Marshal(msg)
	if err != nil {
		return nil, err
	}
	if _, err := c.w.Write(append(b, 0)); err != nil {
		return nil, fmt.Errorf("%s: %v", method, err)
	}
	return ch, nil
}

// call sends a command and waits for its reply, decoding the result into
// out (when not nil).
func (c *cdp) call(session, method string, params, out any, timeout time.Duration) error {
	ch, err := c.send(session, method, params)
	if err != nil {
		return err
	}
	select {
	case rep := <-ch:
		if rep.Error != nil {
			return fmt.Errorf("%s: %s (%d)", method, rep.Error.Message, rep.Error.Code)
		}
		if out != nil {
			return json.Unmarshal(rep.Result, out)
		}
		return nil
	case <-c.closed:
		return c.err
	case <-time.After(timeout):
		return fmt.Errorf("%s: %w", method, errTimeout)
	}
}

var errTimeout = errors.New("no answer in time")
