package main

// Thunderbird mode (-mail DIR): the S/MIME path of a person who sets up
// signing with the card and sends one signed message. Thunderbird runs
// under Xvfb with --marionette, its SMTP server is test/thunderbird/smtpsink
// writing to DIR. What is driven how:
//
//   - Account Settings → End-To-End Encryption: opened with Thunderbird's
//     own MsgAccountManager("am-e2e.xhtml", server) over Marionette (chrome
//     context); the "Select…" button of the S/MIME personal certificate
//     for digital signing is clicked with element.click() from a timer,
//     so the script returns before the button's handler runs.
//   - The password dialog that click makes Thunderbird show (NSS logs in
//     to the token to list the certificates) is seen over Marionette (a
//     script is refused with "unexpected alert open: Unexpected
//     promptPassword dialog", WebDriver:GetAlertText gives its text;
//     Thunderbird 153 writes no "Prompt opened" trace) and answered with
//     xdotool (the PIN typed, Enter), as in the Firefox run.
//   - The "Select Certificate" window: its list is read over Marionette,
//     then OK is pressed with xdotool (Enter).
//   - Thunderbird's question whether to choose an encryption certificate
//     too is answered with Escape (Cancel): neither card key decrypts.
//   - The "Digitally sign messages (by default)" checkbox is clicked
//     (element.click()), and the Account Settings tab is closed, which
//     saves the pane.
//   - A new message: Thunderbird's compose window opened with
//     MailServices.compose.OpenComposeWindowWithParams for the identity,
//     To, Subject and body given in its compose fields (instead of
//     typing them); its Send button is clicked (element.click() from a
//     timer). Any password dialog on the way is answered as above.
//
// Every password dialog counts: one per PIN in the PIN file for the token
// under test, and any other token's dialog fails the run (-other-prompts).

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Dialog window titles of Thunderbird 153 (en-US), for xdotool.
const (
	pickerTitle  = "^Select Certificate"
	confirmTitle = "^Thunderbird$"
)

// encryptionQuestion is the start of the question Thunderbird asks after a
// signing certificate was chosen and no encryption certificate is set.
const encryptionQuestion = "You should also specify a certificate for other people to use"

// openSettingsJS opens Account Settings at the End-To-End Encryption pane of
// the default account and waits for its signing certificate button.
const openSettingsJS = `return (async () => {
const w = Services.wm.getMostRecentWindow("mail:3pane");
const server = MailServices.accounts.defaultAccount.incomingServer;
w.MsgAccountManager("am-e2e.xhtml", server);
for (let i = 0; i < 100; i++) {
  const tab = w.document.getElementById("tabmail").currentTabInfo;
  const frame = tab.browser?.contentWindow?.document.getElementById("contentFrame");
  const d = frame?.contentDocument;
  if (d?.readyState == "complete" && frame.contentWindow.location.href.endsWith("am-e2e.xhtml") && d.getElementById("signingCertSelectButton")) {
    return { url: frame.contentWindow.location.href, identity: MailServices.accounts.defaultAccount.defaultIdentity.email };
  }
  await new Promise(r => w.setTimeout(r, 100));
}
throw new Error("the End-To-End Encryption pane did not load");
})();`

// paneJS finds the element id in the open End-To-End Encryption pane.
const paneJS = `const paneElement = id => Services.wm.getMostRecentWindow("mail:3pane").document.getElementById("tabmail")
  .currentTabInfo.browser.contentWindow.document.getElementById("contentFrame").contentDocument.getElementById(id);
`

// clickLaterJS clicks the element that the expression el finds, from a
// timer of window w, and returns at once.
func clickLaterJS(prelude, w, el string) string {
	return prelude + `const el = ` + el + `; if (!el) throw new Error("no such element");
` + w + `.setTimeout(() => el.click(), 0); return true;`
}

