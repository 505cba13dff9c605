// Command crdriver drives Chromium through a TLS client-certificate login
// with a PKCS#11 token, the way a person would, and counts the PIN dialogs.
//
// It starts Chromium itself (under the X display of $DISPLAY, normally
// Xvfb) with a fresh profile and --remote-debugging-pipe, opens the URL
// through the DevTools protocol and watches the X server for Chromium's
// "Unlock Security Device" dialog windows. Each new dialog gets the next
// PIN of the PIN file typed with xdotool (X test extension: real key
// events) and Enter. A dialog beyond the last PIN fails the run, as does
// one that appears within -settle after the page loaded. The certificate
// choice must be automatic (an AutoSelectCertificateForUrls policy).
//
// It prints "OK <step>: ..." or "FAIL <step>: ..." lines, one "OK dialog:"
// line per dialog, and exits 1 at the first failure. PINs are read from a
// file, handed to xdotool on its standard input and never printed.
//
//	crdriver -chromium /usr/bin/chromium -user-data-dir DIR -url https://127.0.0.1:PORT/ \
//	  -pin-file FILE -out page.txt [-timeout 90s]
//
// For the browser benchmark (test/bench/browsers.sh) it also times the
// login (-dialog-out) or sits idle before and after it, counting the card's
// APDUs once a minute (-idle-out); see bench.go.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/myna-pkcs11/myna-pkcs11/test/bench/browserbench"
)

// dialogTitle is the title of Chromium's PIN dialog (en-US; the driver
// runs Chromium with LANGUAGE=en).
const dialogTitle = "Unlock Security Device"

type config struct {
	chromium, userDataDir, url, pinFile, out string
	timeout, settle                          time.Duration
	otherPINFile                             string
	bench                                    browserbench.Flags
}

