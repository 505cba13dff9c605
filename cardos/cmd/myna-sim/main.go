// Command myna-sim runs the My Number Card simulator of cardos/sim.
//
// It creates and inspects simulator state files and serves a card to
// vsmartcard's vpcd, so that pcscd and every PC/SC application (OpenSC,
// the project's PKCS#11 module) see it in the reader "Virtual PCD 00 00".
//
// Usage:
//
//	myna-sim --state FILE --init [profile flags]   create a card
//	myna-sim --state FILE --vpcd 127.0.0.1:35963   serve it until SIGTERM
//	myna-sim --state FILE --status                 show counters and public certs
//	myna-sim --state FILE --admin-reset            unlock both PINs
//	myna-sim --state FILE --export-certs DIR       write PEM certificates
package main

import (
	"context"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"crypto/x509/pkix"

	"github.com/myna-pkcs11/myna-pkcs11/cardos/apdu"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
)

const usageText = `myna-sim: My Number Card (JPKI) simulator for tests.

Usage:
  myna-sim --state FILE --init [profile flags] [quirk flags] [--force]
      Create the state file: four RSA-2048 keys, J-LIS-like CA certificates,
      an auth certificate and a signature certificate for a fictional holder.
  myna-sim --state FILE --vpcd ADDR [--trace] [--stats-file F] [--latency-apdu D] [--latency-sign D] [--atr HEX]
      Serve the card to vsmartcard's vpcd (vsmartcard listens on 127.0.0.1:35963
      for the reader "Virtual PCD 00 00") until SIGTERM/SIGINT. The state file is
      created with the profile flags if it does not exist.
  myna-sim --state FILE --vpcd ADDR --device android|iphone
      Serve the card's keys as a smartphone credential (スマホ用電子証明書)
      held to an NFC reader (the state file does not keep the device).
  myna-sim --state FILE --vpcd ADDR --profile REPORT.json
      Serve a card that behaves as the one of a 'myna-pkcs11 diagnose' report
      where the simulator has a choice: ATR, answer of the tries query on a
      blocked PIN, retry counters, largest READ BINARY answer, latency per
      APDU and per signature (--init --profile stores the quirks, including
      the re-select behaviour a 'diagnose --sign' report shows, and counters).
  myna-sim --state FILE --status
      Print retry counters (JPKI and the other applets' PINs and 照合番号)
      and the auth/CA certificate subjects. The signature certificate's
      personal data is never printed.
  myna-sim --state FILE --admin-reset
      Municipal-office unlock: every retry counter back to its maximum
      (JPKI 3 and 5, the other applets' 3 or 10).
  myna-sim --state FILE --export-certs DIR [--include-sign-cert]
      Write auth-cert.pem, auth-ca.pem, sign-ca.pem (and sign-cert.pem only
      with --include-sign-cert) into DIR.

While serving, SIGUSR1 takes the card out of the reader or puts it back
(vpcd reports a removal/insertion), for hot-plug tests with real pcscd.
With --fault-on-usr2 the --fault is armed only when SIGUSR2 arrives (and
again at each SIGUSR2), so that it strikes in the operation a test starts
next and not in the programs' start-up.

Profile and quirk flags take effect when a card is created (--init, or
--vpcd with a missing state file); an existing file keeps its own.
Default PINs: auth "1234", sign "ABC123". The state file holds private keys
and PINs (mode 0600); retry counters are saved at every change, so a lockout
survives restarts and is shared with every process using the same file.

Flags:
`