// windowsJS lists Thunderbird's windows; for the certificate picker also its entries.
const windowsJS = `const out = [];
for (const w of Services.wm.getEnumerator(null)) {
  const o = { url: w.location.href, title: w.document.title, entries: [] };
  for (const m of w.document.querySelectorAll("#nicknames menuitem")) o.entries.push(m.getAttribute("label"));
  out.push(o);
}
return out;`

// identityJS reports the S/MIME settings of the default identity.
const identityJS = `const id = MailServices.accounts.defaultAccount.defaultIdentity;
return { cert: id.getUnicharAttribute("signing_cert_name"), dbKey: id.getCharAttribute("signing_cert_dbkey"), signMail: id.signMail };`

// signByDefaultJS ticks "sign messages by default" and closes Account Settings (which saves the pane).
const signByDefaultJS = `return (async () => {
const w = Services.wm.getMostRecentWindow("mail:3pane");
const tabmail = w.document.getElementById("tabmail");
const cb = paneElement("identity_sign_mail");
if (cb.disabled) throw new Error("the sign-by-default checkbox is disabled");
if (!cb.checked) cb.click();
tabmail.closeTab(tabmail.currentTabInfo);
await new Promise(r => w.setTimeout(r, 200));
return MailServices.accounts.defaultAccount.defaultIdentity.signMail;
})();`

// composeJS opens a new message of the default identity and waits until
// its window is ready; it reports whether the message is to be signed.
const composeJS = `return (async () => {
const params = Cc["@mozilla.org/messengercompose/composeparams;1"].createInstance(Ci.nsIMsgComposeParams);
const fields = Cc["@mozilla.org/messengercompose/composefields;1"].createInstance(Ci.nsIMsgCompFields);
fields.to = arguments[0]; fields.subject = arguments[1]; fields.body = arguments[2];
params.composeFields = fields;
params.identity = MailServices.accounts.defaultAccount.defaultIdentity;
params.type = Ci.nsIMsgCompType.New;
params.format = Ci.nsIMsgCompFormat.PlainText;
MailServices.compose.OpenComposeWindowWithParams(null, params);
for (let i = 0; i < 150; i++) {
  const cw = Services.wm.getMostRecentWindow("msgcompose");
  if (cw && cw.gMsgCompose && cw.document.readyState == "complete" && cw.document.getElementById("button-send") && !cw.document.getElementById("button-send").disabled) {
    await new Promise(r => setTimeout(r, 500));
    return { title: cw.document.title, signed: cw.gSendSigned };
  }
  await new Promise(r => setTimeout(r, 200));
}
throw new Error("the compose window did not become ready");
})();`

// Message is what the driver writes into the compose window.
var message = struct{ to, subject, body string }{
	"recipient@example.test", "Signed with the My Number Card", "This message is signed with the card's signature key.\n",
}

// runMail drives the S/MIME path; the PIN dialogs are answered by l.
func runMail(c config, m *Marionette, l *login, deadline time.Time) error {
	if err := m.SetContext("chrome", cmdTimeout); err != nil {
		return &stepError{"settings", err}
	}
	l.prompts = &alertPrompts{m: m, timeout: l.callTimeout}
	l.kb.waitClosed = true
	l.app = "Thunderbird"
	if c.select_ {
		if err := chooseCert(c, m, l, deadline); err != nil {
			return err
		}
	}
	return sendSigned(c, m, l, deadline)
}

