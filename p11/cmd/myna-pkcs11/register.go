package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// registerName is the security-device name register gives the module.
// unregister removes only entries with this name and the module's path,
// so a module the user added by hand stays.
const registerName = "My Number Card (myna-pkcs11)"

// multiarch maps GOARCH to Debian's multiarch triplet, for the default
// module path.
var multiarch = map[string]string{
	"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu", "386": "i386-linux-gnu",
	"arm": "arm-linux-gnueabihf", "ppc64le": "powerpc64le-linux-gnu", "s390x": "s390x-linux-gnu",
	"riscv64": "riscv64-linux-gnu", "loong64": "loongarch64-linux-gnu",
}

// defaultModulePath is where the package installs the module.
func defaultModulePath() string {
	triplet := multiarch[runtime.GOARCH]
	if triplet == "" {
		triplet = runtime.GOARCH + "-linux-gnu"
	}
	return "/usr/lib/" + triplet + "/pkcs11/libmyna-pkcs11.so"
}

// registerUsage is the help of register (register --help).
const registerUsage = `Usage: myna-pkcs11 register [--dry-run] [--module PATH]
       myna-pkcs11 register --policy [--module PATH]

Adds the module, as the security device "My Number Card (myna-pkcs11)", to the NSS
databases of your programs (with modutil, from libnss3-tools), and says per program
what it did and what it did not find:

  Firefox      every profile in ~/.mozilla/firefox and ~/.config/mozilla/firefox
               ($XDG_CONFIG_HOME/mozilla/firefox; Firefox 147 and later create new
               profiles there), from profiles.ini and installs.ini
  Thunderbird  every profile in ~/.thunderbird, ~/.mozilla-thunderbird and
               ~/.config/thunderbird
  Chromium     ~/.pki/nssdb (also Chrome's; created when missing)
  LibreOffice  the database it signs with: $MOZILLA_CERTIFICATE_FOLDER, its
               certificate path setting, or the default Thunderbird or Firefox profile
               in ~/.thunderbird or ~/.mozilla/firefox (not ~/.config/mozilla)

Databases that already have the module are left as they are. A profile that Firefox or
Thunderbird has open is refused: quit the program and run register again. Chromium sees
the module when it is started again.

  --dry-run      say what would change, change nothing
  --module PATH  the module (default /usr/lib/<multiarch>/pkcs11/libmyna-pkcs11.so)
  --policy       print the system-wide Firefox policy (policies.json) instead

Exit status: 0 done (also when a program was not found), 1 a database was refused or
failed, 2 usage error.
`

// unregisterUsage is the help of unregister (unregister --help).
const unregisterUsage = `Usage: myna-pkcs11 unregister [--dry-run] [--module PATH]

Removes the security device "My Number Card (myna-pkcs11)" that register added from
the same databases (Firefox, Thunderbird, Chromium, LibreOffice); an entry for the
module under another name, added by hand, stays. A profile that Firefox or Thunderbird
has open is refused: quit the program and run unregister again.

  --dry-run      say what would change, change nothing
  --module PATH  the module (default /usr/lib/<multiarch>/pkcs11/libmyna-pkcs11.so)

Exit status: 0 done, 1 a database was refused or failed, 2 usage error.
`

// registerOptions are the flags of register and unregister.
type registerOptions struct {
	add               bool // register (true) or unregister
	dryRun            bool
	policy            bool
	module            string
	home, config      string // the home and XDG configuration directories
	modutil, certutil string // commands (from PATH)
}

