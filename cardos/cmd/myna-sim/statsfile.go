package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// FileStats is what --stats-file holds: the APDUs the served card answered
// since myna-sim started, rewritten (atomically) after every response, so
// that a benchmark can read it between two runs of a PKCS#11 client and
// take the difference.
type FileStats struct {
	// APDUs is the number of command APDUs answered.
	APDUs uint64 `json:"apdus"`
	// ByINS counts commands per instruction byte, keyed "A4", "B0", ...
	ByINS map[string]uint64 `json:"by_ins"`
	// Verifies counts VERIFY commands carrying a PIN (not retry queries).
	Verifies uint64 `json:"verifies"`
	// Signatures counts COMPUTE DIGITAL SIGNATURE commands answered 9000.
	Signatures uint64 `json:"signatures"`
}

// statsWriter is an io.Writer for sim.Options.Trace that counts the
// traced commands and responses into FileStats and writes them to a
// file after every response. It sees the same redacted trace as
// --trace (never a PIN); the card's own counters cannot be read from
// inside the trace callback because the card is locked there.
type statsWriter struct {
	path string
	tee  io.Writer // --trace output, or nil

	mu      sync.Mutex
	st      FileStats
	lastINS string
	partial []byte
	err     error
}

func newStatsWriter(path string, tee io.Writer) (*statsWriter, error) {
	w := &statsWriter{path: path, tee: tee, st: FileStats{ByINS: map[string]uint64{}}}
	if err := w.flush(); err != nil {
		return nil, fmt.Errorf("--stats-file: %w", err)
	}
	return w, nil
}

// Write consumes trace lines ("sim> CLA INS P1 P2 ...", "sim< ... SW").
func (w *statsWriter) Write(p []byte) (int, error) {
	if w.tee != nil {
		w.tee.Write(p)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		w.line(string(w.partial[:i]))
		w.partial = w.partial[i+1:]
	}
	return len(p), nil
}

func (w *statsWriter) line(l string) {
	switch {
	case strings.HasPrefix(l, "sim> "):
		f := strings.Fields(l[5:])
		if len(f) < 2 {
			return
		}
		w.st.APDUs++
		w.lastINS = strings.ToUpper(f[1])
		w.st.ByINS[w.lastINS]++
		if w.lastINS == "20" && strings.Contains(l, "redacted") {
			w.st.Verifies++
		}
	case strings.HasPrefix(l, "sim< "):
		f := strings.Fields(l[5:])
		if w.lastINS == "2A" && len(f) >= 2 && f[1] == "9000" {
			w.st.Signatures++
		}
		w.lastINS = ""
		if err := w.flush(); err != nil && w.err == nil {
			w.err = err
			fmt.Fprintf(os.Stderr, "myna-sim: --stats-file: %v\n", err)
		}
	}
}

// flush writes the counters to a temporary file and renames it over the
// stats file, so a reader never sees a half-written file.
func (w *statsWriter) flush() error {
	b, err := json.Marshal(w.st)
	if err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(w.path), "."+filepath.Base(w.path)+".tmp"+strconv.Itoa(os.Getpid()))
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, w.path)
}
