// Command driver is the multi-program suite of the shared card. Several
// programs use one simulated card through pcscd + vpcd at once:
// long-lived processes of our module (p11prog), OpenSC's pkcs11-tool
// with our module (and a few with OpenSC's own), and raw PC/SC clients
// that select other applets and files and reset the card.
//
// It generates every ordered pair of operations (and a seeded sample of
// triples, and wrong-PIN interleavings), runs them step by step, waiting on
// each program's answer, and asserts at every step: each signature
// verifies with its own key's certificate and not the other's; the PIN
// tries are unchanged except by the caller's own wrong PIN (exactly one);
// only documented CKR codes; no hang; and the no-PIN window (does the card
// sign for a raw client that sent no VERIFY?) as far as the module's PIN
// scope promises. The whole matrix runs once per scope (default, and
// MYNA_PKCS11_{AUTH,SIGN}_PIN_SCOPE=session), then the window is measured
// over a short idle hold.
//
// The coexistence family (coexist.go) runs a long-lived program on
// OpenSC's module beside one on ours, and asserts besides that every step
// of OpenSC's program answers what it answers with its own steps alone.
//
// test/suites/shared-card.sh starts pcscd, vpcd and myna-sim and runs it.
package main

import (
	"crypto/rsa"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/myna-pkcs11/myna-pkcs11/test/sharedcard/proto"
)

// config is the command line.
type config struct {
	module, openscModule, p11prog, sim, state, reader, dir string
	authCert, signCert, authLabel, signLabel               string
	openscAuthLabel, openscSignLabel                       string
	scopes                                                 []string
	repeat, triples, opensc, coexistRandom                 int
	seed                                                   uint64
	hold, stepTimeout                                      time.Duration
	probe, verbose                                         bool
	match                                                  string
	pins, altPINs, wrongPINs                               map[string]string
}

