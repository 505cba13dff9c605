package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// nssDB is one NSS database the module can be added to.
type nssDB struct {
	// program is who reads it: "Firefox", "Thunderbird" or "Chromium".
	program string
	// profile is the profile's name (empty for Chromium's database).
	profile string
	// dir is the database directory (modutil -dbdir sql:DIR).
	dir string
	// mozilla is true for a Firefox or Thunderbird profile, which the
	// program rewrites while it runs (its lock files say so).
	mozilla bool
}

// String names the database for the user.
func (d nssDB) String() string {
	if d.profile != "" {
		return fmt.Sprintf("%s profile %q (%s)", d.program, d.profile, d.dir)
	}
	return fmt.Sprintf("%s (%s)", d.program, d.dir)
}

// mozillaRoots are the directories holding a profiles.ini, relative to
// the home directory, with the program using them.
var mozillaRoots = []struct{ program, dir string }{
	{"Firefox", ".mozilla/firefox"},
	{"Thunderbird", ".thunderbird"},
	{"Thunderbird", ".mozilla-thunderbird"}, // older Debian releases; often a link to .thunderbird
}

// chromiumDB is Chromium's (and Chrome's) NSS database, relative to home.
const chromiumDB = ".pki/nssdb"

// findDBs lists the NSS databases of the user whose home is home: every
// Firefox and Thunderbird profile in profiles.ini, and Chromium's
// ~/.pki/nssdb (listed even when it does not exist yet). A profile
// directory reached twice (through a link) is listed once.
func findDBs(home string) ([]nssDB, error) {
	var dbs []nssDB
	seen := map[string]bool{}
	for _, root := range mozillaRoots {
		base := filepath.Join(home, root.dir)
		data, err := os.ReadFile(filepath.Join(base, "profiles.ini"))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s profiles: %w", root.program, err)
		}
		for _, p := range parseProfilesINI(data, base) {
			real, err := filepath.EvalSymlinks(p.dir)
			if err != nil {
				continue // listed but gone: nothing to change
			}
			if seen[real] {
				continue
			}
			seen[real] = true
			dbs = append(dbs, nssDB{program: root.program, profile: p.name, dir: p.dir, mozilla: true})
		}
	}
	dbs = append(dbs, nssDB{program: "Chromium", dir: filepath.Join(home, chromiumDB)})
	return dbs, nil
}

// iniProfile is a [ProfileN] section of profiles.ini.
type iniProfile struct{ name, dir string }

// parseProfilesINI reads the [Profile*] sections of a profiles.ini in
// base: Name, Path and IsRelative (Path relative to base when 1).
func parseProfilesINI(data []byte, base string) []iniProfile {
	var out []iniProfile
	var cur *iniProfile
	var relative bool
	flush := func() {
		if cur != nil && cur.dir != "" {
			if relative {
				cur.dir = filepath.Join(base, cur.dir)
			}
			out = append(out, *cur)
		}
		cur, relative = nil, false
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			flush()
			if strings.HasPrefix(strings.ToLower(line), "[profile") {
				cur = &iniProfile{}
			}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || cur == nil {
			continue
		}
		switch strings.TrimSpace(k) {
		case "Name":
			cur.name = strings.TrimSpace(v)
		case "Path":
			cur.dir = strings.TrimSpace(v)
		case "IsRelative":
			relative = strings.TrimSpace(v) == "1"
		}
	}
	flush()
	return out
}

// nssModule is one module entry of a database's pkcs11.txt.
type nssModule struct{ name, library string }

// listModules reads the module entries of dir/pkcs11.txt (none when the
// file does not exist).
func listModules(dir string) ([]nssModule, error) {
	data, err := os.ReadFile(filepath.Join(dir, "pkcs11.txt"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var mods []nssModule
	var cur nssModule
	flush := func() {
		if cur.library != "" {
			mods = append(mods, cur)
		}
		cur = nssModule{}
	}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, "\r")
		switch {
		case strings.TrimSpace(line) == "":
			flush()
		case strings.HasPrefix(line, "library="):
			cur.library = strings.TrimPrefix(line, "library=")
		case strings.HasPrefix(line, "name="):
			cur.name = strings.Trim(strings.TrimPrefix(line, "name="), `"`)
		}
	}
	flush()
	return mods, nil
}

// profileInUse reports the process id of a Firefox or Thunderbird that
// has the profile in dir open, from its lock files: the "lock" symbolic
// link ("ADDRESS:+PID") naming a live process, or a POSIX lock held on
// ".parentlock". It returns 0 when neither says the profile is in use.
func profileInUse(dir string) int {
	if target, err := os.Readlink(filepath.Join(dir, "lock")); err == nil {
		if i := strings.LastIndex(target, ":+"); i >= 0 {
			if pid, err := strconv.Atoi(target[i+2:]); err == nil && pid > 0 && alive(pid) {
				return pid
			}
		}
	}
	f, err := os.Open(filepath.Join(dir, ".parentlock"))
	if err != nil {
		return 0
	}
	defer f.Close()
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: 0, Start: 0, Len: 0}
	if err := syscall.FcntlFlock(f.Fd(), syscall.F_GETLK, &lk); err == nil && lk.Type != syscall.F_UNLCK {
		if lk.Pid > 0 {
			return int(lk.Pid)
		}
		return -1 // held, by an unknown process
	}
	return 0
}

// alive reports whether a process with id pid exists.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// chromiumRunning returns the process id of a running Chromium or Chrome
// of the user, from the SingletonLock link ("HOST-PID") in their
// configuration directories, or 0.
func chromiumRunning(home string) int {
	for _, d := range []string{"chromium", "google-chrome", "google-chrome-beta", "BraveSoftware/Brave-Browser", "microsoft-edge"} {
		target, err := os.Readlink(filepath.Join(home, ".config", d, "SingletonLock"))
		if err != nil {
			continue
		}
		if i := strings.LastIndex(target, "-"); i >= 0 {
			if pid, err := strconv.Atoi(target[i+1:]); err == nil && pid > 0 && alive(pid) {
				return pid
			}
		}
	}
	return 0
}