type config struct {
	state                           string
	init, force, status, adminReset bool
	vpcd                            string
	exportDir                       string
	includeSign, trace              bool
	statsFile                       string
	latencyAPDU, latencySign        time.Duration
	atr, fault                      string
	faultOnUSR2                     bool
	profile                         sim.Profile
	blockedSW                       string
	reselectClears, signSchemes     bool
	noSignEF                        string
	changeAnyValue                  bool
	signMaxTries                    int
	changeStores                    string
	changeNeedsOld                  bool
	device                          string
	latencySet                      bool
	phone                           sim.Quirks // the Phone* quirk flags
	phoneEnd                        string
	profileReport                   string
	stdout, stderr                  io.Writer
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	cfg := config{stdout: stdout, stderr: stderr}
	fs := flag.NewFlagSet("myna-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usageText)
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.state, "state", "", "simulator state `FILE` (JSON; required)")
	fs.BoolVar(&cfg.init, "init", false, "create the state file from the profile flags")
	fs.BoolVar(&cfg.force, "force", false, "with --init: overwrite an existing state file")
	fs.BoolVar(&cfg.status, "status", false, "print retry counters and public certificate subjects")
	fs.BoolVar(&cfg.adminReset, "admin-reset", false, "unlock both PINs (retry counters back to maximum)")
	fs.StringVar(&cfg.vpcd, "vpcd", "", "serve the card to vpcd at `ADDR` (vsmartcard default: "+sim.DefaultVPCDAddr+")")
	fs.StringVar(&cfg.exportDir, "export-certs", "", "write PEM certificates into `DIR`")
	fs.BoolVar(&cfg.includeSign, "include-sign-cert", false, "with --export-certs: also write the signature certificate (personal data)")
	fs.BoolVar(&cfg.trace, "trace", false, "with --vpcd: trace APDUs to stderr (PINs and the signature certificate redacted)")
	fs.StringVar(&cfg.statsFile, "stats-file", "", "with --vpcd: keep APDU counts (JSON: apdus, by_ins, verifies, signatures) in `FILE`, rewritten after every APDU")
	fs.DurationVar(&cfg.latencyAPDU, "latency-apdu", 0, "with --vpcd: delay per APDU (a contact card: 15ms)")
	fs.DurationVar(&cfg.latencySign, "latency-sign", 0, "with --vpcd: extra delay per signature (a real card: 500ms)")
	fs.StringVar(&cfg.fault, "fault", "", "with --vpcd: inject a fault, `SPEC` = KIND[,after=N][,ins=XX][,sw=XXXX][,repeat]\nwith KIND remove, reset, garbage, truncate, wrong-sw, silent or lost")
	fs.BoolVar(&cfg.faultOnUSR2, "fault-on-usr2", false, "with --fault: arm the fault at each SIGUSR2 instead of at start")
	fs.StringVar(&cfg.atr, "atr", "", "with --vpcd: ATR in `HEX` (default 3BE000FF8131FE4514)")
	fs.StringVar(&cfg.profile.AuthPIN, "auth-pin", sim.DefaultAuthPIN, "profile: 4-digit auth PIN")
	fs.StringVar(&cfg.profile.SignPIN, "sign-pin", sim.DefaultSignPIN, "profile: 6-16 character A-Z0-9 signature password")
	fs.BoolVar(&cfg.profile.NoSignCert, "no-sign-cert", false, "profile: no signature certificate (holder under 15)")
	fs.BoolVar(&cfg.profile.Expired, "expired", false, "profile: holder certificates already expired")
	fs.BoolVar(&cfg.profile.FaceAuth, "face-auth", false, "profile: face-authentication card (no usable PIN, no sign certificate)")
	fs.StringVar(&cfg.profile.Name, "name", "", "profile: holder name (default a fictional name)")
	fs.StringVar(&cfg.profile.Address, "address", "", "profile: holder address (default a fictional address)")
	fs.StringVar(&cfg.profile.BirthDate, "birth", "", "profile: birth date YYYY-MM-DD (default 1985-04-12)")
	fs.StringVar(&cfg.profile.Sex, "sex", "", "profile: 1 male, 2 female, 9 not applicable (default 2)")
	fs.StringVar(&cfg.blockedSW, "blocked-query-sw", "63C0", "quirk: answer of an empty VERIFY on a blocked PIN (63C0 or 6984)")
	fs.BoolVar(&cfg.reselectClears, "reselect-clears-pins", false, "quirk: re-selecting the JPKI AP drops verified PINs")
	fs.BoolVar(&cfg.signSchemes, "sign-schemes", false, "quirk: accept SIGN P1 01-05 (on-card SHA-256, PSS)")
	fs.StringVar(&cfg.noSignEF, "no-sign-cert-ef", "filler", "quirk: EF 0001 without a sign certificate: filler, absent or empty")
	fs.BoolVar(&cfg.changeAnyValue, "change-any-value", false, "quirk: CHANGE REFERENCE DATA accepts any new PIN value")
	fs.IntVar(&cfg.signMaxTries, "sign-max-tries", 0, "quirk: the signature password's retry counter with every try left (0: 5)")
	fs.StringVar(&cfg.changeStores, "change-stores", "as-sent", "quirk: what a PIN change answered 9000 stores: as-sent, keeps-old or garbles")
	fs.BoolVar(&cfg.changeNeedsOld, "change-needs-old", false, "quirk: CHANGE REFERENCE DATA takes old and new value (P1 00) and refuses P1 01")
	fs.StringVar(&cfg.device, "device", "card", "with --vpcd: answer as `DEVICE`: card, android or iphone (a smartphone credential held to\nan NFC reader: token JPKIAPGPSETOKEN / JPKIAPIOSTOKEN, auth certificate behind the PIN,\n--latency-apdu 30ms unless given); not stored in the state file")
	fs.BoolVar(&cfg.phone.PhoneSignCertFree, "phone-sign-cert-free", false, "quirk: a phone's signature certificate is readable without the password")
	fs.BoolVar(&cfg.phone.PhoneCAsBehindPIN, "phone-cas-behind-pin", false, "quirk: a phone's CA certificates need their key's PIN")
	fs.BoolVar(&cfg.phone.IPhoneAuthCertFree, "iphone-auth-cert-free", false, "quirk: the iPhone's auth certificate is readable without the PIN")
	fs.BoolVar(&cfg.phone.PhoneRoutesAllAIDs, "phone-routes-all-aids", false, "quirk: a phone answers SELECT of the card's other applets (default: 6A82)")
	fs.StringVar(&cfg.phoneEnd, "phone-end", "keeps", "quirk: the iPhone end command 80 FC 00 00: keeps, forgets (the PINs) or removes (the credential)")
	fs.StringVar(&cfg.profileReport, "profile", "", "with --init or --vpcd: behave as the card of a myna-pkcs11 diagnose `REPORT.json` (ATR,\nblocked-query SW, retry counters, re-select behaviour, largest READ answer, latency per APDU and per signature)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	fs.Visit(func(f *flag.Flag) { cfg.latencySet = cfg.latencySet || f.Name == "latency-apdu" })
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "myna-sim: unexpected argument %q (see --help)\n", fs.Arg(0))
		return 2
	}
	if cfg.state == "" {
		fmt.Fprintln(stderr, "myna-sim: --state FILE is required (see --help)")
		return 2
	}
	actions := 0
	for _, on := range []bool{cfg.init, cfg.status, cfg.adminReset, cfg.vpcd != "", cfg.exportDir != ""} {
		if on {
			actions++
		}
	}
	if actions != 1 {
		fmt.Fprintln(stderr, "myna-sim: give exactly one of --init, --vpcd, --status, --admin-reset, --export-certs (see --help)")
		return 2
	}
	var err error
	switch {
	case cfg.init:
		err = doInit(cfg)
	case cfg.status:
		err = doStatus(cfg)
	case cfg.adminReset:
		err = doAdminReset(cfg)
	case cfg.exportDir != "":
		err = doExport(cfg)
	default:
		err = doServe(cfg)
	}
	if err != nil {
		fmt.Fprintf(stderr, "myna-sim: %v\n", err)
		return 1
	}
	return 0
}