// runRegister implements "register" and "unregister".
func runRegister(add bool, args []string, stdout, stderr io.Writer) int {
	cmd := "unregister"
	if add {
		cmd = "register"
	}
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o := registerOptions{add: add, modutil: "modutil", certutil: "certutil"}
	fs.BoolVar(&o.dryRun, "dry-run", false, "")
	fs.BoolVar(&o.policy, "policy", false, "")
	fs.StringVar(&o.module, "module", defaultModulePath(), "")
	help := registerUsage
	if !add {
		help = unregisterUsage
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			fmt.Fprint(stdout, help)
			return 0
		}
		fmt.Fprintf(stderr, "myna-pkcs11: %s %v\n\n%s", cmd, err, help)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "myna-pkcs11: %s takes no argument (got %q)\n\n%s", cmd, fs.Arg(0), help)
		return 2
	}
	abs, err := filepath.Abs(o.module)
	if err != nil {
		fmt.Fprintf(stderr, "myna-pkcs11: %s: %v\n", cmd, err)
		return 1
	}
	o.module = abs
	if o.policy {
		if !add {
			fmt.Fprintf(stderr, "myna-pkcs11: unregister --policy: remove the \"SecurityDevices\" entry you put into policies.json yourself\n")
			return 2
		}
		return printPolicy(o.module, stdout, stderr)
	}
	if add {
		if _, err := os.Stat(o.module); err != nil {
			fmt.Fprintf(stderr, "myna-pkcs11: register: the module is not at %s (%v): install the package, or give its path with --module PATH\n", o.module, err)
			return 1
		}
	}
	home, err := os.UserHomeDir()
	if err != nil {
		fmt.Fprintf(stderr, "myna-pkcs11: %s: no home directory: %v\n", cmd, err)
		return 1
	}
	o.home, o.config = home, configHome(home)
	if !o.dryRun {
		if _, err := exec.LookPath(o.modutil); err != nil {
			fmt.Fprintf(stderr, "myna-pkcs11: %s needs modutil and certutil: apt install libnss3-tools\n", cmd)
			return 1
		}
	}
	return registerAll(o, stdout, stderr)
}

// printPolicy writes the system-wide Firefox enterprise policy that adds
// the module to every profile of every user.
func printPolicy(module string, stdout, stderr io.Writer) int {
	p := map[string]any{"policies": map[string]any{"SecurityDevices": map[string]any{"Add": map[string]string{registerName: module}}}}
	b, _ := json.MarshalIndent(p, "", "  ")
	fmt.Fprintf(stdout, "%s\n", b)
	fmt.Fprintf(stderr, "myna-pkcs11: save this as /etc/firefox/policies/policies.json (every Firefox), or in the\n"+
		"distribution directory beside the Firefox binary (Debian's firefox-esr:\n"+
		"/usr/lib/firefox-esr/distribution/policies.json); merge it with an existing file. It takes\n"+
		"effect when Firefox starts. Thunderbird reads /etc/thunderbird/policies/policies.json.\n")
	return 0
}

// registerAll adds the module to (or removes it from) every database and
// prints one line per database. It returns 1 when any was refused or
// failed.
func registerAll(o registerOptions, stdout, stderr io.Writer) int {
	dbs, err := findDBs(o.home, o.config)
	if err != nil {
		fmt.Fprintf(stderr, "myna-pkcs11: %v\n", err)
		return 1
	}
	status := 0
	for _, db := range dbs {
		if db.dir == "" {
			word, what := "not found", db.absent
			if db.note != "" {
				word, what = "uses", db.note
			}
			if db.advice != "" && o.add {
				what += ": " + db.advice
			}
			fmt.Fprintf(stdout, "%-10s %s: %s\n", word, db.program, what)
			continue
		}
		line, err := registerOne(o, db)
		if err != nil {
			status = 1
			fmt.Fprintf(stdout, "%-10s %s: %v\n", "refused", db, err)
			continue
		}
		fmt.Fprintf(stdout, "%s\n", line)
	}
	if status != 0 {
		fmt.Fprintf(stderr, "myna-pkcs11: some databases were not changed; fix what is said above and run %q again (it skips what is done)\n", map[bool]string{true: "myna-pkcs11 register", false: "myna-pkcs11 unregister"}[o.add])
	}
	return status
}

