package main

import (
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// libreOfficeDB returns the NSS database LibreOffice signs with, chosen
// as LibreOffice chooses it (getMozillaCurrentProfile in
// xmlsecurity/source/xmlsec/nss/nssinitializer.cxx, with
// connectivity/source/drivers/mozab/bootstrap/MNSFolders.cxx and
// MNSProfileDiscover.cxx, in LibreOffice's source):
//
//  1. the directory in $MOZILLA_CERTIFICATE_FOLDER;
//  2. its certificate path setting (Tools > Options > LibreOffice >
//     Security > Certificate Path, CertDir in registrymodifications.xcu)
//     when that directory exists;
//  3. the default profile of the first of Thunderbird, SeaMonkey and
//     Firefox that has one: the profile marked Default=1 in the
//     profiles.ini of the first of the program's directories that has
//     one (~/.thunderbird, ~/.mozilla-thunderbird, ~/.mozilla/thunderbird,
//     ~/.icedove; ~/.mozilla/seamonkey; ~/.mozilla/firefox), else the
//     first by name. LibreOffice does not look in ~/.config/mozilla.
//
// Otherwise it signs with an empty temporary database. When the database
// is one of dbs, the entry only says so; when it is another existing
// directory, the entry is that database, to be registered.
func libreOfficeDB(home, config string, dbs []nssDB) (nssDB, error) {
	dir, how, err := libreOfficeChoice(home, config)
	if err != nil {
		return nssDB{}, err
	}
	if dir == "" {
		return nssDB{program: "LibreOffice",
			absent: "no certificate path set, and no profile in ~/.thunderbird or ~/.mozilla/firefox, where it looks (not in ~/.config/mozilla)",
			advice: "to sign with LibreOffice, set Tools > Options > LibreOffice > Security > Certificate Path to " + tilde(home, filepath.Join(home, chromiumDB))}, nil
	}
	for _, db := range dbs {
		if db.dir != "" && realDir(db.dir) == realDir(dir) {
			return nssDB{program: "LibreOffice", note: fmt.Sprintf("reads %s (%s)", db, how)}, nil
		}
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nssDB{program: "LibreOffice", absent: fmt.Sprintf("%s names %s, which is not a directory", how, dir)}, nil
	}
	return nssDB{program: "LibreOffice", dir: dir}, nil
}

// libreOfficeChoice returns the directory LibreOffice reads (empty when
// none) and why.
func libreOfficeChoice(home, config string) (dir, how string, err error) {
	if d := os.Getenv("MOZILLA_CERTIFICATE_FOLDER"); d != "" {
		return stripDBPrefix(d), "$MOZILLA_CERTIFICATE_FOLDER", nil
	}
	xcu := filepath.Join(config, "libreoffice/4/user/registrymodifications.xcu")
	d, err := libreOfficeCertDir(xcu)
	if err != nil {
		return "", "", fmt.Errorf("read LibreOffice's settings: %w", err)
	}
	if fi, err := os.Stat(d); d != "" && err == nil && fi.IsDir() {
		return d, "its certificate path setting in " + tilde(home, xcu), nil
	}
	for _, candidates := range [][]string{
		{".thunderbird", ".mozilla-thunderbird", ".mozilla/thunderbird", ".icedove"},
		{".mozilla/seamonkey"},
		{".mozilla/firefox"},
	} {
		for _, c := range candidates {
			root := filepath.Join(home, c)
			data, err := os.ReadFile(filepath.Join(root, "profiles.ini"))
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				return "", "", err
			}
			profiles, _ := parseProfilesINI(data, root, false)
			if len(profiles) == 0 {
				break // LibreOffice reads only the first profiles.ini
			}
			sort.SliceStable(profiles, func(i, j int) bool { return profiles[i].name < profiles[j].name })
			p := profiles[0]
			for _, q := range profiles {
				if q.isDefault {
					p = q
				}
			}
			return p.dir, "the default profile in " + tilde(home, filepath.Join(root, "profiles.ini")), nil
		}
	}
	return "", "", nil
}

// stripDBPrefix removes an NSS database type ("sql:", "dbm:") from dir.
func stripDBPrefix(dir string) string {
	for _, p := range []string{"sql:", "dbm:"} {
		dir = strings.TrimPrefix(dir, p)
	}
	return dir
}

// libreOfficeCertDir reads the certificate path setting (the CertDir
// property of /org.openoffice.Office.Common/Security/Scripting) from
// LibreOffice's registrymodifications.xcu; empty when unset or when the
// file does not exist.
func libreOfficeCertDir(xcu string) (string, error) {
	data, err := os.ReadFile(xcu)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	var items struct {
		Item []struct {
			Path string `xml:"path,attr"`
			Prop []struct {
				Name  string `xml:"name,attr"`
				Value string `xml:"value"`
			} `xml:"prop"`
		} `xml:"item"`
	}
	if err := xml.Unmarshal(data, &items); err != nil {
		return "", fmt.Errorf("%s: %w", xcu, err)
	}
	dir := ""
	for _, it := range items.Item {
		if it.Path != "/org.openoffice.Office.Common/Security/Scripting" {
			continue
		}
		for _, p := range it.Prop {
			if p.Name == "CertDir" {
				dir = strings.TrimSpace(p.Value) // the last one wins
			}
		}
	}
	return dir, nil
}

// realDir is dir with its symbolic links resolved, or cleaned when it does
// not exist yet (Chromium's database, which register creates).
func realDir(dir string) string {
	if r, err := filepath.EvalSymlinks(dir); err == nil {
		return r
	}
	return filepath.Clean(dir)
}
