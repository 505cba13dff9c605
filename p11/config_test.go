package p11

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/mynacard"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

func TestParseConfig(t *testing.T) {
	def := DefaultConfig()
	tests := []struct {
		name     string
		text     string
		want     Config
		problems []string // substrings, one per expected problem, in order
	}{
		{"empty", "", def, nil},
		{"comments and blanks", "# a comment\n\n   # indented\n\t\n", def, nil},
		{"all keys", "tokens = auth\nreaders = SONY\nlog_level = 3\nlog_file = /var/log/myna.log\n",
			Config{AuthToken: true, Readers: "SONY", LogLevel: 3, LogFile: "/var/log/myna.log"}, nil},
		{"no blanks around =", "tokens=sign\nlog_level=2", Config{SignToken: true, LogLevel: 2}, nil},
		{"both tokens, spaces and case", "tokens =  Sign , AUTH ", def, nil},
		{"inline comment", "readers = ACS ACR # the desk reader\n", Config{AuthToken: true, SignToken: true, Readers: "ACS ACR"}, nil},
		{"# inside a value is kept", "readers = Reader#2\n", Config{AuthToken: true, SignToken: true, Readers: "Reader#2"}, nil},
		{"quoted value", "readers = \"  spaced \"\n", Config{AuthToken: true, SignToken: true, Readers: "  spaced "}, nil},
		{"empty readers means all", "readers = x\nreaders =\n", def, nil},
		{"later line wins", "log_level = 1\nlog_level = 2\n", Config{AuthToken: true, SignToken: true, LogLevel: 2}, nil},
		{"CRLF line ends", "tokens = auth\r\nlog_level = 1\r\n", Config{AuthToken: true, LogLevel: 1}, nil},
		{"unknown key", "token = auth\n", def, []string{`test.conf:1: token: unknown key`}},
		{"bad tokens keep the default", "tokens = auth,pin\n", def, []string{`test.conf:1: tokens: "auth,pin" is not a list of auth and sign`}},
		{"empty tokens", "tokens =\n", def, []string{`test.conf:1: tokens:`}},
		{"bad tokens keep an earlier line", "tokens = auth\ntokens = none\n", Config{AuthToken: true}, []string{`test.conf:2: tokens:`}},
		{"log level out of range", "log_level = 4\n", def, []string{`test.conf:1: log_level: "4" is not a log level 0 to 3`}},
		{"log level not a number", "\n\nlog_level = debug\n", def, []string{`test.conf:3: log_level: "debug"`}},
		{"relative log file", "log_file = myna.log\n", def, []string{`test.conf:1: log_file: "myna.log" is not an absolute path`}},
		{"line without =", "tokens auth\n", def, []string{`test.conf:1: not a "key = value" line`}},
		{"empty key", "= auth\n", def, []string{`test.conf:1: not a "key = value" line`}},
		{"PIN scopes", "auth_pin_scope = session\nsign_pin_scope = Operation\n", Config{AuthToken: true, SignToken: true, AuthPINScope: ScopeSession}, nil},
		{"bad PIN scope keeps the default", "sign_pin_scope = forever\n", def, []string{`test.conf:1: sign_pin_scope: "forever" is not operation or session`}},
		{"notifications off", "notifications = false\n", Config{AuthToken: true, SignToken: true, NoNotifications: true}, nil},
		{"notifications back on", "notifications = off\nnotifications = Yes\n", def, nil},
		{"bad notifications keep them", "notifications = maybe\n", def, []string{`test.conf:1: notifications: "maybe" is not true or false, keeping true`}},
		{"good lines survive bad ones", "foo = 1\ntokens = auth\nlog_level = x\nreaders = R\n",
			Config{AuthToken: true, Readers: "R"}, []string{"test.conf:1: foo", "test.conf:3: log_level"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, problems := parseConfig("test.conf", []byte(tc.text), def)
			got.TokensFrom = "" // TestTokensFrom checks it
			assert.Equal(t, tc.want, got)
			require.Len(t, problems, len(tc.problems), "problems: %q", problems)
			for i, p := range tc.problems {
				assert.Contains(t, problems[i], p)
			}
		})
	}
}

