package p11

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// logger writes diagnostic lines at the configured level (LogInfo,
// LogDebug, LogTrace) to the log file (appended) or else to stderr. It
// never receives PINs or the signature certificate: callers pass lengths
// and names only.
//
// A call traced at LogTrace holds the logger open (acquire/release), so
// that the line of a C_Finalize, which closes the log, is still written.
type logger struct {
	mu      sync.Mutex
	level   int
	w       io.Writer
	c       io.Closer
	holds   int  // calls being traced
	closing bool // close waits for holds to reach zero
}

// newLogger opens the log of level (LogOff for none) on path, or stderr
// when path is empty. An unusable log file falls back to stderr.
func newLogger(level int, path string) *logger {
	l := &logger{}
	if level <= LogOff {
		return l
	}
	l.level = level
	l.w = os.Stderr
	if path != "" {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err == nil {
			l.w, l.c = f, f
		} else {
			fmt.Fprintf(os.Stderr, "myna-pkcs11: cannot open the log file, logging to stderr: %v\n", err)
		}
	}
	return l
}

func (l *logger) enabled(level int) bool { return l != nil && l.level >= level }

func (l *logger) logf(level int, format string, args ...any) {
	if !l.enabled(level) {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "myna-pkcs11 %s "+format+"\n", append([]any{time.Now().Format("15:04:05.000")}, args...)...)
}

func (l *logger) infof(format string, args ...any)  { l.logf(LogInfo, format, args...) }
func (l *logger) debugf(format string, args ...any) { l.logf(LogDebug, format, args...) }

// acquire keeps the log open until release; it reports false (and holds
// nothing) when the level is below LogTrace or the log is closed.
func (l *logger) acquire() bool {
	if !l.enabled(LogTrace) {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closing && l.holds == 0 {
		return false
	}
	l.holds++
	return true
}

// release ends a hold taken by acquire, finishing a pending close.
func (l *logger) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.holds--
	if l.closing && l.holds == 0 {
		l.closeLocked()
	}
}

// close closes the log file once no traced call holds it; lines logged
// after that are dropped.
func (l *logger) close() {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closing = true
	if l.holds == 0 {
		l.closeLocked()
	}
}

func (l *logger) closeLocked() {
	if l.c != nil {
		l.c.Close()
		l.c = nil
	}
	l.w = io.Discard
}

// Trace is the log entry of one PKCS#11 call at LogTrace, started by
// Module.Trace. The C layer builds the line (function, decoded arguments,
// result) and writes it with End. A nil *Trace does nothing.
type Trace struct {
	l     *logger
	start time.Time
}

// Trace starts the entry of one PKCS#11 call when the module logs at
// LogTrace, and returns nil otherwise (tracing is then a nil check). The
// log stays open until End, even when the call is C_Finalize. For
// C_Initialize, which opens the log, call Trace after Module.Initialize
// and pass the call's start time to End.
func (m *Module) Trace() *Trace {
	m.mu.Lock()
	l := m.log
	m.mu.Unlock()
	if !l.acquire() {
		return nil
	}
	return &Trace{l: l, start: time.Now()}
}

// End writes the call's line — "call " and line, then how long the call
// took since Trace (or since start when it is not zero) — and releases
// the log. line must hold no PIN, data to sign or signature-certificate
// content. End may be called once.
func (t *Trace) End(start time.Time, line string) {
	if t == nil || t.l == nil {
		return
	}
	if start.IsZero() {
		start = t.start
	}
	l := t.l
	t.l = nil
	l.logf(LogTrace, "call %s (%s)", line, roundDuration(time.Since(start)))
	l.release()
}

// roundDuration keeps three significant digits, so that log lines carry
// no long digit runs (which a test could mistake for a PIN).
func roundDuration(d time.Duration) time.Duration {
	for unit := time.Duration(1); unit < time.Hour; unit *= 10 {
		if d < 1000*unit {
			return d.Round(unit)
		}
	}
	return d.Round(time.Second)
}

// Infof and Debugf let the card layer log through the module's logger
// (cardos.Logger).
func (l *logger) Infof(format string, args ...any)  { l.infof(format, args...) }
func (l *logger) Debugf(format string, args ...any) { l.debugf(format, args...) }