func main() {
	var c config
	flag.StringVar(&c.chromium, "chromium", "chromium", "the Chromium binary")
	flag.StringVar(&c.userDataDir, "user-data-dir", "", "a fresh profile directory")
	flag.StringVar(&c.url, "url", "", "https URL of the server that asks for a client certificate")
	flag.StringVar(&c.pinFile, "pin-file", "", "PINs to type, one per line (an empty line: an empty PIN), one per dialog in order")
	flag.StringVar(&c.out, "out", "", "file to write the page text to")
	flag.DurationVar(&c.timeout, "timeout", 90*time.Second, "overall time limit")
	flag.DurationVar(&c.settle, "settle", 3*time.Second, "how long to watch for another dialog after the page loaded")
	flag.StringVar(&c.otherPINFile, "other-pin-file", "", "passwords to type, one per line, into the first dialogs, those of other tokens that Chromium asks for before the one under test (with OpenSC: the sign PIN's token); they do not count as PIN dialogs. Cancelling them is no way out: Chromium then answers every later dialog of the same request as cancelled")
	c.bench.Register(flag.CommandLine, "chromium")
	flag.Parse()
	if c.userDataDir == "" || c.url == "" || c.pinFile == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := c.bench.Check(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := run(c); err != nil {
		fmt.Printf("FAIL %v\n", err)
		os.Exit(1)
	}
}

// stepErr names the step that failed.
func stepErr(step, format string, a ...any) error {
	return fmt.Errorf("%s: %s", step, fmt.Sprintf(format, a...))
}

func ok(step, format string, a ...any) { fmt.Printf("OK %s: %s\n", step, fmt.Sprintf(format, a...)) }

func run(c config) error {
	deadline := time.Now().Add(c.timeout)
	pins, err := browserbench.ReadPINs(c.pinFile)
	if err != nil {
		return stepErr("pin", "%v", err)
	}
	var others []string
	if c.otherPINFile != "" {
		if others, err = browserbench.ReadPINs(c.otherPINFile); err != nil {
			return stepErr("pin", "%v", err)
		}
	}

	var meter *browserbench.Meter
	if c.bench.Stats != "" {
		if meter, err = browserbench.NewMeter(c.bench.Stats, c.bench.StatsBase); err != nil {
			return stepErr("bench", "%v", err)
		}
	}
	br, err := startChromium(c)
	if err != nil {
		return stepErr("start", "%v", err)
	}
	defer br.stop()
	var ver struct {
		Product string `json:"product"`
	}
	// Chromium may take long to start on a busy machine: only the overall
	// time limit bounds its first answer.
	if err := br.cdp.call("", "Browser.getVersion", nil, &ver, time.Until(deadline)); err != nil {
		return stepErr("start", "%v", err)
	}
	ok("start", "%s, DevTools over a pipe", ver.Product)

	var tgt struct {
		TargetID string `json:"targetId"`
	}
	if err := br.cdp.call("", "Target.createTarget", map[string]any{"url": "about:blank"}, &tgt, 30*time.Second); err != nil {
		return stepErr("navigate", "%v", err)
	}
	var att struct {
		SessionID string `json:"sessionId"`
	}
	if err := br.cdp.call("", "Target.attachToTarget", map[string]any{"targetId": tgt.TargetID, "flatten": true}, &att, 30*time.Second); err != nil {
		return stepErr("navigate", "%v", err)
	}
	w := &watcher{pins: pins, others: others, seen: map[string]bool{}}
	tab := &benchRun{br: br, session: att.SessionID, w: w, f: &c.bench, meter: meter, deadline: deadline, poll: 250 * time.Millisecond}
	if c.bench.IdleOut != "" {
		if err := tab.sitIdle(); err != nil {
			return err
		}
	}
	if meter != nil {
		tab.poll = benchPoll
		w.spot = startSpotter()
		defer w.spot.Close()
	}
	started := time.Now()
	st, err := tab.load(c.url)
	if err != nil {
		return err
	}
	if st.errorPage() {
		return stepErr("page", "Chromium shows an error page after %d dialogs: %s", w.count, truncate(strings.Join(strings.Fields(st.Text), " "), 300))
	}
	ok("page", "loaded %s (%d characters of text) after %d PIN dialogs", st.URL, len(st.Text), w.count)
	if c.out != "" {
		if err := os.WriteFile(c.out, []byte(st.Text), 0o600); err != nil {
			return stepErr("page", "%v", err)
		}
	}
	for end := time.Now().Add(c.settle); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		if err := w.poll(); err != nil {
			return err
		}
	}
	if w.count != len(pins) {
		return stepErr("dialogs", "%d PIN dialogs, expected %d (one per PIN in %s)", w.count, len(pins), c.pinFile)
	}
	ok("dialogs", "exactly %d PIN dialogs", w.count)
	return tab.loggedIn(st, started)
}

// watcher finds new PIN dialogs and answers them.
type watcher struct {
	pins []string
	// others are typed into the first dialogs (other tokens'); typedOthers
	// counts them.
	others      []string
	typedOthers int
	seen        map[string]bool
	count       int
	// spot, in the benchmark, says when a dialog was first seen.
	spot *spotter
	// firstAny is when the first dialog of any token was found, first
	// when the first PIN dialog was found, entered when the last
	// PIN's Enter was pressed (for the benchmark).
	firstAny, first, entered time.Time
}

// poll answers every dialog window not seen before.
func (w *watcher) poll() error {
	out, _ := xdotool("", "search", "--onlyvisible", "--name", "^"+dialogTitle+"$")
	for _, id := range strings.Fields(out) {
		if w.seen[id] {
			continue
		}
		w.seen[id] = true
		if w.firstAny.IsZero() {
			w.firstAny = w.spot.seen(id)
		}
		if w.typedOthers < len(w.others) {
			w.typedOthers++
			ok("dialog", "dialog (window %s): another token's, typing its password %d of %d", id, w.typedOthers, len(w.others))
			if err := typeInto(id, w.others[w.typedOthers-1]); err != nil {
				return err
			}
			continue
		}
		w.count++
		if w.count == 1 {
			w.first = w.spot.seen(id)
		}
		if w.count > len(w.pins) {
			return stepErr("dialogs", "PIN dialog %d appeared; only %d expected", w.count, len(w.pins))
		}
		ok("dialog", "PIN dialog %d (window %s): typing PIN %d of %d", w.count, id, w.count, len(w.pins))
		if err := typeInto(id, w.pins[w.count-1]); err != nil {
			return err
		}
		w.entered = time.Now()
	}
	return nil
}