func TestApplyEnv(t *testing.T) {
	file := Config{AuthToken: true, Readers: "FILE", LogLevel: 2, LogFile: "/file.log"}
	tests := []struct {
		name     string
		env      map[string]string
		want     Config
		problems int
	}{
		{"none", nil, file, 0},
		{"PIN scopes", map[string]string{EnvAuthPINScope: "session", EnvSignPINScope: "session"},
			Config{AuthToken: true, Readers: "FILE", LogLevel: 2, LogFile: "/file.log", AuthPINScope: ScopeSession, SignPINScope: ScopeSession}, 0},
		{"empty variables count as unset", map[string]string{EnvDebug: "", EnvLog: "", EnvTokens: "", EnvReaders: ""}, file, 0},
		{"debug level", map[string]string{EnvDebug: "3"}, Config{AuthToken: true, Readers: "FILE", LogLevel: 3, LogFile: "/file.log"}, 0},
		{"debug 0 turns the file's log off", map[string]string{EnvDebug: "0"}, Config{AuthToken: true, Readers: "FILE", LogFile: "/file.log"}, 0},
		{"debug above 3 is 3", map[string]string{EnvDebug: "9"}, Config{AuthToken: true, Readers: "FILE", LogLevel: 3, LogFile: "/file.log"}, 0},
		{"negative debug is off", map[string]string{EnvDebug: "-1"}, Config{AuthToken: true, Readers: "FILE", LogFile: "/file.log"}, 0},
		{"non-numeric debug is 1", map[string]string{EnvDebug: "yes"}, Config{AuthToken: true, Readers: "FILE", LogLevel: 1, LogFile: "/file.log"}, 0},
		{"log file (relative allowed)", map[string]string{EnvLog: "x.log"}, Config{AuthToken: true, Readers: "FILE", LogLevel: 2, LogFile: "x.log"}, 0},
		{"tokens", map[string]string{EnvTokens: "sign,auth"}, Config{AuthToken: true, SignToken: true, Readers: "FILE", LogLevel: 2, LogFile: "/file.log"}, 0},
		{"bad tokens keep the file's", map[string]string{EnvTokens: "both"}, file, 1},
		{"readers", map[string]string{EnvReaders: "Myna"}, Config{AuthToken: true, Readers: "Myna", LogLevel: 2, LogFile: "/file.log"}, 0},
		{"notifications off", map[string]string{EnvNotifications: "0"}, Config{AuthToken: true, Readers: "FILE", LogLevel: 2, LogFile: "/file.log", NoNotifications: true}, 0},
		{"bad notifications keep the file's", map[string]string{EnvNotifications: "none"}, file, 1},
	}
	named := map[string]string{"bad tokens keep the file's": EnvTokens, "bad notifications keep the file's": EnvNotifications}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, problems := applyEnv(func(k string) string { return tc.env[k] }, file)
			got.TokensFrom = "" // TestTokensFrom checks it
			assert.Equal(t, tc.want, got)
			assert.Len(t, problems, tc.problems)
			for _, p := range problems {
				assert.Contains(t, p, named[tc.name])
			}
		})
	}
}

