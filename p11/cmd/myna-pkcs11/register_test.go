package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseProfilesINI(t *testing.T) {
	ini := "[General]\nStartWithLastProfile=1\n\n[Profile1]\nName=work\nIsRelative=0\nPath=/data/ff/work\n\n" +
		"[Profile0]\r\nName=default-esr\r\nIsRelative=1\r\nPath=abc.default-esr\r\nDefault=1\r\n\n" +
		"[Install3B6073811A6ABF12]\nDefault=abc.default-esr\nLocked=1\n\n[Profile2]\nName=no path\n"
	profiles, installs := parseProfilesINI([]byte(ini), "/home/u/.mozilla/firefox", false)
	assert.Equal(t, []iniProfile{{"work", "/data/ff/work", false}, {"default-esr", "/home/u/.mozilla/firefox/abc.default-esr", true}}, profiles)
	assert.Equal(t, []string{"/home/u/.mozilla/firefox/abc.default-esr"}, installs)

	profiles, installs = parseProfilesINI([]byte("[3B6073811A6ABF12]\nDefault=x.default-esr\nLocked=1\n\n[46F492E0ACFF84D4]\nDefault=/data/other\n"), "/r", true)
	assert.Empty(t, profiles)
	assert.Equal(t, []string{"/r/x.default-esr", "/data/other"}, installs)
}

// makeHome creates the files of a fake home: "dir/" a directory, "link ->
// target" a symbolic link (target relative to the home), else a file
// with its content.
func makeHome(t *testing.T, files map[string]string) string {
	t.Helper()
	home := t.TempDir()
	for name, content := range files {
		p := filepath.Join(home, name)
		if before, target, ok := strings.Cut(name, " -> "); ok {
			p = filepath.Join(home, before)
			require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
			require.NoError(t, os.Symlink(filepath.Join(home, target), p))
			continue
		}
		if strings.HasSuffix(name, "/") {
			require.NoError(t, os.MkdirAll(p, 0o700))
			continue
		}
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
		require.NoError(t, os.WriteFile(p, []byte(strings.ReplaceAll(content, "HOME", home)), 0o600))
	}
	return home
}

// Firefox ESR 153 on a fresh home (checked by running it with an empty
// HOME): ~/.config/mozilla/firefox with an unused "default" profile
// marked Default=1 and the "default-esr" profile installs.ini starts.
var (
	xdgProfilesINI = "[Profile1]\nName=default\nIsRelative=1\nPath=5f.default\nDefault=1\n\n" +
		"[Profile0]\nName=default-esr\nIsRelative=1\nPath=3g.default-esr\n\n" +
		"[General]\nStartWithLastProfile=1\nVersion=2\n\n[Install3B6073811A6ABF12]\nDefault=3g.default-esr\nLocked=1\n"
	xdgInstallsINI = "[3B6073811A6ABF12]\nDefault=3g.default-esr\nLocked=1\n"
	legacyINI      = "[Profile0]\nName=default-esr\nIsRelative=1\nPath=x1.default-esr\nDefault=1\n"
)

