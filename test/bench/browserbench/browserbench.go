// Package browserbench is what the two browser drivers (test/firefox/fxdriver
// and test/chromium/crdriver) share for the browser benchmark
// (test/bench/browsers.sh): the simulator's stats file (myna-sim
// --stats-file; test/bench/driver reads it too), its sampling once a
// minute while the browser sits idle, and the JSON lines of
// browser-dialog.jsonl and browser-idle.jsonl; and, for the browser suites
// too, the PIN file (ReadPINs).
package browserbench

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"
)

// Phases of an idle run, in order (the "phase" of an Idle line).
const (
	// PhaseStartup is the browser's start until the idle phase starts.
	PhaseStartup = "startup"
	// PhaseNotLoggedIn is the browser open on a page that asks for no
	// client certificate.
	PhaseNotLoggedIn = "not-logged-in"
	// PhaseLogin is the client-authentication login (navigation, PIN
	// dialog, page loaded).
	PhaseLogin = "login"
	// PhaseLoggedIn is the browser open on the client-authentication page
	// after the login.
	PhaseLoggedIn = "logged-in"
)

// Stats is what myna-sim --stats-file holds: counters since the simulator
// started, rewritten after every APDU.
type Stats struct {
	// APDUs is the number of command APDUs the card answered.
	APDUs uint64 `json:"apdus"`
	// ByINS counts the commands per instruction byte ("A4", "B0", ...).
	ByINS map[string]uint64 `json:"by_ins"`
	// Verifies counts VERIFY commands carrying a PIN.
	Verifies uint64 `json:"verifies"`
	// Signatures counts the signatures the card made.
	Signatures uint64 `json:"signatures"`
}

