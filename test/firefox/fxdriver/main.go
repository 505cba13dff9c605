// Command fxdriver drives a running Firefox through a TLS client-certificate
// login with a PKCS#11 token, the way a person would. Over Marionette it
// checks that the enterprise policy registered the security device and that
// Firefox sees its token, then opens the URL. Firefox then asks for token
// passwords in modal dialogs; while one is open Firefox's network thread
// waits, so Marionette (a TCP server) cannot answer. The dialogs are therefore
// handled from outside, as a user would: fxdriver reads which token a dialog
// asks for from Firefox's own log (Marionette traces "Prompt opened ... text"
// with remote.log.level=Trace), focuses the dialog window under X and types
// the PIN and Enter with xdotool (or presses Escape for another token). Then
// it waits for the page over Marionette.
//
// It prints one line per step, "OK <step>: ..." or "FAIL <step>: ...", and
// exits 1 at the first failure. The PIN is read from a file, handed to
// xdotool on its standard input and never printed.
//
// Firefox must run under X (Xvfb) with --marionette,
// -remote-allow-system-access (for the chrome-context device check) and the
// prefs marionette.port=0 (the port is read from <profile>/MarionetteActivePort)
// and remote.log.level="Trace", its output going to the -log file.
//
//	fxdriver -profile DIR -log FILE -pid PID -url https://127.0.0.1:PORT/ \
//	  -module NAME -lib PATH -token LABEL -pin-file FILE -out page.txt \
//	  [-refuse-url https://127.0.0.1:PORT2/] [-timeout 180s]
//
// With -mail DIR it drives Thunderbird instead (thunderbird.go): it
// chooses the card's S/MIME signing certificate in Account Settings and
// sends a signed message to the SMTP server writing to DIR, answering the
// password dialogs the same way and counting them.
//
//	fxdriver -mail DIR -profile DIR -log FILE -pid PID -module NAME -lib PATH \
//	  -token LABEL [-absent-token LABEL] -pin-file FILE -policy=false -other-prompts 0
//
// For the browser benchmark (test/bench/browsers.sh) it also times the
// login (-dialog-out) or sits idle before and after it, counting the card's
// APDUs once a minute (-idle-out); see bench.go.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/myna-pkcs11/myna-pkcs11/test/bench/browserbench"
)

type config struct {
	profile, log, url, refuseURL, module, lib, token, pinFile, out, dialogTitle string
	mailDir, absentToken                                                        string
	pid, otherPrompts                                                           int
	policy, select_                                                             bool
	timeout                                                                     time.Duration
	bench                                                                       browserbench.Flags
}