func (cfg config) options() (opt sim.Options, err error) {
	opt = sim.Options{Profile: cfg.profile, LatencyAPDU: cfg.latencyAPDU, LatencySign: cfg.latencySign}
	switch strings.ToUpper(cfg.blockedSW) {
	case "63C0", "":
	case "6984":
		opt.Quirks.BlockedQuerySW = apdu.SWRefDataBlocked
	default:
		return opt, fmt.Errorf("--blocked-query-sw must be 63C0 or 6984, not %q", cfg.blockedSW)
	}
	switch cfg.noSignEF {
	case "filler", "":
	case "absent":
		opt.Quirks.NoSignCertEF = sim.SignEFAbsent
	case "empty":
		opt.Quirks.NoSignCertEF = sim.SignEFEmpty
	default:
		return opt, fmt.Errorf("--no-sign-cert-ef must be filler, absent or empty, not %q", cfg.noSignEF)
	}
	opt.Quirks.ReselectClearsPINs = cfg.reselectClears
	opt.Quirks.SignSchemes = cfg.signSchemes
	opt.Quirks.ChangeAcceptsAnyValue = cfg.changeAnyValue
	if cfg.signMaxTries < 0 || cfg.signMaxTries > 15 {
		return opt, fmt.Errorf("--sign-max-tries must be 0 to 15 (the 63Cx counter), not %d", cfg.signMaxTries)
	}
	opt.Quirks.SignMaxTries = cfg.signMaxTries
	switch cfg.changeStores {
	case "as-sent", "":
	case "keeps-old":
		opt.Quirks.ChangeStores = sim.ChangeKeepsOld
	case "garbles":
		opt.Quirks.ChangeStores = sim.ChangeGarbles
	default:
		return opt, fmt.Errorf("--change-stores must be as-sent, keeps-old or garbles, not %q", cfg.changeStores)
	}
	opt.Quirks.ChangeNeedsOld = cfg.changeNeedsOld
	if opt.Device, err = sim.ParseDevice(cfg.device); err != nil {
		return opt, fmt.Errorf("--device: %w", err)
	}
	if opt.Device.Phone() && !cfg.latencySet {
		opt.LatencyAPDU = sim.PhoneLatencyAPDU
	}
	opt.Quirks.PhoneSignCertFree = cfg.phone.PhoneSignCertFree
	opt.Quirks.PhoneCAsBehindPIN = cfg.phone.PhoneCAsBehindPIN
	opt.Quirks.IPhoneAuthCertFree = cfg.phone.IPhoneAuthCertFree
	opt.Quirks.PhoneRoutesAllAIDs = cfg.phone.PhoneRoutesAllAIDs
	switch cfg.phoneEnd {
	case "keeps", "":
	case "forgets":
		opt.Quirks.PhoneEnd = sim.EndForgets
	case "removes":
		opt.Quirks.PhoneEnd = sim.EndRemoves
	default:
		return opt, fmt.Errorf("--phone-end must be keeps, forgets or removes, not %q", cfg.phoneEnd)
	}
	if cfg.atr != "" {
		atr, err := hex.DecodeString(strings.NewReplacer(" ", "", ":", "").Replace(cfg.atr))
		if err != nil || len(atr) < 2 || len(atr) > 33 {
			return opt, fmt.Errorf("--atr must be 2 to 33 bytes of hex, not %q", cfg.atr)
		}
		opt.ATR = atr
	}
	if cfg.profileReport != "" {
		b, err := cfg.behaviour()
		if err != nil {
			return opt, err
		}
		opt = b.Options(opt)
	}
	if cfg.trace {
		opt.Trace = cfg.stderr
	}
	if cfg.statsFile != "" && cfg.vpcd != "" {
		w, err := newStatsWriter(cfg.statsFile, opt.Trace)
		if err != nil {
			return opt, err
		}
		opt.Trace = w
	}
	return opt, nil
}

