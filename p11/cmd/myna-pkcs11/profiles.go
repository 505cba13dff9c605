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

// nssDB is one NSS database the module can be added to, or a program
// for which none was found (absent set, dir empty).
type nssDB struct {
	// program is who reads it: "Firefox", "Thunderbird", "Chromium" or
	// "LibreOffice".
	program string
	// profile is the profile's name (empty for other databases).
	profile string
	// dir is the database directory (modutil -dbdir sql:DIR).
	dir string
	// mozilla is true for a Firefox or Thunderbird profile, which the
	// program rewrites while it runs (its lock files say so).
	mozilla bool
	// absent says where the program's database was looked for in vain,
	// advice what to do about it (printed by register only).
	absent, advice string
	// note says which database of the list the program reads (when
	// dir is empty): nothing to do for it.
	note string
}

// String names the database for the user.
func (d nssDB) String() string {
	switch {
	case d.profile != "":
		return fmt.Sprintf("%s profile %q (%s)", d.program, d.profile, d.dir)
	case d.dir == "":
		return d.program
	}
	return fmt.Sprintf("%s (%s)", d.program, d.dir)
}

// mozillaRoot is a directory where Firefox or Thunderbird keeps its
// profiles.ini.
type mozillaRoot struct{ program, dir string }

// mozillaRoots are the directories holding a profiles.ini, for the user
// whose home is home and whose XDG configuration directory is config.
// Firefox 147 and later (Mozilla bug 259356; Firefox ESR 153 on Debian 12) create
// a new user's profiles in $XDG_CONFIG_HOME/mozilla/firefox
// (~/.config/mozilla/firefox) and keep using ~/.mozilla/firefox where it
// exists; Thunderbird, built on the same platform, would use
// $XDG_CONFIG_HOME/thunderbird beside its ~/.thunderbird.
func mozillaRoots(home, config string) []mozillaRoot {
	return []mozillaRoot{
		{"Firefox", filepath.Join(home, ".mozilla/firefox")},
		{"Firefox", filepath.Join(config, "mozilla/firefox")},
		{"Thunderbird", filepath.Join(home, ".thunderbird")},
		{"Thunderbird", filepath.Join(home, ".mozilla-thunderbird")}, // older Debian releases; often a link to .thunderbird
		{"Thunderbird", filepath.Join(config, "thunderbird")},
	}
}

// configHome is the user's configuration directory: $XDG_CONFIG_HOME when
// it is an absolute path, else ~/.config (XDG Base Directory
// Specification).
func configHome(home string) string {
	if d := os.Getenv("XDG_CONFIG_HOME"); filepath.IsAbs(d) {
		return d
	}
	return filepath.Join(home, ".config")
}

// chromiumDB is Chromium's (and Chrome's) NSS database, relative to home.
const chromiumDB = ".pki/nssdb"

// findDBs lists the NSS databases of the user whose home is home and whose
// configuration directory is config: every Firefox and Thunderbird profile
// of every root (in profiles.ini or installs.ini), Chromium's
// ~/.pki/nssdb (listed even when it does not exist yet), and the one
// LibreOffice reads when it is none of these (libreoffice.go). A program
// with no profile gets an entry saying where it was looked for. A
// directory reached twice (through a link) is listed once.
func findDBs(home, config string) ([]nssDB, error) {
	var dbs []nssDB
	seen := map[string]bool{}
	searched := map[string][]string{}
	var programs []string
	for _, root := range mozillaRoots(home, config) {
		if searched[root.program] == nil {
			programs = append(programs, root.program)
		}
		searched[root.program] = append(searched[root.program], tilde(home, root.dir))
	}
	for _, program := range programs {
		n := 0
		for _, root := range mozillaRoots(home, config) {
			if root.program != program {
				continue
			}
			profiles, err := readProfiles(root.dir)
			if err != nil {
				return nil, fmt.Errorf("read %s profiles: %w", root.program, err)
			}
			for _, p := range profiles {
				real, err := filepath.EvalSymlinks(p.dir)
				if err != nil || seen[real] {
					continue // listed but gone, or reached before
				}
				seen[real] = true
				dbs = append(dbs, nssDB{program: program, profile: p.name, dir: p.dir, mozilla: true})
				n++
			}
		}
		if n == 0 {
			dbs = append(dbs, nssDB{program: program, absent: "no profile found in " + orList(searched[program])})
		}
	}
	dbs = append(dbs, nssDB{program: "Chromium", dir: filepath.Join(home, chromiumDB)})
	lo, err := libreOfficeDB(home, config, dbs)
	if err != nil {
		return nil, err
	}
	return append(dbs, lo), nil
}

// tilde writes p with the home directory as "~".
func tilde(home, p string) string {
	if rel, err := filepath.Rel(home, p); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
		return "~/" + rel
	}
	return p
}

// orList joins items as "a, b or c".
func orList(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

// iniProfile is a profile named by a root's profiles.ini or installs.ini.
type iniProfile struct {
	name, dir string
	// isDefault is Default=1 in its [ProfileN] section: the one the
	// profile manager preselects (and LibreOffice reads).
	isDefault bool
}

// readProfiles lists the profiles of the root directory dir: the
// [ProfileN] sections of profiles.ini, and the profiles an installation
// of the program starts with (Default= of the [Install…] sections of
// profiles.ini and of installs.ini, relative to dir unless absolute)
// that profiles.ini does not list. None when neither file exists.
func readProfiles(dir string) ([]iniProfile, error) {
	var profiles []iniProfile
	var installs []string
	for _, name := range []string{"profiles.ini", "installs.ini"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		p, i := parseProfilesINI(data, dir, name == "installs.ini")
		profiles = append(profiles, p...)
		installs = append(installs, i...)
	}
	for _, d := range installs {
		known := false
		for _, p := range profiles {
			known = known || filepath.Clean(p.dir) == d
		}
		if !known {
			profiles = append(profiles, iniProfile{name: filepath.Base(d), dir: d})
		}
	}
	return profiles, nil
}

// parseProfilesINI reads a profiles.ini (or, when installs is true, an
// installs.ini) in base: the [Profile*] sections (Name, Path, IsRelative:
// Path relative to base when 1, Default), and the Default= profile
// directories of the installation sections ([Install*] in profiles.ini,
// every section of installs.ini).
func parseProfilesINI(data []byte, base string, installs bool) ([]iniProfile, []string) {
	var out []iniProfile
	var installDirs []string
	var cur *iniProfile
	var relative, install bool
	flush := func() {
		if cur != nil && cur.dir != "" {
			if relative {
				cur.dir = filepath.Join(base, cur.dir)
			}
			out = append(out, *cur)
		}
		cur, relative, install = nil, false, false
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			flush()
			section := strings.ToLower(line)
			install = installs || strings.HasPrefix(section, "[install")
			if !installs && strings.HasPrefix(section, "[profile") {
				cur = &iniProfile{}
			}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch {
		case !ok:
		case install && k == "Default" && v != "":
			if !filepath.IsAbs(v) {
				v = filepath.Join(base, v)
			}
			installDirs = append(installDirs, filepath.Clean(v))
		case cur == nil:
		case k == "Name":
			cur.name = v
		case k == "Path":
			cur.dir = v
		case k == "IsRelative":
			relative = v == "1"
		case k == "Default":
			cur.isDefault = v == "1"
		}
	}
	flush()
	return out, installDirs
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
