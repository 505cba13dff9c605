package main

import (
	"time"

	"github.com/myna-pkcs11/myna-pkcs11/test/bench/browserbench"
)

// benchPoll is how often a benchmark run looks at the page, so that the
// time to the page is measured to well under 100 ms (the time to the
// dialog comes from Firefox's own log line).
const benchPoll = 50 * time.Millisecond

// benchCallTimeout bounds one look at the page in a benchmark run (a late
// answer is dropped; the look is repeated).
const benchCallTimeout = 250 * time.Millisecond

// navigate starts loading url in the tab. Navigate answers only once
// loading has started, which may be after the PIN dialog: it is started
// and not waited for.
func navigate(m *Marionette, url string) error {
	if err := m.SetContext("content", cmdTimeout); err != nil {
		return &stepError{"navigate", err}
	}
	if err := m.Start("WebDriver:Navigate", map[string]any{"url": url}); err != nil {
		return &stepError{"navigate", err}
	}
	ok("navigate", "%s", url)
	return nil
}

// sitIdle is the first half of an idle run: it opens the page without
// client authentication, writes the startup line (the browser's start, its
// first listing of the security devices and that page), then sits
// -idle-minutes on it, answering dialogs once a second.
func sitIdle(l *login, f *browserbench.Flags, meter *browserbench.Meter) (*browserbench.Idler, error) {
	idle := &browserbench.Idler{F: f, Meter: meter, Tick: func() error {
		p, found, err := l.prompts.next()
		if err != nil || !found {
			return err
		}
		return l.answer(p)
	}}
	if err := navigate(l.m, f.IdleURL); err != nil {
		return nil, err
	}
	st, err := l.load(f.IdleURL)
	if err != nil {
		return nil, err
	}
	if st.errorPage() {
		return nil, failStep("idle", "Firefox shows an error page for %s: %s", f.IdleURL, st.errorSummary())
	}
	d, err := idle.Phase(browserbench.PhaseStartup)
	if err != nil {
		return nil, &stepError{"idle", err}
	}
	ok("idle", "startup: %d APDUs; %s loaded, sitting %d × %v on it", d.APDUs, f.IdleURL, f.IdleMinutes, f.IdleInterval)
	if err := f.MarkReady(); err != nil {
		return nil, &stepError{"idle", err}
	}
	if err := idle.Sit(browserbench.PhaseNotLoggedIn); err != nil {
		return nil, &stepError{"idle", err}
	}
	if l.typed != 0 {
		return nil, failStep("idle", "Firefox asked for the PIN on a page without client authentication")
	}
	return idle, nil
}

// benchLogin writes the benchmark lines of the login that started at
// started and ended on page st (browserbench.Record). A PIN dialog while
// logged in fails in l.answer (no PIN left).
func benchLogin(l *login, st pageState, f *browserbench.Flags, meter *browserbench.Meter, idle *browserbench.Idler, started time.Time) error {
	loaded := time.Now()
	if st.Loaded > 0 {
		loaded = time.UnixMilli(st.Loaded)
	}
	summary, err := browserbench.Record(f, meter, idle, browserbench.Login{Started: started, FirstDialog: l.firstAny, Dialog: l.firstPIN,
		Entered: l.entered, Loaded: loaded, Dialogs: l.typed, Others: l.others})
	if err != nil {
		return &stepError{"bench", err}
	}
	if summary != "" {
		ok("bench", "%s", summary)
	}
	return nil
}