// chooseCert picks the signing certificate in Account Settings and ticks
// "sign messages by default".
func chooseCert(c config, m *Marionette, l *login, deadline time.Time) error {
	var pane struct{ URL, Identity string }
	if err := m.Script(openSettingsJS, &pane, cmdTimeout); err != nil {
		return &stepError{"settings", err}
	}
	ok("settings", "Account Settings shows %s for %s", pane.URL, pane.Identity)

	if err := m.Script(clickLaterJS(paneJS, `Services.wm.getMostRecentWindow("mail:3pane")`, `paneElement("signingCertSelectButton")`), nil, cmdTimeout); err != nil {
		return &stepError{"select", err}
	}
	ok("select", "clicked Select… for the S/MIME signing certificate")

	// The password dialog(s), then the certificate picker.
	var picker *windowInfo
	err := l.until(deadline, "picker", func() (bool, error) {
		ws, err := windows(m, l.callTimeout)
		for i := range ws {
			if strings.HasSuffix(ws[i].URL, "/certpicker.xhtml") && len(ws[i].Entries) > 0 {
				picker = &ws[i]
			}
		}
		return picker != nil, err
	})
	if err != nil {
		return err
	}
	if len(picker.Entries) != 1 || !strings.HasPrefix(picker.Entries[0], c.token+":") {
		return failStep("picker", "the certificate list is %q, want the one certificate of %q", picker.Entries, c.token)
	}
	ok("picker", "%q lists one certificate of %q", picker.Title, c.token)
	// Enter (OK) until the window closes: a key that comes while the new
	// window is still being set up is lost, as a person's would be.
	kb := &keyboard{pid: c.pid, title: pickerTitle, waitClosed: true}
	for try := 1; ; try++ {
		err := kb.press("Return")
		if err == nil {
			ok("picker", "pressed Enter (OK); the window closed (key press %d)", try)
			break
		}
		if try == 3 {
			return &stepError{"picker", err}
		}
	}

	// The question about an encryption certificate: Cancel. Then the identity has the certificate.
	var id struct {
		Cert, DBKey string
		SignMail    bool
	}
	asked := false
	l.confirm = func(p Prompt) error {
		if !strings.HasPrefix(p.Text, encryptionQuestion) || asked {
			return failStep("selected", "unexpected %s dialog: %q", p.Type, p.Text)
		}
		asked = true
		ok("selected", "Thunderbird asks %q: pressed Escape (Cancel)", truncate(p.Text, 60))
		return (&keyboard{pid: c.pid, title: confirmTitle, waitClosed: true}).press("Escape")
	}
	err = l.until(deadline, "selected", func() (bool, error) {
		err := m.Script(identityJS, &id, l.callTimeout)
		return asked && id.Cert != "" && id.DBKey != "", err
	})
	if err != nil {
		return err
	}
	ok("selected", "the identity signs with the chosen certificate (signing_cert_name and signing_cert_dbkey set)")

	var signMail bool
	if err := m.Script(paneJS+signByDefaultJS, &signMail, cmdTimeout); err != nil || !signMail {
		return failStep("sign-default", "tick the sign-by-default checkbox: %v (signMail %v)", err, signMail)
	}
	ok("sign-default", "ticked \"sign messages by default\" and closed Account Settings")
	return nil
}

// sendSigned writes a new message and sends it; it must arrive signed.
func sendSigned(c config, m *Marionette, l *login, deadline time.Time) error {

	var comp struct {
		Title  string
		Signed bool
	}
	if err := m.Script(composeJS, &comp, cmdTimeout, message.to, message.subject, message.body); err != nil {
		return &stepError{"compose", err}
	}
	if !comp.Signed {
		return failStep("compose", "%q is not to be signed", comp.Title)
	}
	ok("compose", "%q, to be signed", comp.Title)

	// The SMTP server names messages 1.eml, 2.eml, ...
	old, err := filepath.Glob(filepath.Join(c.mailDir, "*.eml"))
	if err != nil {
		return &stepError{"send", err}
	}
	next := filepath.Join(c.mailDir, fmt.Sprintf("%d.eml", len(old)+1))
	if err := m.Script(clickLaterJS("", `Services.wm.getMostRecentWindow("msgcompose")`,
		`Services.wm.getMostRecentWindow("msgcompose").document.getElementById("button-send")`), nil, cmdTimeout); err != nil {
		return &stepError{"send", err}
	}
	ok("send", "clicked Send")
	err = l.until(deadline, "sent", func() (bool, error) {
		if _, err := os.Stat(next); err != nil {
			return false, nil
		}
		ws, err := windows(m, l.callTimeout)
		for _, w := range ws {
			if strings.HasSuffix(w.URL, "/messengercompose.xhtml") {
				return false, err
			}
		}
		return err == nil, err
	})
	if err != nil {
		return err
	}
	ok("sent", "the SMTP server received %s and the compose window closed", next)
	if l.typed != len(l.pins) {
		return failStep("pin-count", "%d PIN dialog(s) for %q, expected %d", l.typed, c.token, len(l.pins))
	}
	ok("pin-count", "%d PIN dialog(s) for %q, %d for any other token", l.typed, c.token, l.others)
	return nil
}