func TestFindDBs(t *testing.T) {
	const (
		noFirefox     = "Firefox: not found: no profile found in ~/.mozilla/firefox or ~/.config/mozilla/firefox"
		noThunderbird = "Thunderbird: not found: no profile found in ~/.thunderbird, ~/.mozilla-thunderbird or ~/.config/thunderbird"
		chromium      = "Chromium: ~/.pki/nssdb"
		noLibreOffice = "LibreOffice: not found: no certificate path set, and no profile in ~/.thunderbird or ~/.mozilla/firefox, where it looks (not in ~/.config/mozilla)"
	)
	tests := []struct {
		name  string
		files map[string]string
		env   map[string]string // XDG_CONFIG_HOME (HOME/… is the home), MOZILLA_CERTIFICATE_FOLDER
		want  []string
	}{
		{"nothing: every program says where it looked", map[string]string{}, nil,
			[]string{noFirefox, noThunderbird, chromium, noLibreOffice}},
		{"legacy Firefox", map[string]string{".mozilla/firefox/profiles.ini": legacyINI, ".mozilla/firefox/x1.default-esr/": ""}, nil,
			[]string{"Firefox default-esr: ~/.mozilla/firefox/x1.default-esr", noThunderbird, chromium,
				`LibreOffice: uses: reads Firefox profile "default-esr" (HOME/.mozilla/firefox/x1.default-esr) (the default profile in ~/.mozilla/firefox/profiles.ini)`}},
		{"XDG Firefox as Firefox ESR 153 creates it: LibreOffice does not look there", map[string]string{
			".config/mozilla/firefox/profiles.ini": xdgProfilesINI, ".config/mozilla/firefox/installs.ini": xdgInstallsINI,
			".config/mozilla/firefox/5f.default/": "", ".config/mozilla/firefox/3g.default-esr/": ""}, nil,
			[]string{"Firefox default: ~/.config/mozilla/firefox/5f.default", "Firefox default-esr: ~/.config/mozilla/firefox/3g.default-esr",
				noThunderbird, chromium, noLibreOffice}},
		{"$XDG_CONFIG_HOME moves the XDG directory", map[string]string{
			"conf/mozilla/firefox/profiles.ini": xdgProfilesINI, "conf/mozilla/firefox/3g.default-esr/": "",
			".config/mozilla/firefox/profiles.ini": xdgProfilesINI, ".config/mozilla/firefox/3g.default-esr/": ""},
			map[string]string{"XDG_CONFIG_HOME": "HOME/conf"},
			[]string{"Firefox default-esr: ~/conf/mozilla/firefox/3g.default-esr",
				"Thunderbird: not found: no profile found in ~/.thunderbird, ~/.mozilla-thunderbird or ~/conf/thunderbird", chromium, noLibreOffice}},
		{"a relative $XDG_CONFIG_HOME is ignored", map[string]string{
			".config/mozilla/firefox/profiles.ini": xdgProfilesINI, ".config/mozilla/firefox/3g.default-esr/": ""},
			map[string]string{"XDG_CONFIG_HOME": "conf"},
			[]string{"Firefox default-esr: ~/.config/mozilla/firefox/3g.default-esr", noThunderbird, chromium, noLibreOffice}},
		{"both layouts, an absolute path, a profile only installs.ini names, a link reached twice", map[string]string{
			".mozilla/firefox/profiles.ini":        legacyINI + "\n[Profile1]\nName=work\nIsRelative=0\nPath=HOME/data/work\n",
			".mozilla/firefox/installs.ini":        "[AAAA]\nDefault=HOME/data/nightly\n",
			".config/mozilla/firefox/profiles.ini": "[Profile0]\nName=old\nIsRelative=1\nPath=old\n",
			".thunderbird/profiles.ini":            "[Profile0]\nName=mail\nIsRelative=1\nPath=m.default\n",
			".mozilla/firefox/x1.default-esr/":     "",
			"data/work/":                           "",
			"data/nightly/":                        "",
			".thunderbird/m.default/":              "",
			".config/mozilla/firefox/old -> .mozilla/firefox/x1.default-esr": "",
			".mozilla-thunderbird -> .thunderbird":                           ""}, nil,
			[]string{"Firefox default-esr: ~/.mozilla/firefox/x1.default-esr", "Firefox work: ~/data/work", "Firefox nightly: ~/data/nightly",
				"Thunderbird mail: ~/.thunderbird/m.default", chromium,
				`LibreOffice: uses: reads Thunderbird profile "mail" (HOME/.thunderbird/m.default) (the default profile in ~/.thunderbird/profiles.ini)`}},
		{"a listed profile that is gone", map[string]string{".thunderbird/profiles.ini": "[Profile0]\nName=gone\nIsRelative=1\nPath=g\n"}, nil,
			[]string{noFirefox, noThunderbird, chromium,
				`LibreOffice: not found: the default profile in ~/.thunderbird/profiles.ini names HOME/.thunderbird/g, which is not a directory`}},
		{"LibreOffice's certificate path setting: its own database", map[string]string{
			".config/libreoffice/4/user/registrymodifications.xcu": `<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema">
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="FirstRun" oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="CertDir" oor:op="fuse"><value>HOME/signing</value></prop></item>
</oor:items>`, "signing/": "", ".mozilla/firefox/profiles.ini": legacyINI, ".mozilla/firefox/x1.default-esr/": ""}, nil,
			[]string{"Firefox default-esr: ~/.mozilla/firefox/x1.default-esr", noThunderbird, chromium, "LibreOffice: ~/signing"}},
		{"LibreOffice's certificate path is Chromium's database", map[string]string{
			".config/libreoffice/4/user/registrymodifications.xcu": `<oor:items xmlns:oor="http://openoffice.org/2001/registry"><item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="CertDir" oor:op="fuse"><value>HOME/.pki/nssdb</value></prop></item></oor:items>`,
			".pki/nssdb/": ""}, nil,
			[]string{noFirefox, noThunderbird, chromium,
				`LibreOffice: uses: reads Chromium (HOME/.pki/nssdb) (its certificate path setting in ~/.config/libreoffice/4/user/registrymodifications.xcu)`}},
		{"$MOZILLA_CERTIFICATE_FOLDER names Chromium's database before register creates it", map[string]string{}, map[string]string{"MOZILLA_CERTIFICATE_FOLDER": "sql:HOME/.pki/nssdb"},
			[]string{noFirefox, noThunderbird, chromium,
				`LibreOffice: uses: reads Chromium (HOME/.pki/nssdb) ($MOZILLA_CERTIFICATE_FOLDER)`}},
		{"$MOZILLA_CERTIFICATE_FOLDER comes first", map[string]string{
			".mozilla/firefox/profiles.ini": legacyINI, ".mozilla/firefox/x1.default-esr/": "", "certs/": ""},
			map[string]string{"MOZILLA_CERTIFICATE_FOLDER": "sql:HOME/certs"},
			[]string{"Firefox default-esr: ~/.mozilla/firefox/x1.default-esr", noThunderbird, chromium, "LibreOffice: ~/certs"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := makeHome(t, tt.files)
			setHome(t, home)
			for k, v := range tt.env {
				t.Setenv(k, strings.ReplaceAll(v, "HOME", home))
			}
			dbs, err := findDBs(home, configHome(home))
			require.NoError(t, err)
			var got []string
			for _, db := range dbs {
				line := db.program
				switch {
				case db.absent != "":
					line += ": not found: " + db.absent
				case db.note != "":
					line += ": uses: " + db.note
				case db.profile != "":
					line += " " + db.profile + ": " + tilde(home, db.dir)
				default:
					line += ": " + tilde(home, db.dir)
				}
				got = append(got, strings.ReplaceAll(line, home, "HOME"))
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestListModules(t *testing.T) {
	dir := t.TempDir()
	mods, err := listModules(dir)
	require.NoError(t, err)
	assert.Empty(t, mods, "no pkcs11.txt: no modules")
	txt := "library=\nname=NSS Internal PKCS #11 Module\nparameters=x\n\nlibrary=/usr/lib/a.so\nname=\"A b\"\nNSS=slotParams={}\n\nlibrary=/b.so\r\nname=B\r\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pkcs11.txt"), []byte(txt), 0o600))
	mods, err = listModules(dir)
	require.NoError(t, err)
	assert.Equal(t, []nssModule{{"A b", "/usr/lib/a.so"}, {"B", "/b.so"}}, mods)
}

func TestProfileInUse(t *testing.T) {
	dir := t.TempDir()
	assert.Zero(t, profileInUse(dir), "no lock files")
	require.NoError(t, os.Symlink(fmt.Sprintf("127.0.1.1:+%d", os.Getpid()), filepath.Join(dir, "lock")))
	assert.Equal(t, os.Getpid(), profileInUse(dir), "lock names a live process")

	stale := t.TempDir()
	cmd := exec.Command("true")
	require.NoError(t, cmd.Run())
	require.NoError(t, os.Symlink(fmt.Sprintf("127.0.1.1:+%d", cmd.Process.Pid), filepath.Join(stale, "lock")))
	require.NoError(t, os.WriteFile(filepath.Join(stale, ".parentlock"), nil, 0o600))
	assert.Zero(t, profileInUse(stale), "a lock left by a crashed Firefox does not count")
}

// A POSIX lock on .parentlock held by another process (as Firefox holds
// it) means the profile is in use.
func TestProfileInUseParentLock(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is needed to hold a POSIX lock from another process")
	}
	dir := t.TempDir()
	lock := filepath.Join(dir, ".parentlock")
	require.NoError(t, os.WriteFile(lock, nil, 0o600))
	holder := exec.Command(py, "-c", "import fcntl,sys; f=open(sys.argv[1],'r+'); fcntl.lockf(f, fcntl.LOCK_EX); print('held', flush=True); sys.stdin.read()", lock)
	stdin, err := holder.StdinPipe()
	require.NoError(t, err)
	stdout, err := holder.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, holder.Start())
	defer func() { stdin.Close(); holder.Wait() }()
	buf := make([]byte, 5)
	_, err = stdout.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, holder.Process.Pid, profileInUse(dir))
}