func main() {
	var c config
	flag.StringVar(&c.profile, "profile", "", "Firefox profile directory (holds MarionetteActivePort)")
	flag.StringVar(&c.log, "log", "", "file receiving Firefox's standard output and error")
	flag.IntVar(&c.pid, "pid", 0, "process id of Firefox (to find its dialog window)")
	flag.StringVar(&c.url, "url", "", "https URL of the server that asks for a client certificate")
	flag.StringVar(&c.refuseURL, "refuse-url", "", "optional second URL whose handshake must fail (after the login), e.g. a TLS 1.3-only server")
	flag.StringVar(&c.module, "module", "", "security device name the policy registers")
	flag.StringVar(&c.lib, "lib", "", "path of the PKCS#11 library the policy registers")
	flag.StringVar(&c.token, "token", "", "label of the token whose PIN to type")
	flag.StringVar(&c.pinFile, "pin-file", "", "file holding the PINs to type, one per line (an empty line: an empty PIN), one per dialog of the token (more dialogs fail)")
	flag.StringVar(&c.out, "out", "", "file to write the page text to")
	flag.StringVar(&c.dialogTitle, "dialog-title", "Password Required", "title of Firefox's password dialog window (en-US)")
	flag.BoolVar(&c.policy, "policy", true, "require the SecurityDevices enterprise policy to be active (false: the module is in the profile's pkcs11.txt)")
	flag.IntVar(&c.otherPrompts, "other-prompts", 20, "how many password dialogs of other tokens to cancel before failing (0: none allowed)")
	flag.StringVar(&c.mailDir, "mail", "", "drive Thunderbird: choose the S/MIME signing certificate and send a signed message to the SMTP server that writes to this directory (no -url)")
	flag.BoolVar(&c.select_, "select", true, "with -mail: choose the signing certificate in Account Settings first (false: it is chosen; only send)")
	flag.StringVar(&c.absentToken, "absent-token", "", "label of a token the program must not see")
	flag.DurationVar(&c.timeout, "timeout", 180*time.Second, "overall time limit")
	c.bench.Register(flag.CommandLine, "firefox")
	flag.Parse()
	if c.profile == "" || c.log == "" || c.pid == 0 || (c.url == "") == (c.mailDir == "") || c.module == "" || c.lib == "" || c.token == "" || c.pinFile == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := c.bench.Check(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := run(c); err != nil {
		var se *stepError
		if errors.As(err, &se) {
			fmt.Printf("FAIL %s: %v\n", se.step, se.err)
		} else {
			fmt.Printf("FAIL driver: %v\n", err)
		}
		os.Exit(1)
	}
}

type stepError struct {
	step string
	err  error
}

func (e *stepError) Error() string { return e.step + ": " + e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

func failStep(step string, format string, a ...any) error {
	return &stepError{step, fmt.Errorf(format, a...)}
}

func ok(step, format string, a ...any) {
	fmt.Printf("OK %s: %s\n", step, fmt.Sprintf(format, a...))
}

const cmdTimeout = 30 * time.Second

func run(c config) error {
	deadline := time.Now().Add(c.timeout)
	// One PIN per line, for successive dialogs (a wrong one, then the right one).
	pins, err := browserbench.ReadPINs(c.pinFile)
	if err != nil {
		return failStep("pin", "read the PIN file: %v", err)
	}

	var meter *browserbench.Meter
	if c.bench.Stats != "" {
		if meter, err = browserbench.NewMeter(c.bench.Stats, c.bench.StatsBase); err != nil {
			return &stepError{"bench", err}
		}
	}

	m, err := connect(c.profile, deadline)
	if err != nil {
		return &stepError{"marionette", err}
	}
	defer m.Close()

	var sess struct {
		Capabilities map[string]any `json:"capabilities"`
	}
	caps := map[string]any{
		"pageLoadStrategy":        "none",   // Navigate returns at once: the PIN dialog comes mid-load
		"unhandledPromptBehavior": "ignore", // never dismiss a dialog behind our back
		"acceptInsecureCerts":     false,    // the test server CA is trusted in the profile
	}
	if err := m.Call("WebDriver:NewSession", caps, &sess, time.Until(deadline)); err != nil {
		return &stepError{"session", err}
	}
	ok("session", "%v %v", sess.Capabilities["browserName"], sess.Capabilities["browserVersion"])

	if err := checkDevice(m, c, deadline); err != nil {
		return err
	}

	l := &login{m: m, token: c.token, pins: pins, deadline: deadline, maxOthers: c.otherPrompts,
		kb: &keyboard{pid: c.pid, title: c.dialogTitle}, prompts: &promptLog{path: c.log},
		poll: 300 * time.Millisecond, callTimeout: 3 * time.Second}
	if c.mailDir != "" {
		if err := runMail(c, m, l, deadline); err != nil {
			return err
		}
		_ = m.Call("Marionette:Quit", map[string]any{"flags": []string{"eForceQuit"}}, nil, 10*time.Second)
		return nil
	}
	var idle *browserbench.Idler
	if c.bench.IdleOut != "" {
		if idle, err = sitIdle(l, &c.bench, meter); err != nil {
			return err
		}
	}
	if meter != nil {
		// Another token's dialog after the PIN (OpenSC's sign token) is
		// cancelled within about half a second, not 6 s, so that the
		// driver adds little to the time to the page.
		l.poll, l.callTimeout = benchPoll, benchCallTimeout
	}

	started := time.Now()
	if err := navigate(m, c.url); err != nil {
		return err
	}
	st, err := l.load(c.url)
	if err != nil {
		return err
	}
	// An error page is what the person sees, whatever the count: it is
	// reported first, with the number of PIN dialogs before it.
	if st.errorPage() {
		return failStep("page", "Firefox shows an error page after %d PIN dialog(s): %s", l.typed, st.errorSummary())
	}
	if l.typed != len(pins) {
		return failStep("pin-entered", "%d PIN dialog(s) for %q, expected %d (one per PIN in %s)", l.typed, c.token, len(pins), c.pinFile)
	}
	ok("page", "loaded %s (%d characters of text)", st.URL, len(st.Text))
	if c.out != "" {
		if err := os.WriteFile(c.out, []byte(st.Text), 0o600); err != nil {
			return failStep("page", "write %s: %v", c.out, err)
		}
	}
	if err := benchLogin(l, st, &c.bench, meter, idle, started); err != nil {
		return err
	}

	if c.refuseURL != "" {
		// Logged in now; a server Firefox cannot authenticate to must fail.
		if err := m.SetContext("content", cmdTimeout); err != nil {
			return &stepError{"refused", err}
		}
		if err := m.Start("WebDriver:Navigate", map[string]any{"url": c.refuseURL}); err != nil {
			return &stepError{"refused", err}
		}
		st, err := l.load(c.refuseURL)
		if err != nil {
			return err
		}
		if !st.errorPage() {
			return failStep("refused", "%s loaded (%d characters of text); expected an error page", st.URL, len(st.Text))
		}
		ok("refused", "Firefox shows an error page for %s: %s", c.refuseURL, st.errorSummary())
	}

	// Leave Firefox; the caller waits for the process and kills it by PID if need be.
	_ = m.Call("Marionette:Quit", map[string]any{"flags": []string{"eForceQuit"}}, nil, 10*time.Second)
	return nil
}

// connect waits for Marionette's port file in the profile and dials it.
func connect(profile string, deadline time.Time) (*Marionette, error) {
	portFile := filepath.Join(profile, "MarionetteActivePort")
	for {
		b, err := os.ReadFile(portFile)
		if err == nil {
			if port, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && port > 0 {
				return DialMarionette(fmt.Sprintf("127.0.0.1:%d", port), 30*time.Second)
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no Marionette port in %s (is Firefox running with --marionette and marionette.port=0?)", portFile)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// device is what checkDevice's script returns.
type device struct {
	PolicyActive bool     `json:"policyActive"`
	PolicyStatus int      `json:"policyStatus"`
	Policies     []string `json:"policies"`
	Modules      []struct {
		Name  string `json:"name"`
		Lib   string `json:"lib"`
		Slots []struct {
			Slot   string `json:"slot"`
			Token  string `json:"token"`
			Status string `json:"status"`
		} `json:"slots"`
	} `json:"modules"`
}

const deviceJS = `return (async () => {
const db = Cc["@mozilla.org/security/pkcs11moduledb;1"].getService(Ci.nsIPKCS11ModuleDB);
const active = Services.policies.getActivePolicies() || {};
const modules = [];
for (const m of await db.listModules()) {
  const slots = [];
  for (const s of m.slots) {
    let token = "";
    try { token = s.tokenName || s.getToken().tokenName; } catch (e) {}
    slots.push({ slot: s.name, token, status: String(s.status) });
  }
  modules.push({ name: m.name, lib: m.libName || "", slots });
}
return { policyActive: Services.policies.status === Ci.nsIEnterprisePolicies.ACTIVE, policyStatus: Services.policies.status, policies: Object.keys(active), modules };
})();`

// checkDevice waits until the policy is active and the module and its token
// are listed in Firefox's security devices.
func checkDevice(m *Marionette, c config, deadline time.Time) error {
	if err := m.SetContext("chrome", cmdTimeout); err != nil {
		return &stepError{"policy", err}
	}
	var d device
	for {
		if err := m.Script(deviceJS, &d, cmdTimeout); err != nil {
			return &stepError{"policy", err}
		}
		found := false
		for _, mod := range d.Modules {
			if mod.Lib == c.lib {
				found = true
			}
		}
		if found || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	hasPolicy := false
	for _, p := range d.Policies {
		hasPolicy = hasPolicy || p == "SecurityDevices"
	}
	if c.policy {
		if !d.PolicyActive || !hasPolicy {
			return failStep("policy", "policy engine status %d, active policies %v: SecurityDevices is not active", d.PolicyStatus, d.Policies)
		}
		ok("policy", "enterprise policies active: %s", strings.Join(d.Policies, ", "))
	} else if hasPolicy {
		return failStep("policy", "SecurityDevices policy is active, but this run must not use it")
	}
	for _, mod := range d.Modules {
		if mod.Lib != c.lib {
			continue
		}
		if mod.Name != c.module {
			return failStep("module", "the library is registered as %q, want %q", mod.Name, c.module)
		}
		ok("module", "security device %q loaded from %s, %d slots", mod.Name, mod.Lib, len(mod.Slots))
		for _, s := range mod.Slots {
			if c.absentToken != "" && s.Token == c.absentToken {
				return failStep("token", "slot %q holds token %q, which must not be shown", s.Slot, s.Token)
			}
		}
		for _, s := range mod.Slots {
			if s.Token == c.token {
				ok("token", "slot %q holds token %q", s.Slot, s.Token)
				return nil
			}
		}
		return failStep("token", "no token %q in %+v", c.token, mod.Slots)
	}
	names := []string{}
	for _, mod := range d.Modules {
		names = append(names, fmt.Sprintf("%q (%s)", mod.Name, mod.Lib))
	}
	return failStep("module", "%s is not among Firefox's security devices: %s", c.lib, strings.Join(names, ", "))
}
