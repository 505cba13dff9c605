package main

import (
	"time"

	"github.com/myna-pkcs11/myna-pkcs11/test/bench/browserbench"
)

// benchPoll is how often a benchmark run looks for the dialog and at the
// page, so that both times are measured to well under 100 ms.
const benchPoll = 50 * time.Millisecond

// benchRun is one tab of a running Chromium, loading pages and answering
// dialogs, with the benchmark's flags and card counter (meter is nil
// outside the benchmark).
type benchRun struct {
	br       *browser
	session  string
	w        *watcher
	f        *browserbench.Flags
	meter    *browserbench.Meter
	idle     *browserbench.Idler
	deadline time.Time
	poll     time.Duration
}

// load opens url in the tab and waits until it is loaded (or an error
// page), answering PIN dialogs on the way.
func (b *benchRun) load(url string) (page, error) {
	// The reply comes once the navigation commits, after the dialogs:
	// do not wait for it.
	if _, err := b.br.cdp.send(b.session, "Page.navigate", map[string]any{"url": url}); err != nil {
		return page{}, stepErr("navigate", "%v", err)
	}
	ok("navigate", "%s", url)
	var st page
	for {
		if time.Now().After(b.deadline) {
			return st, stepErr("page", "%s did not load in time after %d dialogs (last: %s %q)", url, b.w.count, st.URL, truncate(st.Text, 200))
		}
		if err := b.w.poll(); err != nil {
			return st, err
		}
		var err error
		st, err = b.br.page(b.session)
		if err == nil && st.done(url) {
			return st, nil
		}
		time.Sleep(b.poll)
	}
}

// sitIdle is the first half of an idle run: it opens the page without
// client authentication, writes the startup line (the browser's start and
// that page), then sits -idle-minutes on it, answering dialogs once a
// second.
func (b *benchRun) sitIdle() error {
	b.idle = &browserbench.Idler{F: b.f, Meter: b.meter, Tick: b.w.poll}
	st, err := b.load(b.f.IdleURL)
	if err != nil {
		return err
	}
	if st.errorPage() {
		return stepErr("idle", "Chromium shows an error page for %s: %s", b.f.IdleURL, truncate(st.Text, 300))
	}
	d, err := b.idle.Phase(browserbench.PhaseStartup)
	if err != nil {
		return stepErr("idle", "%v", err)
	}
	ok("idle", "startup: %d APDUs; %s loaded, sitting %d × %v on it", d.APDUs, b.f.IdleURL, b.f.IdleMinutes, b.f.IdleInterval)
	if err := b.f.MarkReady(); err != nil {
		return stepErr("idle", "%v", err)
	}
	if err := b.idle.Sit(browserbench.PhaseNotLoggedIn); err != nil {
		return err
	}
	if b.w.count != 0 {
		return stepErr("idle", "Chromium showed %d PIN dialog(s) on a page without client authentication", b.w.count)
	}
	return nil
}

// loggedIn writes the benchmark lines of the login that started at
// started and ended on page st (browserbench.Record). A PIN dialog while
// logged in fails the run (the watcher has no PIN left).
func (b *benchRun) loggedIn(st page, started time.Time) error {
	loaded := time.Now()
	if st.Loaded > 0 {
		loaded = time.UnixMilli(st.Loaded)
	}
	summary, err := browserbench.Record(b.f, b.meter, b.idle, browserbench.Login{Started: started, FirstDialog: b.w.firstAny, Dialog: b.w.first,
		Entered: b.w.entered, Loaded: loaded, Dialogs: b.w.count, Others: b.w.typedOthers})
	if err != nil {
		return stepErr("bench", "%v", err)
	}
	if summary != "" {
		ok("bench", "%s", summary)
	}
	return nil
}