// registerOne handles one database; it returns the line to print.
func registerOne(o registerOptions, db nssDB) (string, error) {
	mods, err := listModules(db.dir)
	if err != nil {
		return "", fmt.Errorf("cannot read its pkcs11.txt: %v", err)
	}
	var ours, others []nssModule
	for _, m := range mods {
		if m.library != o.module {
			continue
		}
		if m.name == registerName {
			ours = append(ours, m)
		} else {
			others = append(others, m)
		}
	}
	would := ""
	if o.dryRun {
		would = "would be "
	}
	if o.add {
		if len(ours)+len(others) > 0 {
			name := append(ours, others...)[0].name
			return fmt.Sprintf("%-10s %s: already has %s as %q", "unchanged", db, o.module, name), nil
		}
		if err := inUse(o, db); err != nil {
			return "", err
		}
		if o.dryRun {
			return fmt.Sprintf("%-10s %s: would add %q (%s)", "dry-run", db, registerName, o.module), nil
		}
		if err := o.addModule(db); err != nil {
			return "", err
		}
		return fmt.Sprintf("%-10s %s: %q (%s)", "added", db, registerName, o.module), nil
	}
	note := ""
	if len(others) > 0 {
		note = fmt.Sprintf(" (left %q: not added by register)", others[0].name)
	}
	if len(ours) == 0 {
		return fmt.Sprintf("%-10s %s: no entry added by register%s", "unchanged", db, note), nil
	}
	if err := inUse(o, db); err != nil {
		return "", err
	}
	if o.dryRun {
		return fmt.Sprintf("%-10s %s: %sremoved: %q%s", "dry-run", db, would, registerName, note), nil
	}
	if out, err := o.run(o.modutil, "-dbdir", "sql:"+db.dir, "-delete", registerName, "-force"); err != nil {
		return "", fmt.Errorf("modutil -delete failed: %v: %s", err, out)
	}
	return fmt.Sprintf("%-10s %s: %q%s", "removed", db, registerName, note), nil
}

// inUse refuses a Firefox or Thunderbird profile that is open: the
// program keeps its own list of modules and writes it back, so a change
// made now would be lost. For Chromium it only warns: Chromium does not
// rewrite the database and sees the change at its next start.
func inUse(o registerOptions, db nssDB) error {
	if db.mozilla {
		if pid := profileInUse(db.dir); pid != 0 {
			who := fmt.Sprintf("process %d", pid)
			if pid < 0 {
				who = "a running program"
			}
			return fmt.Errorf("%s is running on this profile (%s holds its lock) and would overwrite the change: quit %s, then run this again", db.program, who, db.program)
		}
		return nil
	}
	if pid := chromiumRunning(o.home); pid != 0 {
		fmt.Fprintf(os.Stderr, "myna-pkcs11: note: Chromium is running (process %d): it sees the change when it is started again\n", pid)
	}
	return nil
}

// addModule adds the module to db, creating Chromium's database first
// when it does not exist (Chromium creates the same one at its first
// start).
func (o registerOptions) addModule(db nssDB) error {
	if !db.mozilla {
		if _, err := os.Stat(filepath.Join(db.dir, "cert9.db")); errors.Is(err, os.ErrNotExist) {
			if err := os.MkdirAll(db.dir, 0o700); err != nil {
				return err
			}
			if out, err := o.run(o.certutil, "-N", "--empty-password", "-d", "sql:"+db.dir); err != nil {
				return fmt.Errorf("certutil -N (create the database) failed: %v: %s", err, out)
			}
		}
	}
	if out, err := o.run(o.modutil, "-dbdir", "sql:"+db.dir, "-add", registerName, "-libfile", o.module, "-force"); err != nil {
		return fmt.Errorf("modutil -add failed: %v: %s", err, out)
	}
	mods, err := listModules(db.dir)
	if err != nil {
		return err
	}
	for _, m := range mods {
		if m.library == o.module && m.name == registerName {
			return nil
		}
	}
	return fmt.Errorf("modutil -add reported success but %s does not list the module", filepath.Join(db.dir, "pkcs11.txt"))
}

// run runs an NSS tool with a time limit and returns its output. The
// tools load the module to list its slots: MYNA_PKCS11_TOKENS and the
// rest of the environment pass through unchanged.
func (o registerOptions) run(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader("\n") // modutil never waits for Enter
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}