func main() {
	var cfg config
	var scopes string
	flag.StringVar(&cfg.module, "module", "build/libmyna-pkcs11.so", "our PKCS#11 module")
	flag.StringVar(&cfg.openscModule, "opensc-module", "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so", "OpenSC's module (\"\": none)")
	flag.StringVar(&cfg.p11prog, "p11prog", "", "the p11prog binary (required)")
	flag.StringVar(&cfg.sim, "sim", "build/out/myna-sim", "myna-sim (for --status)")
	flag.StringVar(&cfg.state, "state", "", "the simulated card's state file (required)")
	flag.StringVar(&cfg.reader, "reader", "Virtual PCD 00 00", "the PC/SC reader holding the card")
	flag.StringVar(&cfg.dir, "dir", "", "scratch directory for logs and files (required)")
	flag.StringVar(&cfg.authCert, "auth-cert", "", "PEM auth certificate (required)")
	flag.StringVar(&cfg.signCert, "sign-cert", "", "PEM sign certificate (required; personal data: keep it in a private directory)")
	flag.StringVar(&cfg.authLabel, "auth-label", "My Number Card (Auth)", "our auth token's label")
	flag.StringVar(&cfg.signLabel, "sign-label", "My Number Card (Sign)", "our sign token's label")
	flag.StringVar(&cfg.openscAuthLabel, "opensc-auth-label", "JPKI (User Authentication PIN)", "OpenSC's auth token label")
	flag.StringVar(&cfg.openscSignLabel, "opensc-sign-label", "JPKI (Digital Signature PIN)", "OpenSC's sign token label")
	flag.StringVar(&scopes, "scopes", scopeDefault+","+scopeSession, "PIN scopes to run the matrix under")
	flag.IntVar(&cfg.repeat, "repeat", envInt("MYNA_SHARED_CARD_REPEAT", 1), "run everything N times (env MYNA_SHARED_CARD_REPEAT)")
	flag.IntVar(&cfg.triples, "triples", 30, "random triples per scope")
	flag.IntVar(&cfg.opensc, "opensc", 1, "scenarios per scope with pkcs11-tool on OpenSC's module (each loads it: ~3 s)")
	flag.IntVar(&cfg.coexistRandom, "coexist-random", 20, "random sequences per scope of a long-lived program on OpenSC's module beside ours")
	flag.Uint64Var(&cfg.seed, "seed", 10, "seed of the triples sample")
	flag.DurationVar(&cfg.hold, "hold", 2*time.Second, "idle hold of the window measurement")
	flag.DurationVar(&cfg.stepTimeout, "step-timeout", 20*time.Second, "a step that takes longer fails (hang)")
	flag.BoolVar(&cfg.probe, "probe", true, "probe the no-PIN window after every step of our module")
	flag.BoolVar(&cfg.verbose, "v", false, "print every scenario")
	flag.StringVar(&cfg.match, "match", "", "run only the scenarios whose name contains this")
	probeOnly := flag.String("probe-only", "", "send one PIN-less SIGN with the key of this token (auth or sign) to the card in -reader, print signed or refused, exit (no matrix)")
	eventsAfter := flag.Int("events-after", -2, "print pcscd's insert/remove event count of -reader once it exceeds this number (-1: at once), exit (no matrix)")
	flag.Parse()
	if *probeOnly != "" {
		os.Exit(probeOnce(cfg.reader, *probeOnly))
	}
	if *eventsAfter > -2 {
		os.Exit(eventsOnce(cfg.reader, *eventsAfter, cfg.stepTimeout))
	}
	cfg.scopes = strings.Split(scopes, ",")
	cfg.pins = map[string]string{tokAuth: envOr("MYNA_AUTH_PIN", "1234"), tokSign: envOr("MYNA_SIGN_PIN", "ABC123")}
	cfg.altPINs = map[string]string{tokAuth: "5678", tokSign: "XYZ789"}
	cfg.wrongPINs = map[string]string{tokAuth: "0000", tokSign: "WRONG0"}
	for _, req := range []struct{ v, name string }{{cfg.p11prog, "-p11prog"}, {cfg.state, "-state"},
		{cfg.dir, "-dir"}, {cfg.authCert, "-auth-cert"}, {cfg.signCert, "-sign-cert"}} {
		if req.v == "" {
			fmt.Fprintf(os.Stderr, "driver: %s is required\n", req.name)
			os.Exit(2)
		}
	}
	failed, err := runAll(cfg)
	if err != nil {
		fmt.Println("FAIL shared-card: " + err.Error())
		os.Exit(1)
	}
	if failed > 0 {
		os.Exit(1)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func envInt(k string, def int) int {
	var n int
	if _, err := fmt.Sscan(os.Getenv(k), &n); err == nil && n > 0 {
		return n
	}
	return def
}

// runAll runs the repeats and scopes; it returns the number of failed
// scenarios and checks.
func runAll(cfg config) (int, error) {
	pubs := map[string]*rsa.PublicKey{}
	for tok, path := range map[string]string{tokAuth: cfg.authCert, tokSign: cfg.signCert} {
		k, err := loadPub(path)
		if err != nil {
			return 0, err
		}
		pubs[tok] = k
	}
	// The state file and myna-sim --status must agree (readTries is a shortcut for it).
	st, err1 := statusTries(cfg.sim, cfg.state)
	ft, err2 := readTries(cfg.state)
	if err1 != nil || err2 != nil || st.String() != ft.String() {
		return 0, fmt.Errorf("tries from myna-sim --status (%v %v) and from the state file (%v %v) differ", st, err1, ft, err2)
	}
	if ft[tokAuth] != maxTries[tokAuth] || ft[tokSign] != maxTries[tokSign] {
		return 0, fmt.Errorf("the card must start with every try left: %s", ft)
	}
	failed := 0
	start := time.Now()
	for rep := 1; rep <= cfg.repeat; rep++ {
		for si, scope := range cfg.scopes {
			n, err := runScope(cfg, pubs, scope, si, rep)
			if err != nil {
				return failed, err
			}
			failed += n
		}
	}
	end, err := statusTries(cfg.sim, cfg.state)
	if err != nil {
		return failed, err
	}
	fmt.Printf("myna-sim --status at the end: %s\n", end)
	fmt.Printf("shared-card: %d run(s) of %d scope(s) in %.0f s; %d failed\n", cfg.repeat, len(cfg.scopes), time.Since(start).Seconds(), failed)
	return failed, nil
}

// scopeEnv is the environment of our module's processes in scope.
func scopeEnv(cfg config, scope string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MYNA_PKCS11_AUTH_PIN_SCOPE=") && !strings.HasPrefix(kv, "MYNA_PKCS11_SIGN_PIN_SCOPE=") {
			env = append(env, kv)
		}
	}
	if scope == scopeSession {
		env = append(env, "MYNA_PKCS11_AUTH_PIN_SCOPE=session", "MYNA_PKCS11_SIGN_PIN_SCOPE=session")
	}
	return append(env, pinEnv(cfg)...)
}

// pinEnv gives p11prog the PIN values (proto.PINEnv).
func pinEnv(cfg config) []string {
	var env []string
	for _, tok := range tokens {
		env = append(env, proto.PINEnv(tok, proto.PINGood)+"="+cfg.pins[tok],
			proto.PINEnv(tok, proto.PINAlt)+"="+cfg.altPINs[tok],
			proto.PINEnv(tok, proto.PINWrong)+"="+cfg.wrongPINs[tok])
	}
	return env
}

