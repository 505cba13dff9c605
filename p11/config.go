package p11

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Configuration file locations and environment variables.
const (
	// EnvConf names the configuration file to read instead of the
	// default locations.
	EnvConf = "MYNA_PKCS11_CONF"
	// EnvDebug sets the log level (overrides log_level).
	EnvDebug = "MYNA_PKCS11_DEBUG"
	// EnvLog names the log file (overrides log_file).
	EnvLog = "MYNA_PKCS11_LOG"
	// EnvTokens lists the tokens to show (overrides tokens).
	EnvTokens = "MYNA_PKCS11_TOKENS"
	// EnvReaders filters the readers by name (overrides readers).
	EnvReaders = "MYNA_PKCS11_READERS"
	// EnvAuthPINScope sets how long the card stays verified for the
	// authentication PIN (overrides auth_pin_scope).
	EnvAuthPINScope = "MYNA_PKCS11_AUTH_PIN_SCOPE"
	// EnvSignPINScope sets the same for the signature password
	// (overrides sign_pin_scope).
	EnvSignPINScope = "MYNA_PKCS11_SIGN_PIN_SCOPE"
	// EnvNotifications turns the desktop notifications about the PIN's
	// tries on or off (overrides notifications).
	EnvNotifications = "MYNA_PKCS11_NOTIFICATIONS"

	// SystemConfigFile is read when there is no per-user file.
	SystemConfigFile = "/etc/myna-pkcs11.conf"
	// userConfigName is the per-user file's name in $XDG_CONFIG_HOME
	// (or ~/.config).
	userConfigName = "myna-pkcs11.conf"
)

// Log levels (log_level, MYNA_PKCS11_DEBUG).
const (
	LogOff   = 0 // no log
	LogInfo  = 1 // errors and notable events (card inserted, login refused)
	LogDebug = 2 // also every operation that reaches the card
	LogTrace = 3 // also every PKCS#11 call with its arguments and result
)

// Config is the module's configuration. Initialize reads it afresh each
// time with LoadConfig unless the program fixed it with Module.UseConfig.
type Config struct {
	// AuthToken and SignToken say which of each reader's two tokens get
	// a slot ("tokens = auth,sign"). With only AuthToken, browsers never
	// see the signature token.
	AuthToken, SignToken bool
	// TokensFrom says where AuthToken and SignToken came from, for the
	// log: "FILE:LINE" or MYNA_PKCS11_TOKENS when set, else (after
	// LoadConfig) "default for PROGRAM (ROLE)", the choice made from the
	// program that loaded the module; empty in DefaultConfig.
	TokensFrom string
	// Readers keeps only the readers whose name contains it; empty keeps
	// them all. Other readers are never touched.
	Readers string
	// LogLevel is LogOff to LogTrace.
	LogLevel int
	// LogFile is the file log lines are appended to; empty means
	// standard error.
	LogFile string
	// AuthPINScope and SignPINScope say how long the card stays verified
	// after a login to each token ("auth_pin_scope", "sign_pin_scope").
	AuthPINScope, SignPINScope PINScope
	// NoNotifications turns off the desktop notifications that tell a
	// wrong PIN that reached the card, the last try and a locked PIN
	// ("notifications = false"; they are on by default, as OpenSC's
	// enable_notifications).
	NoNotifications bool
}

// PINScope says how long the card stays verified after a login. While
// it is verified, any program on the machine can have the card sign with
// that key without the PIN (the card checks no more than its own
// security state), so the shorter the better.
type PINScope int

const (
	// ScopeOperation (the default, "operation") leaves the card verified
	// only inside the module's own PC/SC transactions: the PIN is held
	// in locked, never-dumped memory while the token is logged in, and
	// every signature verifies it again, signs and leaves the applet
	// again in one transaction. No other program can sign without the
	// PIN in between; another program's logout or a card reset does not
	// log the token out. Costs 5 APDUs more per signature; a held PIN is
	// sent only while the card reports every try left, and never again
	// after any answer but success.
	ScopeOperation PINScope = iota
	// ScopeSession ("session") verifies once at login and leaves the card
	// verified until logout or the last session closes, as most
	// smart-card modules do: fewest APDUs, but the card signs for any
	// program meanwhile, and another program's logout logs the token out.
	ScopeSession
)

// String returns the configuration value of the scope.
func (s PINScope) String() string {
	if s == ScopeSession {
		return "session"
	}
	return "operation"
}

