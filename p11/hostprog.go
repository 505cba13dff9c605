package p11

import (
	"os"
	"path/filepath"
	"strings"
)

// The tokens a program sees when neither the configuration file nor
// MYNA_PKCS11_TOKENS says "tokens": chosen from the program that loaded
// the module (the basename of /proc/self/exe), as OpenSC does for
// browsers since 0.24.
//
// Why one module file and not one per key (as the J-LIS client ships):
// the module is a Go c-shared library, and two of them loaded into one
// process (a browser given the "auth" file and the "sign" file) would
// start two Go runtimes, which Go does not support (each installs its own
// signal handlers and thread state). One file with a default chosen from
// the host program needs no configuration and cannot end up twice in a
// process under two names.

// hostRole is what a host program uses the card for.
type hostRole int

const (
	// hostOther is any program not listed: both tokens.
	hostOther hostRole = iota
	// hostBrowser is a web browser: the authentication token only. A
	// browser must never offer the signature certificate (name, address,
	// birth date, sex) in a TLS handshake, and a second token means a
	// second PIN dialog (NSS asks for every token that needs a login).
	hostBrowser
	// hostSigner is a document signer (pdfsig, LibreOffice): the
	// signature token only, so that its one password goes to the right
	// token.
	hostSigner
	// hostMail is a mail program (Thunderbird, Evolution): the signature
	// token only. S/MIME signs with the signature key (the sign
	// certificate's key usage includes nonRepudiation, the auth
	// certificate's does not), and neither card key can decrypt S/MIME
	// (no keyEncipherment), so the authentication token has nothing to
	// offer a mail program. Given both, NSS asks for each token's password
	// whenever it looks for the user's certificates (choosing the S/MIME
	// certificate, the first signed send): two dialogs for one signature.
	hostMail
	// hostLogin is a program that logs a person in through PAM
	// (pam_pkcs11, or pam_sss with sssd's p11_child) or one of
	// pam_pkcs11's tools: the authentication token only. Logging in never
	// needs the signature key, and pam_pkcs11 sends the one PIN it asks
	// to the token of the slot it picks (with slot_description = "none",
	// the first slot with a token: pam_pkcs11.conf.example in
	// https://github.com/OpenSC/pam_pkcs11).
	hostLogin
	// hostSSH is an OpenSSH program: the authentication token only. SSH
	// never needs the signature key, yet given both tokens, ssh-add -s
	// answered with the signature password puts the legally binding key
	// into ssh-agent, which then signs with it for every process that
	// reaches the agent's socket (forwarded agents on other hosts too),
	// and ssh sends its one PIN to every token.
	hostSSH
)

// hostPrograms maps executable basenames to their role.
var hostPrograms = map[string]hostRole{
	// Firefox and its derivatives.
	"firefox": hostBrowser, "firefox-esr": hostBrowser, "firefox-bin": hostBrowser,
	"librewolf": hostBrowser, "waterfox": hostBrowser, "floorp": hostBrowser,
	// Chromium and its derivatives (NSS loads modules in the browser process).
	"chrome": hostBrowser, "chromium": hostBrowser, "chromium-browser": hostBrowser,
	"msedge": hostBrowser, "brave": hostBrowser, "opera": hostBrowser,
	"vivaldi": hostBrowser, "vivaldi-bin": hostBrowser, "yandex_browser": hostBrowser,
	// WebKitGTK (Epiphany, …) and Qt WebEngine browsers load PKCS#11 in helper processes.
	"epiphany": hostBrowser, "epiphany-browser": hostBrowser, "WebKitNetworkProcess": hostBrowser,
	"WebKitWebProcess": hostBrowser, "QtWebEngineProcess": hostBrowser, "falkon": hostBrowser,
	"konqueror": hostBrowser, "midori": hostBrowser,
	// Document signers.
	"pdfsig": hostSigner, "soffice.bin": hostSigner, "soffice": hostSigner, "oosplash": hostSigner,
	"okular": hostSigner,
	// Mail programs.
	"thunderbird": hostMail, "thunderbird-bin": hostMail, "betterbird": hostMail,
	"evolution": hostMail, "kmail": hostMail, "claws-mail": hostMail,
	// OpenSSH: ssh -I, ssh-keygen -D, and the helper ssh-agent runs for ssh-add -s
	// (the one that signs git commits with gpg.format ssh).
	"ssh": hostSSH, "ssh-keygen": hostSSH, "ssh-pkcs11-helper": hostSSH,
	// SeaMonkey is a browser and a mail program in one process: the browser rule wins.
	"seamonkey": hostBrowser,
	// Programs that run PAM's authentication in their own process.
	"login": hostLogin, "su": hostLogin, "sudo": hostLogin, "sshd": hostLogin,
	"sshd-session": hostLogin, "gdm-session-worker": hostLogin, "lightdm": hostLogin,
	"sddm-helper": hostLogin, "polkit-agent-helper-1": hostLogin, "xscreensaver-auth": hostLogin,
	"kscreenlocker_greet": hostLogin, "swaylock": hostLogin, "i3lock": hostLogin,
	"pamtester": hostLogin,
	// pam_pkcs11's tools (they show what the PAM module sees) and sssd's card helper.
	"pkcs11_inspect": hostLogin, "pkcs11_listcerts": hostLogin, "pklogin_finder": hostLogin,
	"pkcs11_eventmgr": hostLogin, "p11_child": hostLogin,
}

// String names the role in log lines.
func (r hostRole) String() string {
	switch r {
	case hostBrowser:
		return "a web browser"
	case hostSigner:
		return "a document signer"
	case hostMail:
		return "a mail program"
	case hostLogin:
		return "a login program"
	case hostSSH:
		return "an SSH program"
	}
	return "not a browser, signer, mail or login program"
}

// tokens returns which tokens the role gets by default.
func (r hostRole) tokens() (auth, sign bool) {
	switch r {
	case hostBrowser, hostLogin, hostSSH:
		return true, false
	case hostSigner, hostMail:
		return false, true
	}
	return true, true
}

// hostName returns the basename of the executable path exe, without the
// " (deleted)" the kernel appends when the file was replaced (an upgrade
// while the program runs).
func hostName(exe string) string {
	return filepath.Base(strings.TrimSuffix(exe, " (deleted)"))
}

// classifyHost returns the basename of exe and its role.
func classifyHost(exe string) (string, hostRole) {
	if exe == "" {
		return "", hostOther
	}
	name := hostName(exe)
	return name, hostPrograms[name]
}

// hostExecutable returns the path of the running program (on Linux the
// target of /proc/self/exe), or "" when it cannot be read.
func hostExecutable() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	return exe
}

// applyHostDefault chooses the tokens from the host program exe when the
// configuration did not (c.TokensFrom empty) and records the choice in
// c.TokensFrom.
func applyHostDefault(c Config, exe string) Config {
	if c.TokensFrom != "" {
		return c
	}
	name, role := classifyHost(exe)
	if name == "" {
		name = "unknown program"
	}
	c.AuthToken, c.SignToken = role.tokens()
	c.TokensFrom = "default for " + name + " (" + role.String() + ")"
	return c
}
