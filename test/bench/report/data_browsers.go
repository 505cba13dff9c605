package report

import "github.com/myna-pkcs11/myna-pkcs11/test/bench/browserbench"

// The lines of the browser files, as test/bench/browserbench writes them.
type (
	// BrowserInfo is one line of browser-info.jsonl.
	BrowserInfo = browserbench.Info
	// BrowserDialog is one line of browser-dialog.jsonl: one round of a
	// browser opening a page that asks for a client certificate.
	BrowserDialog = browserbench.Dialog
	// BrowserIdle is one line of browser-idle.jsonl: the APDUs one module
	// sent while a browser was open, per phase and idle minute.
	BrowserIdle = browserbench.Idle
)

// Idle phases of browser-idle.jsonl.
const (
	PhaseStartup     = browserbench.PhaseStartup
	PhaseNotLoggedIn = browserbench.PhaseNotLoggedIn
	PhaseLogin       = browserbench.PhaseLogin
	PhaseLoggedIn    = browserbench.PhaseLoggedIn
)

// Browsers is what test/bench/browsers.sh measured; each slice is empty
// when its file is missing.
type Browsers struct {
	Info   []BrowserInfo   // browser-info.jsonl
	Dialog []BrowserDialog // browser-dialog.jsonl
	Idle   []BrowserIdle   // browser-idle.jsonl
}

// Browser files in the bench directory.
const (
	browserInfoFile   = "browser-info.jsonl"
	browserDialogFile = "browser-dialog.jsonl"
	browserIdleFile   = "browser-idle.jsonl"
)

// LoadBrowsers reads the browser files of dir. It returns nil, nil when
// none of them is there (the run had no browser section).
func LoadBrowsers(dir string) (*Browsers, error) {
	b := &Browsers{}
	found := false
	for _, f := range []struct {
		name string
		read func() error
	}{
		{browserInfoFile, func() error { return readJSONL(dir, browserInfoFile, &b.Info) }},
		{browserDialogFile, func() error { return readJSONL(dir, browserDialogFile, &b.Dialog) }},
		{browserIdleFile, func() error { return readJSONL(dir, browserIdleFile, &b.Idle) }},
	} {
		ok, err := exists(dir, f.name)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		found = true
		if err := f.read(); err != nil {
			return nil, err
		}
	}
	if !found {
		return nil, nil
	}
	return b, nil
}