// parsePINScope reads "operation" or "session".
func parsePINScope(v string) (PINScope, error) {
	switch strings.ToLower(v) {
	case "operation":
		return ScopeOperation, nil
	case "session":
		return ScopeSession, nil
	}
	return 0, fmt.Errorf("%q is not operation or session", v)
}

// DefaultConfig is the configuration without a file or variables and
// before the host program is looked at: both tokens of every reader, no
// log, the card verified only inside each operation for both tokens,
// desktop notifications on.
func DefaultConfig() Config {
	return Config{AuthToken: true, SignToken: true}
}

// LoadConfig reads the configuration the way Initialize does: the file
// named by MYNA_PKCS11_CONF if set, else $XDG_CONFIG_HOME/myna-pkcs11.conf
// (~/.config/myna-pkcs11.conf) if it exists, else /etc/myna-pkcs11.conf;
// then MYNA_PKCS11_DEBUG, MYNA_PKCS11_LOG, MYNA_PKCS11_TOKENS,
// MYNA_PKCS11_READERS, the two PIN-scope variables and
// MYNA_PKCS11_NOTIFICATIONS override the file (an empty variable counts as
// unset). A missing file means the defaults. When neither the file nor
// MYNA_PKCS11_TOKENS says which tokens to show, they are chosen from the
// program that loaded the module (see hostprog.go): browsers get the
// authentication token only, document signers and mail programs the
// signature token only, every other program both. It never fails: each line or variable it
// cannot use is described in problems (naming the file, line and key) and
// the value before it is kept.
func LoadConfig() (c Config, problems []string) {
	return loadConfig(os.Getenv, os.ReadFile, hostExecutable())
}

// loadConfig is LoadConfig with the environment, the file system and the
// host program's path as parameters, for tests.
func loadConfig(getenv func(string) string, readFile func(string) ([]byte, error), exe string) (Config, []string) {
	c := DefaultConfig()
	var problems []string
	path, explicit := configPath(getenv, readFile)
	if path != "" {
		data, err := readFile(path)
		switch {
		case err == nil:
			var p []string
			c, p = parseConfig(path, data, c)
			problems = append(problems, p...)
		case errors.Is(err, fs.ErrNotExist) && !explicit:
		default:
			problems = append(problems, fmt.Sprintf("%s: cannot read the configuration file, using the defaults: %v", path, err))
		}
	}
	c, p := applyEnv(getenv, c)
	return applyHostDefault(c, exe), append(problems, p...)
}

// configPath picks the file to read: explicit is true when
// MYNA_PKCS11_CONF named it. An empty path means none.
func configPath(getenv func(string) string, readFile func(string) ([]byte, error)) (path string, explicit bool) {
	if p := getenv(EnvConf); p != "" {
		return p, true
	}
	dir := getenv("XDG_CONFIG_HOME")
	if !filepath.IsAbs(dir) {
		dir = ""
		if home := getenv("HOME"); filepath.IsAbs(home) {
			dir = filepath.Join(home, ".config")
		}
	}
	if dir != "" {
		p := filepath.Join(dir, userConfigName)
		if _, err := readFile(p); !errors.Is(err, fs.ErrNotExist) {
			return p, false
		}
	}
	return SystemConfigFile, false
}

// parseConfig applies the "key = value" lines of a configuration file
// named src to c. Blank lines and lines starting with # are skipped, as
// is the rest of a line after a # preceded by blanks; a value may be in
// double quotes. Later lines win.
func parseConfig(src string, data []byte, c Config) (Config, []string) {
	var problems []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := stripComment(sc.Text())
		if line == "" {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" {
			problems = append(problems, fmt.Sprintf("%s:%d: not a \"key = value\" line, ignored", src, n))
			continue
		}
		value = unquote(strings.TrimSpace(value))
		var err error
		c, err = setKey(c, key, value)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s:%d: %s: %v", src, n, key, err))
		} else if key == "tokens" {
			c.TokensFrom = fmt.Sprintf("%s:%d", src, n)
		}
	}
	if err := sc.Err(); err != nil {
		problems = append(problems, fmt.Sprintf("%s: reading stopped: %v", src, err))
	}
	return c, problems
}

// stripComment removes a comment and surrounding blanks from a line.
func stripComment(line string) string {
	line = strings.TrimSpace(line)
	if strings.HasPrefix(line, "#") {
		return ""
	}
	for i := 1; i < len(line); i++ {
		if line[i] == '#' && (line[i-1] == ' ' || line[i-1] == '\t') {
			return strings.TrimSpace(line[:i])
		}
	}
	return line
}

