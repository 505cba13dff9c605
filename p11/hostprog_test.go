package p11

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHostDefaultTokens(t *testing.T) {
	tests := []struct {
		exe        string
		auth, sign bool
		from       string
	}{
		{"/usr/lib/firefox-esr/firefox-esr", true, false, "default for firefox-esr (a web browser)"},
		{"/usr/lib/firefox/firefox", true, false, "default for firefox (a web browser)"},
		{"/opt/firefox/firefox-bin", true, false, "default for firefox-bin (a web browser)"},
		{"/usr/lib/chromium/chromium", true, false, "default for chromium (a web browser)"},
		{"/opt/google/chrome/chrome", true, false, "default for chrome (a web browser)"},
		{"/opt/microsoft/msedge/msedge", true, false, "default for msedge (a web browser)"},
		{"/opt/brave.com/brave/brave", true, false, "default for brave (a web browser)"},
		{"/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/WebKitNetworkProcess", true, false, "default for WebKitNetworkProcess (a web browser)"},
		{"/usr/lib/firefox-esr/firefox-esr (deleted)", true, false, "default for firefox-esr (a web browser)"},
		{"/usr/lib/seamonkey/seamonkey", true, false, "default for seamonkey (a web browser)"},
		{"/usr/bin/pdfsig", false, true, "default for pdfsig (a document signer)"},
		{"/usr/lib/libreoffice/program/soffice.bin", false, true, "default for soffice.bin (a document signer)"},
		{"/usr/lib/thunderbird/thunderbird", false, true, "default for thunderbird (a mail program)"},
		{"/usr/lib/thunderbird/thunderbird-bin", false, true, "default for thunderbird-bin (a mail program)"},
		{"/usr/bin/evolution", false, true, "default for evolution (a mail program)"},
		{"/usr/bin/pamtester", true, false, "default for pamtester (a login program)"},
		{"/usr/sbin/sshd", true, false, "default for sshd (a login program)"},
		{"/usr/libexec/gdm-session-worker", true, false, "default for gdm-session-worker (a login program)"},
		{"/usr/bin/sudo", true, false, "default for sudo (a login program)"},
		{"/usr/bin/pkcs11_inspect", true, false, "default for pkcs11_inspect (a login program)"},
		{"/usr/libexec/sssd/p11_child", true, false, "default for p11_child (a login program)"},
		{"/usr/bin/pkcs11-tool", true, true, "default for pkcs11-tool (not a browser, signer, mail or login program)"},
		{"/usr/bin/ssh", true, false, "default for ssh (an SSH program)"},
		{"/usr/bin/ssh-keygen", true, false, "default for ssh-keygen (an SSH program)"},
		{"/usr/lib/openssh/ssh-pkcs11-helper", true, false, "default for ssh-pkcs11-helper (an SSH program)"},
		{"/usr/bin/python3.11", true, true, "default for python3.11 (not a browser, signer, mail or login program)"},
		{"/usr/bin/xmlsec1", true, true, "default for xmlsec1 (not a browser, signer, mail or login program)"},
		{"/tmp/firefox-esr.sh", true, true, "default for firefox-esr.sh (not a browser, signer, mail or login program)"}, // exact names only
		{"/usr/bin/Firefox", true, true, "default for Firefox (not a browser, signer, mail or login program)"},
		{"", true, true, "default for unknown program (not a browser, signer, mail or login program)"},
	}
	noFile := func(string) ([]byte, error) { return nil, fs.ErrNotExist }
	for _, tc := range tests {
		t.Run(tc.exe, func(t *testing.T) {
			c, problems := loadConfig(func(string) string { return "" }, noFile, tc.exe)
			assert.Empty(t, problems)
			assert.Equal(t, tc.auth, c.AuthToken, "auth token")
			assert.Equal(t, tc.sign, c.SignToken, "sign token")
			assert.Equal(t, tc.from, c.TokensFrom)
		})
	}
}

// An explicit "tokens", in the file or the variable, wins over the
// program's default; other keys do not count as choosing tokens.
func TestTokensFrom(t *testing.T) {
	const firefox = "/usr/lib/firefox-esr/firefox-esr"
	files := map[string]string{
		"/both.conf":  "# browsers too\ntokens = auth,sign\n",
		"/other.conf": "log_level = 1\n",
		"/bad.conf":   "tokens = everything\n",
	}
	read := func(p string) ([]byte, error) {
		if s, ok := files[p]; ok {
			return []byte(s), nil
		}
		return nil, fs.ErrNotExist
	}
	tests := []struct {
		name       string
		env        map[string]string
		auth, sign bool
		from       string
	}{
		{"the file's tokens line", map[string]string{EnvConf: "/both.conf"}, true, true, "/both.conf:2"},
		{"the variable", map[string]string{EnvTokens: "sign"}, false, true, EnvTokens},
		{"the variable over the file", map[string]string{EnvConf: "/both.conf", EnvTokens: "auth"}, true, false, EnvTokens},
		{"a file without tokens", map[string]string{EnvConf: "/other.conf"}, true, false, "default for firefox-esr (a web browser)"},
		{"a bad tokens line is no choice", map[string]string{EnvConf: "/bad.conf"}, true, false, "default for firefox-esr (a web browser)"},
		{"a bad variable is no choice", map[string]string{EnvTokens: "all"}, true, false, "default for firefox-esr (a web browser)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := loadConfig(func(k string) string { return tc.env[k] }, read, firefox)
			assert.Equal(t, tc.auth, c.AuthToken, "auth token")
			assert.Equal(t, tc.sign, c.SignToken, "sign token")
			assert.Equal(t, tc.from, c.TokensFrom)
		})
	}
}

// The real LoadConfig looks at the running program: this test binary is
// no browser, so both tokens.
func TestLoadConfigLooksAtTheRunningProgram(t *testing.T) {
	t.Setenv(EnvConf, filepath.Join(t.TempDir(), "none.conf"))
	t.Setenv(EnvTokens, "")
	c, _ := LoadConfig()
	exe, err := os.Executable()
	require.NoError(t, err)
	assert.True(t, c.AuthToken && c.SignToken)
	assert.Equal(t, "default for "+filepath.Base(exe)+" (not a browser, signer, mail or login program)", c.TokensFrom)
}

// A browser's module shows only the auth slot of each reader, and the
// choice is logged at level 1.
func TestBrowserSeesOnlyTheAuthToken(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "module.log")
	cfg := applyHostDefault(Config{LogLevel: LogInfo, LogFile: logPath}, "/usr/lib/chromium/chromium")
	m, _ := configModule(t, cfg, "Reader A", "Reader B")
	slots, err := m.SlotList(true)
	require.NoError(t, err)
	assert.Equal(t, []string{"Reader A/auth", "Reader B/auth"}, slotKinds(t, m, slots))
	log, err := os.ReadFile(logPath)
	require.NoError(t, err)
	assert.Contains(t, string(log), "configuration: tokens auth (default for chromium (a web browser))")

	cfg = applyHostDefault(Config{}, "/usr/bin/pdfsig")
	m, _ = configModule(t, cfg, "Reader A")
	slots, err = m.SlotList(true)
	require.NoError(t, err)
	assert.Equal(t, []string{"Reader A/sign"}, slotKinds(t, m, slots))
}
