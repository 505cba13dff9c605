package report

// BrowserInfo is one line of browser-info.jsonl.
type BrowserInfo struct {
	Browser string `json:"browser"` // "firefox" or "chromium"
	Version string `json:"version"` // as the browser prints it
}

// BrowserDialog is one line of browser-dialog.jsonl: one round of a
// browser opening a page that asks for a client certificate.
type BrowserDialog struct {
	Browser    string  `json:"browser"`
	Module     string  `json:"module"` // "ours" or "opensc"
	Round      int     `json:"round"`
	ToDialogMs float64 `json:"to_dialog_ms"` // navigation to the PIN dialog
	ToPageMs   float64 `json:"to_page_ms"`   // PIN typed (Enter) to the loaded page
	Dialogs    int     `json:"dialogs"`      // PIN dialogs shown
	APDUs      int     `json:"apdus"`
}

// Idle phases of browser-idle.jsonl.
const (
	PhaseStartup     = "startup"       // browser start to the first listing (minute 0)
	PhaseNotLoggedIn = "not-logged-in" // one line per idle minute, no client-auth page
	PhaseLogin       = "login"         // the login itself (minute 0)
	PhaseLoggedIn    = "logged-in"     // one line per idle minute after the client-auth page
)

// BrowserIdle is one line of browser-idle.jsonl: the APDUs one module
// sent while a browser was open, per phase and idle minute.
type BrowserIdle struct {
	Browser string         `json:"browser"`
	Module  string         `json:"module"`
	Phase   string         `json:"phase"`
	Minute  int            `json:"minute"`
	APDUs   int            `json:"apdus"`
	ByINS   map[string]int `json:"by_ins"`
}

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
