package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// promptRE matches Marionette's trace of an opened dialog, for example
// `Prompt opened (type: "promptPassword", text: "Please authenticate to the security device (JPKI Auth).")`.
var promptRE = regexp.MustCompile(`^(?:(\d{13})\t)?.*Prompt opened \(type: "([^"]*)", text: "(.*)"\)\s*$`)

// Prompt is one dialog Firefox opened, as traced in its log.
type Prompt struct {
	Type, Text string
	// At is when Firefox traced the dialog (the log line's epoch
	// milliseconds); zero when the line had no time stamp.
	At time.Time
}

// promptSource reports the dialogs a program opened, each once.
type promptSource interface {
	next() (Prompt, bool, error)
}

// promptLog reads the dialogs traced in Firefox's log, each once.
type promptLog struct {
	path string
	seen int
}

// next returns the first dialog not returned before, if any.
func (l *promptLog) next() (Prompt, bool, error) {
	b, err := os.ReadFile(l.path)
	if err != nil {
		return Prompt{}, false, err
	}
	ps := parsePrompts(string(b))
	if len(ps) <= l.seen {
		return Prompt{}, false, nil
	}
	l.seen++
	return ps[l.seen-1], true, nil
}

// parsePrompts extracts the traced dialogs from a Firefox log, in order.
func parsePrompts(log string) []Prompt {
	var ps []Prompt
	for _, line := range strings.Split(log, "\n") {
		if m := promptRE.FindStringSubmatch(line); m != nil {
			p := Prompt{Type: m[2], Text: m[3]}
			if ms, err := strconv.ParseInt(m[1], 10, 64); err == nil {
				p.At = time.UnixMilli(ms)
			}
			ps = append(ps, p)
		}
	}
	return ps
}

// forToken reports whether a password dialog's text names the token label,
// as in "Please authenticate to the security device (LABEL)." or
// "Please enter the password for the PKCS#11 token LABEL.".
func (p Prompt) forToken(label string) bool {
	return p.Type == "promptPassword" &&
		(strings.Contains(p.Text, "("+label+")") || strings.HasSuffix(strings.TrimSuffix(p.Text, "."), " "+label))
}

// keyboard types into Firefox's dialog window with xdotool (X test
// extension: real key events, as from a keyboard).
type keyboard struct {
	pid   int
	title string
	// waitClosed makes typeSecret and press wait until the dialog window
	// is gone, so that a dialog seen afterwards is a new one (Thunderbird,
	// whose dialogs are read from Marionette's open-alert state).
	waitClosed bool
}