func TestLoadConfigPaths(t *testing.T) {
	files := map[string]string{
		"/x/explicit.conf":                 "log_level = 1\n",
		"/xdg/myna-pkcs11.conf":            "log_level = 2\n",
		"/home/u/.config/myna-pkcs11.conf": "log_level = 3\n",
		SystemConfigFile:                   "tokens = auth\n",
		"/bad.conf":                        "nonsense\n",
	}
	tests := []struct {
		name     string
		env      map[string]string
		missing  []string // files that do not exist in this case
		want     Config
		problems []string
	}{
		{"MYNA_PKCS11_CONF wins", map[string]string{EnvConf: "/x/explicit.conf", "XDG_CONFIG_HOME": "/xdg", "HOME": "/home/u"}, nil,
			Config{AuthToken: true, SignToken: true, LogLevel: 1}, nil},
		{"XDG_CONFIG_HOME", map[string]string{"XDG_CONFIG_HOME": "/xdg", "HOME": "/home/u"}, nil,
			Config{AuthToken: true, SignToken: true, LogLevel: 2}, nil},
		{"~/.config without XDG_CONFIG_HOME", map[string]string{"HOME": "/home/u"}, nil,
			Config{AuthToken: true, SignToken: true, LogLevel: 3}, nil},
		{"relative XDG_CONFIG_HOME is ignored", map[string]string{"XDG_CONFIG_HOME": "xdg", "HOME": "/home/u"}, nil,
			Config{AuthToken: true, SignToken: true, LogLevel: 3}, nil},
		{"system file when there is no user file", map[string]string{"XDG_CONFIG_HOME": "/xdg", "HOME": "/home/u"}, []string{"/xdg/myna-pkcs11.conf"},
			Config{AuthToken: true}, nil},
		{"no HOME", nil, nil, Config{AuthToken: true}, nil},
		{"no file at all: defaults, silently", map[string]string{"HOME": "/home/u"}, []string{"/home/u/.config/myna-pkcs11.conf", SystemConfigFile},
			DefaultConfig(), nil},
		{"a named missing file is reported", map[string]string{EnvConf: "/nope.conf"}, nil,
			DefaultConfig(), []string{"/nope.conf: cannot read the configuration file"}},
		{"problems name the file", map[string]string{EnvConf: "/bad.conf"}, nil,
			DefaultConfig(), []string{"/bad.conf:1: not a"}},
		{"variables override the file", map[string]string{EnvConf: "/x/explicit.conf", EnvDebug: "3", EnvTokens: "auth"}, nil,
			Config{AuthToken: true, LogLevel: 3}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			read := func(p string) ([]byte, error) {
				for _, m := range tc.missing {
					if m == p {
						return nil, fs.ErrNotExist
					}
				}
				if s, ok := files[p]; ok {
					return []byte(s), nil
				}
				return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
			}
			got, problems := loadConfig(func(k string) string { return tc.env[k] }, read, "/usr/bin/pkcs11-tool")
			got.TokensFrom = "" // TestTokensFrom checks it
			assert.Equal(t, tc.want, got)
			require.Len(t, problems, len(tc.problems), "problems: %q", problems)
			for i, p := range tc.problems {
				assert.Contains(t, problems[i], p)
			}
		})
	}
}

func TestLoadConfigReadsTheRealFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "my.conf")
	require.NoError(t, os.WriteFile(path, []byte("tokens = auth\nreaders = ACS\n"), 0o600))
	t.Setenv(EnvConf, path)
	t.Setenv(EnvTokens, "")
	t.Setenv(EnvReaders, "")
	t.Setenv(EnvDebug, "")
	t.Setenv(EnvLog, "")
	c, problems := LoadConfig()
	assert.Empty(t, problems)
	assert.Equal(t, Config{AuthToken: true, Readers: "ACS", TokensFrom: path + ":1"}, c)
}

// configModule initialises a module with cfg over readers named names,
// each holding a default card.
func configModule(t *testing.T, cfg Config, names ...string) (*Module, []*sim.Reader) {
	t.Helper()
	var readers []*sim.Reader
	for _, n := range names {
		r := sim.NewReader(n)
		r.Insert(genCard(t, "default"))
		readers = append(readers, r)
	}
	m := NewModule(func() (cardos.Context, error) { return sim.NewContext(readers...), nil }, mynacard.Attach)
	m.UseConfig(cfg)
	require.NoError(t, m.Initialize(InitArgs{}))
	t.Cleanup(func() { m.Finalize() })
	return m, readers
}

// slotKinds names the token of each slot by its PIN length.
func slotKinds(t *testing.T, m *Module, slots []SlotID) []string {
	t.Helper()
	var kinds []string
	for _, s := range slots {
		ti, err := m.TokenInfo(s)
		require.NoError(t, err)
		si, err := m.SlotInfo(s)
		require.NoError(t, err)
		kind := "auth"
		if ti.MinPinLen != 4 {
			kind = "sign"
		}
		kinds = append(kinds, strings.TrimSpace(si.Description)+"/"+kind)
	}
	return kinds
}

