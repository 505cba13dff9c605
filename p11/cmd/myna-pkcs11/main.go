// Command myna-pkcs11 is the companion of the myna-pkcs11 PKCS#11 module
// for the people who own a My Number Card (マイナンバーカード):
//
//	myna-pkcs11 status [--json] [--reader NAME] [--show-sign-cert [--sign-pin-file FILE]]
//	myna-pkcs11 change-pin auth|sign [--json] [--reader NAME] [--pin-stdin] [--yes] [--force-last-try]
//	myna-pkcs11 register|unregister [--dry-run] [--module PATH]
//	myna-pkcs11 register --policy [--module PATH]
//	myna-pkcs11 diagnose [--out FILE] [--include-public] [--sign] [--sign-password] [--pin-stdin] [--json] [--reader NAME]
//
// status shows each reader and card, the tries left of both PINs (read
// without spending one), the certificates' subjects, validity and renewal
// window, and plain advice for locked PINs, face-authentication cards and
// cards without a signature certificate. The signature certificate, which
// holds the holder's name, address, birth date and sex, is only shown with
// --show-sign-cert and the signature password.
//
// change-pin changes a PIN with the module's own PIN policy, refusing to
// spend the last try unless --force-last-try is given.
//
// register adds the module to every Firefox and Thunderbird profile of
// the user (both the ~/.mozilla and the XDG ~/.config/mozilla layout), to
// Chromium's ~/.pki/nssdb and to LibreOffice's database (with modutil),
// saying per program what it did and did not find, skipping those that
// have it and refusing profiles a running program has open;
// unregister removes exactly the entries register added. --policy prints
// the system-wide Firefox policy instead.
//
// diagnose runs a standard probe through the module and writes a report
// for a bug report (diagnose.go, package cardos/diag): system, readers,
// ATR, every APDU as header, lengths, status word and timing, and what
// the module concluded; never a PIN or the signature certificate.
//
// It uses PC/SC (pcscd), or the simulated card of MYNA_PKCS11_SIM. PINs are
// never printed or logged.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
)