func (k *keyboard) xdotool(stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "xdotool", args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("xdotool %s: %v: %s", args[0], err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// focusDialog finds the visible dialog window of Firefox and gives it the
// keyboard focus. It waits up to 10 s for the window to be mapped.
func (k *keyboard) focusDialog() (string, error) {
	var last error
	for i := 0; i < 50; i++ {
		out, err := k.xdotool("", "search", "--onlyvisible", "--pid", fmt.Sprint(k.pid), "--name", k.title)
		if ids := strings.Fields(out); err == nil && len(ids) > 0 {
			win := ids[len(ids)-1]
			if _, err := k.xdotool("", "windowfocus", "--sync", win); err != nil {
				return "", err
			}
			return win, nil
		} else if err != nil {
			last = err
		}
		time.Sleep(200 * time.Millisecond)
	}
	if last == nil {
		last = errors.New("no such window")
	}
	return "", fmt.Errorf("no visible %q window of Firefox (pid %d): %v", k.title, k.pid, last)
}

// typeSecret types s (handed over on stdin, so it shows in no argument list)
// into the focused dialog, then presses Enter.
func (k *keyboard) typeSecret(s string) error {
	win, err := k.focusDialog()
	if err != nil {
		return err
	}
	if _, err := k.xdotool(s, "type", "--delay", "40", "--file", "-"); err != nil {
		return err
	}
	if _, err := k.xdotool("", "key", "Return"); err != nil {
		return err
	}
	return k.closed(win)
}

// press focuses the dialog and presses one key (an X keysym name).
func (k *keyboard) press(key string) error {
	win, err := k.focusDialog()
	if err != nil {
		return err
	}
	if _, err := k.xdotool("", "key", key); err != nil {
		return err
	}
	return k.closed(win)
}

// closed waits up to 10 s for window win to go, when k.waitClosed.
func (k *keyboard) closed(win string) error {
	if !k.waitClosed {
		return nil
	}
	for i := 0; i < 50; i++ {
		// xdotool search fails when no window matches.
		out, err := k.xdotool("", "search", "--onlyvisible", "--pid", fmt.Sprint(k.pid), "--name", k.title)
		if err != nil || !slices.Contains(strings.Fields(out), win) {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("the %q window %s is still open 10 s after the key", k.title, win)
}

// pageJS reports where the tab is and its text.
const pageJS = `const b = document.body;
let code = "";
if (document.documentURI.startsWith("about:neterror")) {
  try { code = document.getNetErrorInfo().errorCodeString; } catch (e) { code = ""; }
}
return { url: document.documentURI, ready: document.readyState, code,
  loaded: performance.timing.loadEventEnd,
  text: b ? (b.innerText || b.textContent || "") : "" };`

type pageState struct {
	URL string `json:"url"`
	// Loaded is the end of the page's load event, in epoch milliseconds
	// (0 while it has not happened).
	Loaded int64  `json:"loaded"`
	Code   string `json:"code"` // NSS error of a neterror page, e.g. SSL_ERROR_RX_CERTIFICATE_REQUIRED_ALERT
	Ready  string `json:"ready"`
	Text   string `json:"text"`
}

// login answers Firefox's password dialogs across page loads: the next PIN
// for our token (a request beyond the last PIN means it was refused),
// Escape for any other token.
type login struct {
	m       *Marionette
	token   string
	kb      *keyboard
	pins    []string
	prompts promptSource
	typed   int // PINs typed so far
	others  int
	// maxOthers bounds how often another token's dialog is cancelled.
	maxOthers int
	deadline  time.Time
	// poll is the pause between two looks at the page, callTimeout how
	// long one look may wait for Marionette (which does not answer while
	// a dialog is up, so this also bounds how late a dialog is answered).
	poll, callTimeout time.Duration
	// app names the program in messages ("" is Firefox).
	app string
	// confirm, when set, answers a dialog that is not a password dialog
	// (the Thunderbird run); without it such a dialog fails the run.
	confirm func(Prompt) error
	// firstAny is when the first password dialog of any token opened,
	// firstPIN the first for the token, entered when the last PIN's Enter
	// was pressed (for the benchmark).
	firstAny, firstPIN, entered time.Time
}

// load waits until the tab shows url or an error page, answering dialogs on
// the way. Between dialogs it asks Marionette for the page; while a dialog is
// open those questions go unanswered, which is expected.
func (l *login) load(url string) (pageState, error) {
	var lastErr error
	var st pageState
	for {
		if time.Now().After(l.deadline) {
			if l.typed == 0 {
				return pageState{}, failStep("pin-prompt", "no PIN dialog for %q and no page within the time limit (%d other dialogs)", l.token, l.others)
			}
			return pageState{}, failStep("page", "%s did not load within the time limit (last seen: %s, %s; last Marionette error: %v)",
				url, truncate(st.URL, 120), st.Ready, lastErr)
		}
		p, found, err := l.prompts.next()
		if err != nil {
			return pageState{}, &stepError{"pin-prompt", err}
		}
		if found {
			if err := l.answer(p); err != nil {
				return pageState{}, err
			}
			continue
		}
		st = pageState{}
		err = l.m.SetContext("content", l.callTimeout)
		if err == nil {
			err = l.m.Script(pageJS, &st, l.callTimeout)
		}
		var ce *CommandError
		switch {
		case err == nil, errors.Is(err, ErrTimeout):
		case errors.As(err, &ce): // a dialog is up, or the page is being replaced: ask again
			lastErr = err
		default:
			return pageState{}, &stepError{"page", err}
		}
		if st.errorPage() && st.Ready != "loading" || // error pages may stay "interactive"
			strings.HasPrefix(st.URL, url) && st.Ready == "complete" && strings.TrimSpace(st.Text) != "" {
			return st, nil
		}
		time.Sleep(l.poll)
	}
}

// answer deals with one dialog.
func (l *login) answer(p Prompt) error {
	if l.firstAny.IsZero() && p.Type == "promptPassword" {
		l.firstAny = p.At
		if l.firstAny.IsZero() {
			l.firstAny = time.Now()
		}
	}
	switch {
	case p.forToken(l.token):
		if l.typed >= len(l.pins) {
			return failStep("pin-entered", "%s asked for the PIN again (refused?) after %d PIN(s): %q", l.appName(), l.typed, p.Text)
		}
		ok("pin-prompt", "%s asks: %q (dialog %d)", l.appName(), p.Text, l.typed+1)
		if l.typed == 0 {
			l.firstPIN = p.At
			if l.firstPIN.IsZero() {
				l.firstPIN = time.Now()
			}
		}
		if err := l.kb.typeSecret(l.pins[l.typed]); err != nil {
			return &stepError{"pin-entered", err}
		}
		l.entered = time.Now()
		l.typed++
		ok("pin-entered", "typed PIN %d of %d into the dialog and pressed Enter", l.typed, len(l.pins))
	case p.Type == "promptPassword":
		l.others++
		if l.others > l.maxOthers {
			return failStep("other-prompt", "%s asks for another token's password (%q); %d such dialogs allowed", l.appName(), p.Text, l.maxOthers)
		}
		ok("other-prompt", "%s asks: %q: pressed Escape (not the token under test)", l.appName(), p.Text)
		if err := l.kb.press("Escape"); err != nil {
			return &stepError{"other-prompt", err}
		}
	case l.confirm != nil:
		return l.confirm(p)
	default:
		return failStep("pin-prompt", "unexpected %s dialog: %q", p.Type, p.Text)
	}
	return nil
}

// appName is the program's name for messages.
func (l *login) appName() string {
	if l.app == "" {
		return "Firefox"
	}
	return l.app
}

// errorPage reports whether the tab shows one of Firefox's error pages.
func (st pageState) errorPage() bool {
	return strings.HasPrefix(st.URL, "about:neterror") || strings.HasPrefix(st.URL, "about:certerror")
}

// errorSummary is the error page's address and text, shortened.
func (st pageState) errorSummary() string {
	s := truncate(st.URL, 200)
	if st.Code != "" {
		s = st.Code + " (" + s + ")"
	}
	if t := strings.Join(strings.Fields(st.Text), " "); t != "" {
		s += ": " + truncate(t, 300)
	}
	return s
}