// typeSettle is how long a new dialog is left alone before the PIN is typed.
const typeSettle = 500 * time.Millisecond

// typeInto types secret and Enter into dialog window id. A dialog found
// at once (the benchmark looks every 50 ms) may not take keys yet, so it is
// left alone for typeSettle first (not part of the measured times).
func typeInto(id, secret string) error {
	time.Sleep(typeSettle)
	if _, err := xdotool("", "windowfocus", "--sync", id); err != nil {
		return stepErr("dialog", "%v", err)
	}
	if _, err := xdotool(secret, "type", "--delay", "40", "--file", "-"); err != nil {
		return stepErr("dialog", "%v", err)
	}
	if _, err := xdotool("", "key", "Return"); err != nil {
		return stepErr("dialog", "%v", err)
	}
	return nil
}

// xdotool runs xdotool with stdin and returns its output.
func xdotool(stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "xdotool", args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.Output()
	if err != nil && args[0] != "search" { // search exits 1 when nothing matches
		return "", fmt.Errorf("xdotool %s: %v", args[0], err)
	}
	return string(out), nil
}

// page is what the tab shows.
type page struct {
	URL string `json:"url"`
	// Loaded is the end of the page's load event, in epoch milliseconds
	// (0 while it has not happened).
	Loaded int64  `json:"loaded"`
	Ready  string `json:"ready"`
	Text   string `json:"text"`
}

const pageJS = `JSON.stringify({url: location.href, ready: document.readyState, loaded: performance.timing.loadEventEnd, text: document.body ? document.body.innerText : ""})`

// page reads the tab's address, state and text.
func (b *browser) page(session string) (page, error) {
	var r struct {
		Result struct {
			Value string `json:"value"`
		} `json:"result"`
	}
	if err := b.cdp.call(session, "Runtime.evaluate", map[string]any{"expression": pageJS, "returnByValue": true}, &r, 3*time.Second); err != nil {
		return page{}, err
	}
	var p page
	err := json.Unmarshal([]byte(r.Result.Value), &p)
	return p, err
}

// done reports whether the tab shows url loaded, or an error page.
func (p page) done(url string) bool {
	return p.Ready == "complete" && (p.errorPage() || strings.HasPrefix(p.URL, url) && strings.TrimSpace(p.Text) != "")
}

// errorPage reports whether the tab shows Chromium's network error page.
func (p page) errorPage() bool {
	return strings.HasPrefix(p.URL, "chrome-error:") || strings.Contains(p.Text, "ERR_")
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// browser is a running Chromium.
type browser struct {
	cmd  *exec.Cmd
	cdp  *cdp
	done chan struct{}
}

// startChromium starts Chromium with the DevTools pipe on fds 3 and 4.
func startChromium(c config) (*browser, error) {
	toChrome, ourW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	ourR, fromChrome, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(c.chromium, "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
		"--password-store=basic", "--user-data-dir="+c.userDataDir, "--remote-debugging-pipe", "about:blank")
	cmd.Env = append(os.Environ(), "LANGUAGE=en", "LANG=C.UTF-8")
	cmd.ExtraFiles = []*os.File{toChrome, fromChrome}
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	toChrome.Close()
	fromChrome.Close()
	b := &browser{cmd: cmd, cdp: newCDP(ourR, ourW), done: make(chan struct{})}
	go func() { cmd.Wait(); close(b.done) }()
	return b, nil
}

// stop closes the browser, and kills it when it does not go.
func (b *browser) stop() {
	_ = b.cdp.call("", "Browser.close", nil, nil, 5*time.Second)
	select {
	case <-b.done:
	case <-time.After(10 * time.Second):
		b.cmd.Process.Kill()
		<-b.done
	}
}