// openExisting opens the state file, refusing to create one.
func openExisting(cfg config) (*sim.Card, error) {
	if _, err := os.Stat(cfg.state); err != nil {
		return nil, fmt.Errorf("%w (create it with --init)", err)
	}
	opt, err := cfg.options()
	if err != nil {
		return nil, err
	}
	return sim.Open(cfg.state, opt)
}

func doInit(cfg config) error {
	if _, err := os.Stat(cfg.state); err == nil {
		if !cfg.force {
			return fmt.Errorf("%s exists: use --force to replace it", cfg.state)
		}
		if err := os.Remove(cfg.state); err != nil {
			return err
		}
	}
	opt, err := cfg.options()
	if err != nil {
		return err
	}
	c, err := sim.Open(cfg.state, opt)
	if err != nil {
		return err
	}
	if err := cfg.applyProfile(c); err != nil {
		return err
	}
	fmt.Fprintf(cfg.stdout, "created %s (auth PIN and sign password as given; default 1234 / ABC123)\n", cfg.state)
	return nil
}

func doAdminReset(cfg config) error {
	c, err := openExisting(cfg)
	if err != nil {
		return err
	}
	if err := c.AdminReset(); err != nil {
		return err
	}
	fmt.Fprintf(cfg.stdout, "unlocked: auth PIN %d tries, sign password %d tries\n", c.TriesLeft(1), c.TriesLeft(2))
	for _, k := range c.OtherTries() {
		fmt.Fprintf(cfg.stdout, "          %s %d tries\n", k.Name, k.TriesLeft)
	}
	return nil
}