// testModule is a real PKCS#11 module modutil can load (register does not
// care which module it adds).
const testModule = "/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-trust.so"

// fakeHome creates a home with a Firefox profile (named in profiles.ini,
// database created as Firefox does) and a Thunderbird profile without a
// database yet, and points HOME at it.
func fakeHome(t *testing.T) (home, firefox, thunderbird string) {
	t.Helper()
	for _, tool := range []string{"modutil", "certutil"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed (apt install libnss3-tools, test/install-deps.sh)", tool)
		}
	}
	if _, err := os.Stat(testModule); err != nil {
		t.Fatalf("%s is needed (apt install p11-kit-modules, test/install-deps.sh)", testModule)
	}
	home = t.TempDir()
	firefox = filepath.Join(home, ".mozilla/firefox/x1.default-esr")
	thunderbird = filepath.Join(home, ".thunderbird/y2.default")
	require.NoError(t, os.MkdirAll(firefox, 0o700))
	require.NoError(t, os.MkdirAll(thunderbird, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(home, ".mozilla/firefox/profiles.ini"),
		[]byte("[Profile0]\nName=default-esr\nIsRelative=1\nPath=x1.default-esr\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(home, ".thunderbird/profiles.ini"),
		[]byte("[Profile0]\nName=default\nIsRelative=1\nPath=y2.default\n"), 0o600))
	out, err := exec.Command("certutil", "-N", "--empty-password", "-d", "sql:"+firefox).CombinedOutput()
	require.NoError(t, err, "%s", out)
	setHome(t, home)
	return home, firefox, thunderbird
}