// runScope runs the whole matrix in one scope and returns its failures.
func runScope(cfg config, pubs map[string]*rsa.PublicKey, scope string, si, rep int) (int, error) {
	w, err := newWorld(cfg, pubs, scope)
	if err != nil {
		return 0, err
	}
	defer w.close()
	var all []scenario
	all = append(all, pairs(si)...)
	all = append(all, triples(si, cfg.triples, cfg.seed+uint64(rep))...)
	all = append(all, wrongPIN(si)...)
	if w.opensc != nil {
		all = append(all, withOpenSC(si, cfg.opensc)...)
		all = append(all, coexist(si, cfg.coexistRandom, cfg.seed+uint64(rep))...)
	}
	t0 := time.Now()
	failed := 0
	for _, sc := range all {
		if !strings.Contains(sc.name, cfg.match) {
			continue
		}
		fails := w.alone(sc)
		if len(fails) == 0 {
			fails = w.run(sc)
		}
		w.stats.scenarios++
		if len(fails) == 0 {
			if cfg.verbose {
				fmt.Printf("PASS shared-card [%s]: %s\n", scope, sc.name)
			}
			continue
		}
		failed++
		w.stats.failedScenarios++
		fmt.Printf("FAIL shared-card [%s]: %s\n", scope, sc.name)
		for _, f := range fails {
			fmt.Printf("    %s\n", f)
		}
	}
	w.stats.print(os.Stdout, fmt.Sprintf("%s (run %d, %.0f s)", scope, rep, time.Since(t0).Seconds()))
	failed += w.measureWindow()
	failed += w.measureKilled()
	return failed, nil
}

// newWorld starts the programs of one scope.
func newWorld(cfg config, pubs map[string]*rsa.PublicKey, scope string) (*world, error) {
	w := &world{cfg: cfg, scope: scope, pubs: pubs, stats: newStats()}
	env := scopeEnv(cfg, scope)
	argv := []string{cfg.p11prog, "-module", cfg.module, "-auth-label", cfg.authLabel, "-sign-label", cfg.signLabel}
	for i := range 3 {
		o, err := startOurs(fmt.Sprintf("ours%d-%s", i+1, scope), argv, env, cfg.dir, cfg.stepTimeout)
		if err != nil {
			w.close()
			return nil, err
		}
		w.ours = append(w.ours, o)
	}
	for i := range 4 {
		r, err := newRawClient(fmt.Sprintf("raw%d", i+1), cfg.reader)
		if err != nil {
			w.close()
			return nil, err
		}
		if i == 3 {
			w.prober = r
		} else {
			w.raws = append(w.raws, r)
		}
	}
	w.tool = &pkcs11Tool{module: cfg.module, env: env, dir: cfg.dir, timeout: cfg.stepTimeout,
		labels: map[string]string{tokAuth: cfg.authLabel, tokSign: cfg.signLabel}}
	if cfg.openscModule == "" {
		return w, nil
	}
	if _, err := os.Stat(cfg.openscModule); err != nil {
		w.close()
		return nil, fmt.Errorf("OpenSC's module (test/install-deps.sh installs opensc-pkcs11; -opensc-module \"\" runs without it): %w", err)
	}
	oscEnv := append(openscEnv(cfg), pinEnv(cfg)...)
	w.opensc = &pkcs11Tool{module: cfg.openscModule, env: oscEnv, dir: cfg.dir, timeout: cfg.stepTimeout,
		labels: map[string]string{tokAuth: cfg.openscAuthLabel, tokSign: cfg.openscSignLabel}}
	osc, err := startOurs("opensc-"+scope, []string{cfg.p11prog, "-module", cfg.openscModule,
		"-auth-label", cfg.openscAuthLabel, "-sign-label", cfg.openscSignLabel}, oscEnv, cfg.dir, cfg.stepTimeout)
	if err != nil {
		w.close()
		return nil, err
	}
	w.osc = osc
	return w, nil
}

// openscEnv gives OpenSC a private configuration without its file cache
// (every simulated card has OpenSC's serial 00000000).
func openscEnv(cfg config) []string {
	conf := filepath.Join(cfg.dir, "opensc.conf")
	_ = os.WriteFile(conf, []byte("app default {\n  framework pkcs15 {\n    use_file_caching = no;\n  }\n}\n"), 0o600)
	return append(os.Environ(), "OPENSC_CONF="+conf)
}

// procs returns the long-lived processes: ours, and OpenSC's when started.
func (w *world) procs() []*oursProc {
	if w.osc == nil {
		return w.ours
	}
	return append(slices.Clone(w.ours), w.osc)
}

func (w *world) close() {
	for _, o := range w.procs() {
		o.stop()
	}
	for _, r := range append(w.raws, w.prober) {
		if r != nil {
			r.close()
		}
	}
}