const usage = `myna-pkcs11: check and manage your My Number Card (マイナンバーカード) for the myna-pkcs11 module.

Usage:
  myna-pkcs11 status [--json] [--reader NAME]
  myna-pkcs11 status --show-sign-cert [--sign-pin-file FILE|-] [--force-last-try] [--json] [--reader NAME]
  myna-pkcs11 change-pin auth|sign [--pin-stdin] [--yes] [--force-last-try] [--json] [--reader NAME]
  myna-pkcs11 register|unregister [--dry-run] [--module PATH]
  myna-pkcs11 register --policy [--module PATH]
  myna-pkcs11 diagnose [--out FILE] [--include-public] [--sign] [--sign-password] [--pin-stdin] [--json] [--reader NAME]

status      readers, cards, tries left for each PIN (no try is spent), certificates,
            days until they expire and when renewal opens. The signature certificate
            holds your name, address, birth date and sex: it is only shown with
            --show-sign-cert and the signature password.
change-pin  change the authentication PIN (auth: 4 digits) or the signature password
            (sign: 6-16 letters A-Z and digits). Asks for the current PIN and the new
            one twice (no echo), then for confirmation.
register    add the module to every Firefox and Thunderbird profile (~/.mozilla/firefox,
            ~/.config/mozilla/firefox, ~/.thunderbird), to Chromium's ~/.pki/nssdb and to
            the database LibreOffice signs with (modutil, from libnss3-tools), and say per
            program what was done and what was not found. Each program then sees the token
            for its job: browsers the authentication token only, document signers and
            mail programs the signature token only, the rest both. Skips databases that
            have the module; refuses a profile that Firefox or Thunderbird has open (quit
            it and run again). --policy prints the system-wide Firefox policy instead.
            register --help says more.
unregister  remove what register added (and nothing else).
diagnose    for a bug report when your card or reader does not work: runs the module's
            standard probe (slot list, tries query, certificate reads) and writes
            myna-diagnose.json plus a summary: versions, readers, ATR, every APDU as
            header, lengths, status word and timing, and what the module concluded.
            Never a PIN, never anything of the signature certificate.

Flags:
  --json             print one JSON object for programs instead of text
  --reader NAME      use this reader only (default: every reader / the only card)
  --show-sign-cert   status: also show the signature certificate (asks the password)
  --sign-pin-file F  status: read the signature password from the first line of F (- = stdin)
  --pin-stdin        change-pin: read the current PIN, the new PIN twice and (without
                     --yes) the answer to the confirmation, one per line, from stdin
  --yes              change-pin: do not ask for confirmation
  --force-last-try   try a PIN even when only one try is left (a wrong one locks it)
  --dry-run          register/unregister: say what would change, change nothing
  --module PATH      register/unregister: the module (default
                     /usr/lib/<multiarch>/pkcs11/libmyna-pkcs11.so)
  --out FILE         diagnose: write the report to FILE (default myna-diagnose.json)
  --include-public   diagnose: keep the first 8 bytes (DER headers) of the public
                     authentication certificate and its CA
  --sign             diagnose: also make one signature with the authentication key
                     (asks the 4-digit PIN; --pin-stdin reads it from stdin)
  --sign-password    diagnose: also log in to the signature token once, without
                     signing (asks the password; --pin-stdin reads it after the
                     PIN): shows the password's full retry counter and whether
                     the card forgets it when another applet is selected

A locked PIN can only be unlocked at your municipal office (市区町村の窓口).
Environment: MYNA_PKCS11_SIM=FILE uses the simulated card in FILE instead of PC/SC
(MYNA_PKCS11_SIM_DEVICE=android or iphone: as a smartphone certificate).
Exit status: 0 success, 1 failure or refusal, 2 usage error.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run parses args and runs the command; it returns the exit status.
func run(args []string, stdin *os.File, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, args := args[0], args[1:]
	if cmd == "register" || cmd == "unregister" {
		return runRegister(cmd == "register", args, stdout, stderr)
	}
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		jsonOut   = fs.Bool("json", false, "")
		reader    = fs.String("reader", "", "")
		showSign  = fs.Bool("show-sign-cert", false, "")
		pinFile   = fs.String("sign-pin-file", "", "")
		pinStdin  = fs.Bool("pin-stdin", false, "")
		yes       = fs.Bool("yes", false, "")
		forceLast = fs.Bool("force-last-try", false, "")
		out       = fs.String("out", "", "")
		public    = fs.Bool("include-public", false, "")
		sign      = fs.Bool("sign", false, "")
		signPass  = fs.Bool("sign-password", false, "")
	)
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "myna-pkcs11: "+format+"\n\n", a...)
		fmt.Fprint(stderr, usage)
		return 2
	}
	// Flags may come before or after the positional argument.
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				fmt.Fprint(stdout, usage)
				return 0
			}
			return bad("%s %v", cmd, err)
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	only := func(allowed ...string) string {
		ok := map[string]bool{"json": true, "reader": true, "force-last-try": true}
		for _, a := range allowed {
			ok[a] = true
		}
		for n := range set {
			if !ok[n] {
				return n
			}
		}
		return ""
	}

	switch cmd {
	case "status":
		if len(pos) > 0 {
			return bad("status takes no argument (got %q)", pos[0])
		}
		if f := only("show-sign-cert", "sign-pin-file"); f != "" {
			return bad("--%s is not a flag of status", f)
		}
		if *pinFile != "" && !*showSign {
			return bad("--sign-pin-file only goes with --show-sign-cert")
		}
		return runStatus(statusOptions{reader: *reader, json: *jsonOut, showSignCert: *showSign, signPINFile: *pinFile, forceLast: *forceLast}, stdin, stdout, stderr)
	case "change-pin":
		if len(pos) != 1 {
			return bad("change-pin needs one argument: auth or sign")
		}
		if f := only("pin-stdin", "yes"); f != "" {
			return bad("--%s is not a flag of change-pin", f)
		}
		o := changeOptions{reader: *reader, json: *jsonOut, pinStdin: *pinStdin, yes: *yes, forceLast: *forceLast}
		switch pos[0] {
		case "auth":
			o.key = cardos.AuthKey
		case "sign":
			o.key = cardos.SignKey
		default:
			return bad("change-pin: unknown PIN %q: say auth (4-digit PIN) or sign (signature password)", pos[0])
		}
		return runChangePIN(o, stdin, stdout, stderr)
	case "diagnose":
		if len(pos) > 0 {
			return bad("diagnose takes no argument (got %q)", pos[0])
		}
		if f := only("out", "include-public", "sign", "sign-password", "pin-stdin"); f != "" && f != "force-last-try" && f != "json" {
			return bad("--%s is not a flag of diagnose", f)
		}
		if *pinStdin && !*sign && !*signPass {
			return bad("--pin-stdin only goes with --sign or --sign-password in diagnose")
		}
		return runDiagnose(diagOptions{reader: *reader, out: *out, includePublic: *public, sign: *sign, signPassword: *signPass, pinStdin: *pinStdin, json: *jsonOut}, stdin, stdout, stderr)
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	return bad("unknown command %q", cmd)
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}