// ReadStats reads a stats file.
func ReadStats(path string) (Stats, error) {
	var st Stats
	b, err := os.ReadFile(path)
	if err != nil {
		return st, fmt.Errorf("read the simulator's stats file: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("decode the simulator's stats file %s: %w", path, err)
	}
	return st, nil
}

// Sub returns the counts of s since before (s taken later); ByINS keeps
// only the instructions that moved, and is never nil.
func (s Stats) Sub(before Stats) Stats {
	d := Stats{APDUs: s.APDUs - before.APDUs, Verifies: s.Verifies - before.Verifies,
		Signatures: s.Signatures - before.Signatures, ByINS: map[string]uint64{}}
	for ins, n := range s.ByINS {
		if n > before.ByINS[ins] {
			d.ByINS[ins] = n - before.ByINS[ins]
		}
	}
	return d
}

// Dialog is one line of browser-dialog.jsonl: one run of a fresh browser
// and profile to the page behind client authentication.
type Dialog struct {
	Browser string `json:"browser"`
	Module  string `json:"module"`
	Round   int    `json:"round"`
	// ToDialogMs is the time from the navigation to the client-auth URL
	// until the PIN dialog is there.
	ToDialogMs float64 `json:"to_dialog_ms"`
	// ToFirstDialogMs is the time from the navigation until the first
	// password dialog of any token is there (another token's may come
	// first); equal to ToDialogMs when the PIN dialog is the first.
	ToFirstDialogMs float64 `json:"to_first_dialog_ms"`
	// ToPageMs is the time from the PIN's Enter until the page is loaded.
	ToPageMs float64 `json:"to_page_ms"`
	// Dialogs counts the PIN dialogs of the auth token.
	Dialogs int `json:"dialogs"`
	// OtherDialogs counts the password dialogs of other tokens the
	// browser showed in the same login (cancelled, or answered where
	// cancelling would fail the login); not counted in Dialogs.
	OtherDialogs int `json:"other_dialogs"`
	// APDUs is what the card answered during the run.
	APDUs uint64 `json:"apdus"`
}

// Info is one line of browser-info.jsonl.
type Info struct {
	Browser string `json:"browser"` // "firefox" or "chromium"
	Version string `json:"version"` // as the browser prints it
}

// Idle is one line of browser-idle.jsonl: the card traffic of one phase
// (or one minute of an idle phase) of a browser.
type Idle struct {
	Browser string            `json:"browser"`
	Module  string            `json:"module"`
	Phase   string            `json:"phase"`
	Minute  int               `json:"minute"`
	APDUs   uint64            `json:"apdus"`
	ByINS   map[string]uint64 `json:"by_ins"`
}

// Ms is d in milliseconds, to the microsecond.
func Ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// AppendLine appends v as one JSON line to the file at path.
func AppendLine(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Flags are the benchmark flags of a driver; without -dialog-out and
// -idle-out the driver does no benchmark.
type Flags struct {
	Browser, Module    string
	Round              int
	Stats, StatsBase   string
	DialogOut, IdleOut string
	IdleURL            string
	IdleMinutes        int
	IdleInterval       time.Duration
	// Ready is a file created when the startup phase ends (so that a
	// script can start the next browser then).
	Ready string
}

// Register adds the flags to fs, with browser as the default -bench-browser.
func (f *Flags) Register(fs *flag.FlagSet, browser string) {
	fs.StringVar(&f.Browser, "bench-browser", browser, "benchmark: the browser's name in the JSON lines")
	fs.StringVar(&f.Module, "bench-module", "", "benchmark: the module's name in the JSON lines (ours, opensc)")
	fs.IntVar(&f.Round, "bench-round", 1, "benchmark: the round number of a -dialog-out line")
	fs.StringVar(&f.Stats, "stats", "", "benchmark: the simulator's --stats-file of the card the browser uses")
	fs.StringVar(&f.StatsBase, "stats-base", "", "benchmark: a copy of the stats file taken before the browser started (default: the stats file when the driver starts)")
	fs.StringVar(&f.DialogOut, "dialog-out", "", "benchmark: append the time to the PIN dialog and to the page as a JSON line to `FILE`")
	fs.StringVar(&f.IdleOut, "idle-out", "", "benchmark: idle mode: sit -idle-minutes on -idle-url, log in, sit again, appending one JSON line per phase and minute to `FILE`")
	fs.StringVar(&f.IdleURL, "idle-url", "", "benchmark: https URL of a page that asks for no client certificate")
	fs.IntVar(&f.IdleMinutes, "idle-minutes", 5, "benchmark: minutes of each idle phase")
	fs.DurationVar(&f.IdleInterval, "idle-interval", time.Minute, "benchmark: length of one idle \"minute\" (shorter only to test the driver)")
	fs.StringVar(&f.Ready, "ready-file", "", "benchmark: file to create when the startup phase ends")
}

// Check reports a benchmark flag combination that cannot work.
func (f *Flags) Check() error {
	if f.DialogOut == "" && f.IdleOut == "" {
		return nil
	}
	if f.Stats == "" || f.Module == "" {
		return fmt.Errorf("-dialog-out and -idle-out need -stats and -bench-module")
	}
	if f.IdleOut != "" && (f.IdleURL == "" || f.IdleMinutes < 1) {
		return fmt.Errorf("-idle-out needs -idle-url and -idle-minutes of at least 1")
	}
	return nil
}

// Meter counts a card's APDUs interval by interval.
type Meter struct {
	path string
	last Stats
}

// NewMeter starts counting at base (a stats-file copy), or at the stats
// file's current contents when base is empty.
func NewMeter(path, base string) (*Meter, error) {
	if base == "" {
		base = path
	}
	st, err := ReadStats(base)
	if err != nil {
		return nil, err
	}
	return &Meter{path: path, last: st}, nil
}

// Next returns the counts since the previous call (or since the start).
func (m *Meter) Next() (Stats, error) {
	st, err := ReadStats(m.path)
	if err != nil {
		return Stats{}, err
	}
	d := st.Sub(m.last)
	m.last = st
	return d, nil
}

// Idler writes the Idle lines of one browser and module.
type Idler struct {
	F     *Flags
	Meter *Meter
	// Tick is called about once a second while the browser sits idle
	// (to answer or refuse dialogs); an error ends the idle phase.
	Tick func() error
}

// Phase writes the line of a one-interval phase (startup, login): the
// counts since the previous line.
func (i *Idler) Phase(phase string) (Stats, error) {
	d, err := i.Meter.Next()
	if err != nil {
		return d, err
	}
	return d, AppendLine(i.F.IdleOut, Idle{Browser: i.F.Browser, Module: i.F.Module, Phase: phase, ByINS: d.ByINS, APDUs: d.APDUs})
}

// Sit waits -idle-minutes intervals, writing one line per interval
// (minute 1..N) of phase, calling Tick in between.
func (i *Idler) Sit(phase string) error {
	start := time.Now()
	for minute := 1; minute <= i.F.IdleMinutes; minute++ {
		end := start.Add(time.Duration(minute) * i.F.IdleInterval)
		for time.Now().Before(end) {
			if i.Tick != nil {
				if err := i.Tick(); err != nil {
					return err
				}
			}
			time.Sleep(min(time.Second, time.Until(end)))
		}
		d, err := i.Meter.Next()
		if err != nil {
			return err
		}
		if err := AppendLine(i.F.IdleOut, Idle{Browser: i.F.Browser, Module: i.F.Module, Phase: phase, Minute: minute, APDUs: d.APDUs, ByINS: d.ByINS}); err != nil {
			return err
		}
	}
	return nil
}

// MarkReady creates the -ready-file, if one was asked for.
func (f *Flags) MarkReady() error {
	if f.Ready == "" {
		return nil
	}
	return os.WriteFile(f.Ready, nil, 0o644)
}

// Login is what a driver saw of one client-auth login.
type Login struct {
	// Started is when the navigation to the client-auth URL began,
	// FirstDialog when the first password dialog of any token was seen
	// (zero: the PIN dialog was the first), Dialog when the auth token's
	// PIN dialog was first seen, Entered when its PIN's Enter was sent and
	// Loaded when the page was loaded.
	Started, FirstDialog, Dialog, Entered, Loaded time.Time
	// Dialogs and Others count the auth token's PIN dialogs and the
	// other tokens' dialogs.
	Dialogs, Others int
}

// Record writes the benchmark lines of login l: the Dialog line
// (-dialog-out), or with idle (-idle-out) the login line and the
// logged-in minutes. It returns a one-line summary for the driver's log.
// Without a benchmark (meter nil) it does nothing.
func Record(f *Flags, meter *Meter, idle *Idler, l Login) (string, error) {
	if meter == nil {
		return "", nil
	}
	first := l.FirstDialog
	if first.IsZero() || first.After(l.Dialog) {
		first = l.Dialog
	}
	toFirst, toDialog, toPage := Ms(first.Sub(l.Started)), Ms(l.Dialog.Sub(l.Started)), Ms(l.Loaded.Sub(l.Entered))
	summary := fmt.Sprintf("to the first dialog %.0f ms, to the PIN dialog %.0f ms, Enter to the page %.0f ms, %d PIN dialog(s), %d other token's dialog(s)",
		toFirst, toDialog, toPage, l.Dialogs, l.Others)
	if f.DialogOut != "" {
		d, err := meter.Next()
		if err != nil {
			return "", err
		}
		line := Dialog{Browser: f.Browser, Module: f.Module, Round: f.Round, Dialogs: l.Dialogs, OtherDialogs: l.Others,
			APDUs: d.APDUs, ToFirstDialogMs: toFirst, ToDialogMs: toDialog, ToPageMs: toPage}
		if err := AppendLine(f.DialogOut, line); err != nil {
			return "", err
		}
	}
	if idle == nil {
		return summary, nil
	}
	d, err := idle.Phase(PhaseLogin)
	if err != nil {
		return "", err
	}
	summary += fmt.Sprintf("; login: %d APDUs; sitting %d × %v", d.APDUs, f.IdleMinutes, f.IdleInterval)
	return summary, idle.Sit(PhaseLoggedIn)
}