// alertPrompts reports the dialog that is open in Thunderbird
// (Thunderbird 153 writes no "Prompt opened" trace). A script in the
// session's window lists the open dialogs (chrome://global/content/commonDialog.xhtml
// windows, with their prompt type and text); when the dialog belongs to
// that window, Marionette refuses the script ("unexpected alert open:
// Unexpected promptPassword dialog detected") and WebDriver:GetAlertText
// gives the text. The keyboard waits for each answered dialog to close, so
// every dialog seen is a new one.
type alertPrompts struct {
	m       *Marionette
	timeout time.Duration
}

var alertTypeRE = regexp.MustCompile(`Unexpected (\w+) dialog detected`)

// dialogsJS lists the open dialogs: [{type, text}].
const dialogsJS = `const out = [];
for (const w of Services.wm.getEnumerator(null)) {
  if (w.location.href == "chrome://global/content/commonDialog.xhtml" && w.Dialog?.args) {
    out.push({ type: w.Dialog.args.promptType, text: w.Dialog.args.text });
  }
}
return out;`

func (a *alertPrompts) next() (Prompt, bool, error) {
	var open []struct{ Type, Text string }
	err := a.m.Script(dialogsJS, &open, a.timeout)
	var ce *CommandError
	switch {
	case err == nil:
		if len(open) == 0 {
			return Prompt{}, false, nil
		}
		return Prompt{Type: open[0].Type, Text: open[0].Text, At: time.Now()}, true, nil
	case errors.Is(err, ErrTimeout):
		return Prompt{}, false, nil
	case !errors.As(err, &ce):
		return Prompt{}, false, err
	case ce.Code != "unexpected alert open":
		return Prompt{}, false, nil
	}
	p := Prompt{Type: "unknown"}
	if m := alertTypeRE.FindStringSubmatch(ce.Message); m != nil {
		p.Type = m[1]
	}
	var text struct {
		Value string `json:"value"`
	}
	if err := a.m.Call("WebDriver:GetAlertText", nil, &text, a.timeout); err != nil {
		if errors.As(err, &ce) && ce.Code == "no such alert" { // closed in between
			return Prompt{}, false, nil
		}
		return Prompt{}, false, err
	}
	p.Text, p.At = text.Value, time.Now()
	return p, true, nil
}

type windowInfo struct {
	URL, Title string
	Entries    []string
}

// windows lists Thunderbird's windows.
func windows(m *Marionette, timeout time.Duration) ([]windowInfo, error) {
	var ws []windowInfo
	err := m.Script(windowsJS, &ws, timeout)
	return ws, err
}

// until answers dialogs until done reports true. A Marionette command
// error (an open dialog refuses scripts: "unexpected alert open") or no
// answer in time means "look again"; any other error ends the step.
func (l *login) until(deadline time.Time, step string, done func() (bool, error)) error {
	var lastErr error
	for {
		if time.Now().After(deadline) {
			return failStep(step, "not reached within the time limit (%d PIN dialog(s), last Marionette error: %v)", l.typed, lastErr)
		}
		p, found, err := l.prompts.next()
		if err != nil {
			return &stepError{step, err}
		}
		if found {
			if err := l.answer(p); err != nil {
				return err
			}
			continue
		}
		ok, err := done()
		var ce *CommandError
		switch {
		case err == nil && ok:
			return nil
		case err == nil, errors.Is(err, ErrTimeout), errors.As(err, &ce):
			if err != nil {
				lastErr = err
			}
		default:
			return &stepError{step, fmt.Errorf("%w", err)}
		}
		time.Sleep(l.poll)
	}
}