func doStatus(cfg config) error {
	c, err := openExisting(cfg)
	if err != nil {
		return err
	}
	w := cfg.stdout
	p := c.Profile()
	fmt.Fprintf(w, "state file:      %s\n", cfg.state)
	fmt.Fprintf(w, "ATR:             % X\n", c.ATR())
	fmt.Fprintf(w, "auth PIN:        %s\n", tries(c.TriesLeft(1), sim.AuthMaxTries))
	fmt.Fprintf(w, "sign password:   %s\n", tries(c.TriesLeft(2), sim.SignMaxTries))
	for _, k := range c.OtherTries() {
		fmt.Fprintf(w, "%-16s %s (%s)\n", k.Name+":", tries(k.TriesLeft, k.MaxTries), k.Label)
	}
	var kind []string
	if p.FaceAuth {
		kind = append(kind, "face-auth (no PIN)")
	}
	if p.NoSignCert {
		kind = append(kind, "no signature certificate")
	}
	if p.Expired {
		kind = append(kind, "expired certificates")
	}
	if len(kind) == 0 {
		kind = append(kind, "standard")
	}
	fmt.Fprintf(w, "profile:         %s\n", strings.Join(kind, ", "))
	certs := c.Certificates()
	for _, e := range []struct {
		label string
		der   []byte
	}{{"auth cert", certs.AuthCert}, {"auth CA", certs.AuthCA}, {"sign CA", certs.SignCA}} {
		cert, err := x509.ParseCertificate(e.der)
		if err != nil {
			return fmt.Errorf("%s: %w", e.label, err)
		}
		fmt.Fprintf(w, "%-16s subject %s\n", e.label+":", rawName(cert.RawSubject))
		fmt.Fprintf(w, "%-16s valid %s to %s\n", "", cert.NotBefore.Format(time.DateOnly), cert.NotAfter.Format(time.DateOnly))
	}
	if certs.SignCert != nil {
		fmt.Fprintf(w, "sign cert:       present (%d bytes; personal data not shown)\n", len(certs.SignCert))
	} else {
		fmt.Fprintf(w, "sign cert:       none\n")
	}
	return nil
}

func tries(left, max int) string {
	if left == 0 {
		return fmt.Sprintf("BLOCKED (0 of %d tries left)", max)
	}
	return fmt.Sprintf("%d of %d tries left", left, max)
}

// rawName prints a Name in RFC 4514 order with one attribute per RDN.
func rawName(der []byte) string {
	var seq pkix.RDNSequence
	if _, err := asn1.Unmarshal(der, &seq); err != nil {
		return "(undecodable)"
	}
	return seq.String()
}

func doExport(cfg config) error {
	c, err := openExisting(cfg)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.exportDir, 0o755); err != nil {
		return err
	}
	certs := c.Certificates()
	files := []struct {
		name string
		der  []byte
	}{{"auth-cert.pem", certs.AuthCert}, {"auth-ca.pem", certs.AuthCA}, {"sign-ca.pem", certs.SignCA}}
	if cfg.includeSign {
		if certs.SignCert == nil {
			return errors.New("the card has no signature certificate")
		}
		files = append(files, struct {
			name string
			der  []byte
		}{"sign-cert.pem", certs.SignCert})
	}
	for _, f := range files {
		path := filepath.Join(cfg.exportDir, f.name)
		b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.der})
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return err
		}
		fmt.Fprintln(cfg.stdout, path)
	}
	return nil
}

func doServe(cfg config) error {
	if cfg.faultOnUSR2 && cfg.fault == "" {
		return errors.New("--fault-on-usr2 needs --fault")
	}
	opt, err := cfg.options()
	if err != nil {
		return err
	}
	card, err := sim.Open(cfg.state, opt)
	if err != nil {
		return err
	}
	if err := cfg.applyProfile(card); err != nil {
		return err
	}
	var fault sim.Fault
	if cfg.fault != "" {
		fault, err = sim.ParseFault(cfg.fault)
		if err != nil {
			return fmt.Errorf("--fault: %w", err)
		}
		if !cfg.faultOnUSR2 {
			card.SetFault(fault)
		}
	}
	r := sim.NewReader("Virtual PCD 00 00")
	r.Insert(card)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	usr1, usr2 := make(chan os.Signal, 1), make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	defer signal.Stop(usr1)
	if cfg.faultOnUSR2 {
		signal.Notify(usr2, syscall.SIGUSR2)
		defer signal.Stop(usr2)
	}
	go func() {
		for {
			select {
			case <-usr2:
				card.SetFault(fault)
				fmt.Fprintf(cfg.stderr, "myna-sim: SIGUSR2: fault %s armed\n", cfg.fault)
			case <-usr1:
				if r.Card() != nil {
					r.Remove()
					fmt.Fprintln(cfg.stderr, "myna-sim: SIGUSR1: card removed")
				} else {
					r.Insert(card)
					fmt.Fprintln(cfg.stderr, "myna-sim: SIGUSR1: card inserted")
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	fmt.Fprintf(cfg.stderr, "myna-sim: serving %s as the %s to vpcd at %s (pid %d); stop with SIGTERM\n", cfg.state, opt.Device, cfg.vpcd, os.Getpid())
	err = sim.ServeVPCD(ctx, cfg.vpcd, r)
	if errors.Is(err, context.Canceled) {
		s := card.Stats()
		fmt.Fprintf(cfg.stderr, "myna-sim: stopped after %d APDUs, %d signatures\n", s.APDUs, s.Signatures)
		return nil
	}
	return err
}