// setHome points HOME at home, with no XDG_CONFIG_HOME or
// MOZILLA_CERTIFICATE_FOLDER of the caller's.
func setHome(t *testing.T, home string) {
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("MOZILLA_CERTIFICATE_FOLDER", "")
}

func TestRegisterUnregister(t *testing.T) {
	home, firefox, thunderbird := fakeHome(t)
	chromium := filepath.Join(home, ".pki/nssdb")
	snapshot := func() map[string]string {
		m := map[string]string{}
		filepath.Walk(home, func(p string, fi os.FileInfo, err error) error {
			if err == nil && !fi.IsDir() {
				b, _ := os.ReadFile(p)
				m[p] = string(b)
			}
			return nil
		})
		return m
	}
	has := func(dir string) []nssModule {
		mods, err := listModules(dir)
		require.NoError(t, err)
		var ours []nssModule
		for _, m := range mods {
			if m.library == testModule {
				ours = append(ours, m)
			}
		}
		return ours
	}

	// --dry-run changes nothing and says what it would do.
	before := snapshot()
	out, errOut, rc := runCmd(t, "", "register", "--dry-run", "--module", testModule)
	assert.Equal(t, 0, rc, errOut)
	assert.Equal(t, 3, strings.Count(out, "would add"), out)
	assert.Equal(t, before, snapshot(), "dry-run changed files")

	// register adds to all three, once.
	out, errOut, rc = runCmd(t, "", "register", "--module", testModule)
	require.Equal(t, 0, rc, "%s%s", out, errOut)
	assert.Equal(t, 3, strings.Count(out, "added "), out)
	for _, d := range []string{firefox, thunderbird, chromium} {
		assert.Equal(t, []nssModule{{registerName, testModule}}, has(d), d)
	}
	out, _, rc = runCmd(t, "", "register", "--module", testModule)
	assert.Equal(t, 0, rc)
	assert.Equal(t, 3, strings.Count(out, "unchanged"), "idempotent: %s", out)
	for _, d := range []string{firefox, thunderbird, chromium} {
		assert.Len(t, has(d), 1, "registered twice in %s", d)
	}

	// A running Firefox: unregister refuses that profile, says why, and
	// still handles the others.
	lock := filepath.Join(firefox, "lock")
	require.NoError(t, os.Symlink(fmt.Sprintf("127.0.1.1:+%d", os.Getpid()), lock))
	out, errOut, rc = runCmd(t, "", "unregister", "--module", testModule)
	assert.Equal(t, 1, rc)
	assert.Contains(t, out, "refused    Firefox profile \"default-esr\"")
	assert.Contains(t, out, "Firefox is running on this profile")
	assert.Contains(t, out, "quit Firefox, then run this again")
	assert.Contains(t, errOut, "run \"myna-pkcs11 unregister\" again")
	assert.Len(t, has(firefox), 1, "refused profile changed")
	assert.Empty(t, has(thunderbird))
	assert.Empty(t, has(chromium))
	require.NoError(t, os.Remove(lock))

	// A module the user added by hand under another name stays.
	o, err := exec.Command("modutil", "-dbdir", "sql:"+chromium, "-add", "mine", "-libfile", testModule, "-force").CombinedOutput()
	require.NoError(t, err, "%s", o)
	out, _, rc = runCmd(t, "", "unregister", "--module", testModule)
	assert.Equal(t, 0, rc, out)
	assert.Contains(t, out, "removed    Firefox profile")
	assert.Contains(t, out, `(left "mine": not added by register)`)
	assert.Empty(t, has(firefox))
	assert.Equal(t, []nssModule{{"mine", testModule}}, has(chromium))
	out, _, rc = runCmd(t, "", "register", "--module", testModule)
	assert.Equal(t, 0, rc)
	assert.Contains(t, out, `Chromium (`+chromium+`): already has `+testModule+` as "mine"`)
}

