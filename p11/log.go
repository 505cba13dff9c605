package p11

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"
)

// Log levels of MYNA_PKCS11_DEBUG.
const (
	logOff   = 0
	logInfo  = 1 // errors and notable events (card inserted, login refused)
	logDebug = 2 // every call that reaches the card
)

// logger writes diagnostic lines when MYNA_PKCS11_DEBUG is set: "1" for
// errors and events, "2" (or more) for details. Lines go to the file named
// by MYNA_PKCS11_LOG (appended) or else to stderr. It never receives PINs
// or the signature certificate: callers pass lengths and names only.
type logger struct {
	mu    sync.Mutex
	level int
	w     io.Writer
	c     io.Closer
}

// newLoggerFromEnv reads MYNA_PKCS11_DEBUG and MYNA_PKCS11_LOG. An unusable
// log file falls back to stderr.
func newLoggerFromEnv() *logger {
	l := &logger{}
	v := os.Getenv("MYNA_PKCS11_DEBUG")
	if v == "" {
		return l
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		n = logInfo // any non-numeric value turns logging on
	}
	if n <= 0 {
		return l
	}
	l.level = n
	l.w = os.Stderr
	if path := os.Getenv("MYNA_PKCS11_LOG"); path != "" {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err == nil {
			l.w, l.c = f, f
		} else {
			fmt.Fprintf(os.Stderr, "myna-pkcs11: cannot open MYNA_PKCS11_LOG, logging to stderr: %v\n", err)
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

func (l *logger) infof(format string, args ...any)  { l.logf(logInfo, format, args...) }
func (l *logger) debugf(format string, args ...any) { l.logf(logDebug, format, args...) }

func (l *logger) close() {
	if l == nil || l.c == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.c.Close()
	l.c = nil
	l.w = io.Discard
}