func TestConfigTokensAndReaders(t *testing.T) {
	names := []string{"ACS ACR39U 00 00", "SONY FeliCa RC-S380 01 00"}
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"default", DefaultConfig(), []string{"ACS ACR39U 00 00/auth", "ACS ACR39U 00 00/sign", "SONY FeliCa RC-S380 01 00/auth", "SONY FeliCa RC-S380 01 00/sign"}},
		{"auth only", Config{AuthToken: true}, []string{"ACS ACR39U 00 00/auth", "SONY FeliCa RC-S380 01 00/auth"}},
		{"sign only", Config{SignToken: true}, []string{"ACS ACR39U 00 00/sign", "SONY FeliCa RC-S380 01 00/sign"}},
		{"one reader", Config{AuthToken: true, SignToken: true, Readers: "FeliCa"}, []string{"SONY FeliCa RC-S380 01 00/auth", "SONY FeliCa RC-S380 01 00/sign"}},
		{"one reader, auth only", Config{AuthToken: true, Readers: "ACS"}, []string{"ACS ACR39U 00 00/auth"}},
		{"no reader matches", Config{AuthToken: true, SignToken: true, Readers: "Gemalto"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := configModule(t, tc.cfg, names...)
			for _, present := range []bool{false, true} {
				slots, err := m.SlotList(present)
				require.NoError(t, err)
				assert.Equal(t, tc.want, slotKinds(t, m, slots), "tokenPresent=%v", present)
			}
		})
	}
}

func TestConfigHiddenSlotsAreInvalid(t *testing.T) {
	// Learn the slot IDs with both tokens shown, then hide the sign token
	// and another reader: their slot IDs are unknown to every call.
	m, _ := configModule(t, DefaultConfig(), "Reader A", "Reader B")
	all, err := m.SlotList(true)
	require.NoError(t, err)
	require.Len(t, all, 4)
	require.NoError(t, m.Finalize())

	m.UseConfig(Config{AuthToken: true, Readers: "Reader A"})
	require.NoError(t, m.Initialize(InitArgs{}))
	shown, err := m.SlotList(true)
	require.NoError(t, err)
	require.Equal(t, all[:1], shown, "slot IDs stay fixed per reader")
	for _, s := range all[1:] {
		_, err := m.SlotInfo(s)
		assert.Equal(t, "CKR_SLOT_ID_INVALID", rv(err), "slot %d", s)
		_, err = m.TokenInfo(s)
		assert.Equal(t, "CKR_SLOT_ID_INVALID", rv(err), "slot %d", s)
		_, err = m.OpenSession(s, ck.CKF_SERIAL_SESSION)
		assert.Equal(t, "CKR_SLOT_ID_INVALID", rv(err), "slot %d", s)
	}
	s, err := m.OpenSession(shown[0], ck.CKF_SERIAL_SESSION)
	require.NoError(t, err)
	require.NoError(t, m.Login(s, ck.CKU_USER, []byte(sim.DefaultAuthPIN)))
}

func TestConfigSlotEventsOnlyForShownSlots(t *testing.T) {
	m, readers := configModule(t, Config{AuthToken: true, Readers: "Reader A"}, "Reader A", "Reader B")
	slots, err := m.SlotList(false)
	require.NoError(t, err)
	require.Len(t, slots, 1)
	readers[1].Remove() // hidden reader: no event
	_, err = m.WaitForSlotEvent(true)
	assert.Equal(t, "CKR_NO_EVENT", rv(err))
	readers[0].Remove()
	id, err := m.WaitForSlotEvent(true)
	require.NoError(t, err)
	assert.Equal(t, slots[0], id, "the auth slot's event")
	_, err = m.WaitForSlotEvent(true)
	assert.Equal(t, "CKR_NO_EVENT", rv(err), "no event for the hidden sign slot")
}

func TestConfigProblemsAreLogged(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "myna.conf")
	logPath := filepath.Join(dir, "myna.log")
	require.NoError(t, os.WriteFile(conf, []byte("# test\nlog_level = 1\nlog_file = "+logPath+"\ntokens = auth\ncolour = blue\n"), 0o600))
	t.Setenv(EnvConf, conf)
	t.Setenv(EnvDebug, "")
	t.Setenv(EnvLog, "")
	t.Setenv(EnvTokens, "")
	t.Setenv(EnvReaders, "")
	r := sim.NewReader("Reader A")
	r.Insert(genCard(t, "default"))
	m := NewModule(func() (cardos.Context, error) { return sim.NewContext(r), nil }, mynacard.Attach)
	require.NoError(t, m.Initialize(InitArgs{}), "a configuration error never stops C_Initialize")
	slots, err := m.SlotList(true)
	require.NoError(t, err)
	assert.Len(t, slots, 1, "tokens = auth applied")
	require.NoError(t, m.Finalize())
	b, err := os.ReadFile(logPath)
	require.NoError(t, err)
	assert.Contains(t, string(b), conf+":5: colour: unknown key")
}
