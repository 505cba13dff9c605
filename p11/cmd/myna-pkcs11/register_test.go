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
		"[Install3B6073811A6ABF12]\nDefault=abc.default-esr\n\n[Profile2]\nName=no path\n"
	got := parseProfilesINI([]byte(ini), "/home/u/.mozilla/firefox")
	assert.Equal(t, []iniProfile{{"work", "/data/ff/work"}, {"default-esr", "/home/u/.mozilla/firefox/abc.default-esr"}}, got)
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
	t.Setenv("HOME", home)
	return home, firefox, thunderbird
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
