package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// Marionette is a minimal client of Firefox's Marionette protocol (version 3):
// every message is "<decimal length>:<JSON>", a command is
// [0, id, name, params] and its reply [1, id, error, result].
//
// A reader goroutine routes replies to their callers by id, so a call that
// times out (Firefox's network thread is held while it waits for a token PIN)
// leaves the connection usable and its late reply is dropped.
type Marionette struct {
	conn net.Conn

	mu      sync.Mutex
	id      int
	waiting map[int]chan reply
	readErr error
	done    chan struct{}
}

type reply struct {
	err    json.RawMessage
	result json.RawMessage
}

// CommandError is the error object Marionette returns for a failed command.
type CommandError struct {
	Command string
	Code    string `json:"error"`
	Message string `json:"message"`
}

// Error implements error.
func (e *CommandError) Error() string {
	return fmt.Sprintf("marionette %s: %s: %s", e.Command, e.Code, e.Message)
}

// ErrTimeout is returned by Call when Firefox did not answer in time.
var ErrTimeout = errors.New("marionette: no reply in time")

// DialMarionette connects to Marionette on addr and reads its greeting.
func DialMarionette(addr string, timeout time.Duration) (*Marionette, error) {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, fmt.Errorf("connect to Marionette at %s: %w", addr, err)
	}
	m, err := newMarionette(conn, timeout)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return m, nil
}

// newMarionette reads the greeting on conn and starts the reader.
func newMarionette(conn net.Conn, timeout time.Duration) (*Marionette, error) {
	r := bufio.NewReader(conn)
	var hello struct {
		ApplicationType    string `json:"applicationType"`
		MarionetteProtocol int    `json:"marionetteProtocol"`
	}
	if err := conn.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	if err := readMessage(r, &hello); err != nil {
		return nil, fmt.Errorf("read the Marionette greeting: %w", err)
	}
	if hello.MarionetteProtocol != 3 {
		return nil, fmt.Errorf("marionette protocol %d from %q, want 3", hello.MarionetteProtocol, hello.ApplicationType)
	}
	if err := conn.SetReadDeadline(time.Time{}); err != nil {
		return nil, err
	}
	m := &Marionette{conn: conn, waiting: map[int]chan reply{}, done: make(chan struct{})}
	go m.readLoop(r)
	return m, nil
}

func (m *Marionette) readLoop(r *bufio.Reader) {
	defer close(m.done)
	for {
		var msg []json.RawMessage
		err := readMessage(r, &msg)
		if err == nil && len(msg) != 4 {
			err = fmt.Errorf("message with %d fields, want 4", len(msg))
		}
		var typ, id int
		if err == nil && (json.Unmarshal(msg[0], &typ) != nil || json.Unmarshal(msg[1], &id) != nil || typ != 1) {
			err = fmt.Errorf("malformed reply header %s,%s", msg[0], msg[1])
		}
		if err != nil {
			m.mu.Lock()
			m.readErr = err
			m.mu.Unlock()
			return
		}
		m.mu.Lock()
		ch := m.waiting[id]
		delete(m.waiting, id)
		m.mu.Unlock()
		if ch != nil {
			ch <- reply{msg[2], msg[3]}
		}
	}
}

// Close closes the connection.
func (m *Marionette) Close() error { return m.conn.Close() }

// Start sends a command without waiting for its reply (which is dropped).
func (m *Marionette) Start(name string, params any) error {
	_, err := m.send(name, params, false)
	return err
}

func (m *Marionette) send(name string, params any, wait bool) (chan reply, error) {
	if params == nil {
		params = map[string]any{}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.readErr != nil {
		return nil, fmt.Errorf("marionette connection: %w", m.readErr)
	}
	m.id++
	msg, err := json.Marshal([]any{0, m.id, name, params})
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", name, err)
	}
	var ch chan reply
	if wait {
		ch = make(chan reply, 1)
		m.waiting[m.id] = ch
	}
	if err := m.conn.SetWriteDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return nil, err
	}
	if _, err := fmt.Fprintf(m.conn, "%d:%s", len(msg), msg); err != nil {
		return nil, fmt.Errorf("send %s: %w", name, err)
	}
	return ch, nil
}

// Call sends command name with params and decodes its result into out (which
// may be nil), waiting at most timeout. A command Firefox refuses comes back
// as a *CommandError; no answer in time as ErrTimeout.
func (m *Marionette) Call(name string, params, out any, timeout time.Duration) error {
	ch, err := m.send(name, params, true)
	if err != nil {
		return err
	}
	var rep reply
	select {
	case rep = <-ch:
	case <-m.done:
		m.mu.Lock()
		err := m.readErr
		m.mu.Unlock()
		return fmt.Errorf("%s: marionette connection: %w", name, err)
	case <-time.After(timeout):
		return fmt.Errorf("%s: %w", name, ErrTimeout)
	}
	if string(rep.err) != "null" {
		ce := &CommandError{Command: name}
		if err := json.Unmarshal(rep.err, ce); err != nil {
			return fmt.Errorf("reply to %s: error %s", name, rep.err)
		}
		return ce
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(rep.result, out); err != nil {
		return fmt.Errorf("decode the result of %s: %w", name, err)
	}
	return nil
}

// readMessage decodes one length-prefixed JSON message into v.
func readMessage(r *bufio.Reader, v any) error {
	head, err := r.ReadString(':')
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(head[:len(head)-1])
	if err != nil || n < 0 || n > 64<<20 {
		return fmt.Errorf("bad message length %q", head)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("decode %q: %w", truncate(string(body), 200), err)
	}
	return nil
}

// Script runs JavaScript in the current context (a returned Promise is
// awaited) with args as its arguments and decodes its value into out.
func (m *Marionette) Script(js string, out any, timeout time.Duration, args ...any) error {
	var res struct {
		Value json.RawMessage `json:"value"`
	}
	if args == nil {
		args = []any{}
	}
	if err := m.Call("WebDriver:ExecuteScript", map[string]any{"script": js, "args": args}, &res, timeout); err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(res.Value, out)
}

// SetContext switches between the "content" and the "chrome" context.
func (m *Marionette) SetContext(ctx string, timeout time.Duration) error {
	return m.Call("Marionette:SetContext", map[string]any{"value": ctx}, nil, timeout)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