// unquote strips one pair of surrounding double quotes.
func unquote(v string) string {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1]
	}
	return v
}

// setKey sets one key of c; on error c is returned unchanged.
func setKey(c Config, key, value string) (Config, error) {
	switch key {
	case "tokens":
		auth, sign, err := parseTokens(value)
		if err != nil {
			return c, err
		}
		c.AuthToken, c.SignToken = auth, sign
	case "readers":
		c.Readers = value
	case "log_level":
		n, err := strconv.Atoi(value)
		if err != nil || n < LogOff || n > LogTrace {
			return c, fmt.Errorf("%q is not a log level 0 to 3, keeping %d", value, c.LogLevel)
		}
		c.LogLevel = n
	case "log_file":
		if value != "" && !filepath.IsAbs(value) {
			return c, fmt.Errorf("%q is not an absolute path, ignored", value)
		}
		c.LogFile = value
	case "auth_pin_scope", "sign_pin_scope":
		s, err := parsePINScope(value)
		if err != nil {
			return c, fmt.Errorf("%v, ignored", err)
		}
		if key == "auth_pin_scope" {
			c.AuthPINScope = s
		} else {
			c.SignPINScope = s
		}
	case "notifications":
		on, err := parseSwitch(value)
		if err != nil {
			return c, fmt.Errorf("%v, keeping %v", err, !c.NoNotifications)
		}
		c.NoNotifications = !on
	default:
		return c, errors.New("unknown key, ignored (known: tokens, readers, log_level, log_file, auth_pin_scope, sign_pin_scope, notifications)")
	}
	return c, nil
}

// parseSwitch reads true, yes, on or 1, and false, no, off or 0.
func parseSwitch(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true", "yes", "on", "1":
		return true, nil
	case "false", "no", "off", "0":
		return false, nil
	}
	return false, fmt.Errorf("%q is not true or false", v)
}

// tokensValue writes the tokens shown as a "tokens" value.
func (c Config) tokensValue() string {
	switch {
	case c.AuthToken && c.SignToken:
		return "auth,sign"
	case c.AuthToken:
		return "auth"
	case c.SignToken:
		return "sign"
	}
	return "none"
}

// parseTokens reads "auth", "sign" or both, separated by commas.
func parseTokens(v string) (auth, sign bool, err error) {
	for _, t := range strings.Split(v, ",") {
		switch strings.ToLower(strings.TrimSpace(t)) {
		case "auth":
			auth = true
		case "sign":
			sign = true
		default:
			return false, false, fmt.Errorf("%q is not a list of auth and sign (as in \"auth,sign\"), keeping the tokens before it", v)
		}
	}
	return auth, sign, nil
}

// applyEnv lets the environment override c.
func applyEnv(getenv func(string) string, c Config) (Config, []string) {
	var problems []string
	if v := getenv(EnvDebug); v != "" {
		c.LogLevel = envLevel(v)
	}
	if v := getenv(EnvLog); v != "" {
		c.LogFile = v
	}
	if v := getenv(EnvTokens); v != "" {
		auth, sign, err := parseTokens(v)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", EnvTokens, err))
		} else {
			c.AuthToken, c.SignToken, c.TokensFrom = auth, sign, EnvTokens
		}
	}
	if v := getenv(EnvReaders); v != "" {
		c.Readers = v
	}
	for _, e := range []struct {
		name  string
		scope *PINScope
	}{{EnvAuthPINScope, &c.AuthPINScope}, {EnvSignPINScope, &c.SignPINScope}} {
		if v := getenv(e.name); v != "" {
			s, err := parsePINScope(v)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v, keeping %v", e.name, err, *e.scope))
				continue
			}
			*e.scope = s
		}
	}
	if v := getenv(EnvNotifications); v != "" {
		on, err := parseSwitch(v)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v, keeping %v", EnvNotifications, err, !c.NoNotifications))
		} else {
			c.NoNotifications = !on
		}
	}
	return c, problems
}

// envLevel reads MYNA_PKCS11_DEBUG: a number (negative is off, above 3 is
// 3) or any other text, which means 1.
func envLevel(v string) int {
	n, err := strconv.Atoi(v)
	if err != nil {
		return LogInfo
	}
	return max(LogOff, min(n, LogTrace))
}