func TestRegisterErrorsAndPolicy(t *testing.T) {
	fakeHome(t)
	_, errOut, rc := runCmd(t, "", "register", "--module", "/nonexistent/libmyna-pkcs11.so")
	assert.Equal(t, 1, rc)
	assert.Contains(t, errOut, "the module is not at /nonexistent/libmyna-pkcs11.so")
	assert.Contains(t, errOut, "--module PATH")
	_, _, rc = runCmd(t, "", "register", "extra")
	assert.Equal(t, 2, rc)
	_, _, rc = runCmd(t, "", "unregister", "--bogus")
	assert.Equal(t, 2, rc)

	out, errOut, rc := runCmd(t, "", "register", "--policy", "--module", testModule)
	assert.Equal(t, 0, rc)
	assert.JSONEq(t, `{"policies":{"SecurityDevices":{"Add":{"My Number Card (myna-pkcs11)":"`+testModule+`"}}}}`, out)
	assert.Contains(t, errOut, "/etc/firefox/policies/policies.json")
}

// On a home where Firefox ESR 153 made its first profile, register says
// per program what it would do and what it did not find (it used to
// skip Firefox without a word), and --help is the command's own.
func TestRegisterSaysPerProgram(t *testing.T) {
	home := makeHome(t, map[string]string{
		".config/mozilla/firefox/profiles.ini": xdgProfilesINI, ".config/mozilla/firefox/installs.ini": xdgInstallsINI,
		".config/mozilla/firefox/5f.default/": "", ".config/mozilla/firefox/3g.default-esr/": ""})
	setHome(t, home)
	out, errOut, rc := runCmd(t, "", "register", "--dry-run", "--module", testModule)
	require.Equal(t, 0, rc, errOut)
	add := `: would add "My Number Card (myna-pkcs11)" (` + testModule + ")"
	assert.Equal(t, []string{
		`dry-run    Firefox profile "default" (HOME/.config/mozilla/firefox/5f.default)` + add,
		`dry-run    Firefox profile "default-esr" (HOME/.config/mozilla/firefox/3g.default-esr)` + add,
		"not found  Thunderbird: no profile found in ~/.thunderbird, ~/.mozilla-thunderbird or ~/.config/thunderbird",
		`dry-run    Chromium (HOME/.pki/nssdb)` + add,
		"not found  LibreOffice: no certificate path set, and no profile in ~/.thunderbird or ~/.mozilla/firefox, where it looks (not in ~/.config/mozilla): to sign with LibreOffice, set Tools > Options > LibreOffice > Security > Certificate Path to ~/.pki/nssdb",
	}, strings.Split(strings.TrimSpace(strings.ReplaceAll(out, home, "HOME")), "\n"))

	out, _, rc = runCmd(t, "", "unregister", "--dry-run", "--module", testModule)
	assert.Equal(t, 0, rc)
	assert.Contains(t, strings.Split(out, "\n"),
		"not found  LibreOffice: no certificate path set, and no profile in ~/.thunderbird or ~/.mozilla/firefox, where it looks (not in ~/.config/mozilla)",
		"unregister gives no advice on setting up LibreOffice")

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"register", "--help"}, registerUsage},
		{[]string{"register", "-h"}, registerUsage},
		{[]string{"unregister", "--help"}, unregisterUsage},
	} {
		out, _, rc := runCmd(t, "", tc.args...)
		assert.Equal(t, 0, rc, tc.args)
		assert.Equal(t, tc.want, out, tc.args)
	}
	_, _, rc = runCmd(t, "", "unregister", "--policy")
	assert.Equal(t, 2, rc)
	_, errOut, rc = runCmd(t, "", "register", "--bogus")
	assert.Equal(t, 2, rc)
	assert.Contains(t, errOut, "Usage: myna-pkcs11 register [--dry-run]")
}
