// Package hostile runs testdata/hostile.c, a hostile PKCS#11 host in C,
// against libmyna-pkcs11.so: calls with bad arguments and out of order, bad
// handles swept over every session function (exact CKR_ codes asserted in
// C), fork (after use, before C_Initialize, while signing), C threads (small
// stacks, and a stress run ending in C_Finalize). The sweeps of every
// function before C_Initialize and with NULL pointers are
// test/conformance's. It runs the harness plain, built
// with -fsanitize=address,undefined, and under valgrind, and checks after
// every run that the simulated card spent no PIN try and received only the
// VERIFY commands the harness asked for.
package hostile

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos/backend"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
	"github.com/myna-pkcs11/myna-pkcs11/test/internal/modtest"
)

var (
	lib      string // module under test
	root     string // repository root
	tmp      string // scratch directory of this run
	plain    string // hostile.c built plainly
	asan     string // hostile.c built with ASan+UBSan
	simState string // template simulator state
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	var err error
	if tmp, err = os.MkdirTemp("", "myna-hostile-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	if root, err = modtest.RepoRoot(); err == nil {
		lib, err = modtest.TestLibrary(tmp)
	}
	if err == nil {
		plain = filepath.Join(tmp, "hostile")
		err = gcc(plain, "-O1")
	}
	if err == nil {
		asan = filepath.Join(tmp, "hostile-asan")
		err = gcc(asan, "-O1", "-g", "-fno-omit-frame-pointer", "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined")
	}
	if err == nil {
		simState = filepath.Join(tmp, "card.json")
		err = modtest.NewSimState(simState, sim.Options{})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

func gcc(out string, flags ...string) error {
	args := append([]string{"-Wall", "-Wextra", "-Werror"}, flags...)
	args = append(args, "-I", filepath.Join(root, "c"), "-I", filepath.Join(root, "test", "internal", "p11load"), "-o", out, filepath.Join("testdata", "hostile.c"), "-ldl", "-pthread")
	if b, err := exec.Command("gcc", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("gcc %v: %v\n%s", flags, err, b)
	}
	return nil
}

// result is what one harness run printed.
type result struct {
	facts map[string]string
	bad   []string
	sigs  []sig
	out   string
	state string // the card's state file
	err   error  // the harness's exit
	stats backend.CardStats
}

type sig struct {
	token    string
	msg, sig []byte
}

// runHarness runs the harness (through wrapper, if any) against a fresh copy
// of the simulated card, with a hang guard of limit.
func runHarness(t *testing.T, limit time.Duration, wrapper []string, env []string, bin string, args ...string) result {
	t.Helper()
	dir := t.TempDir()
	state := filepath.Join(dir, "card.json")
	control := filepath.Join(dir, "control")
	require.NoError(t, modtest.CopyFile(state, simState))
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	argv := append(append(append([]string{}, wrapper...), bin, lib), args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	// PIN scope session unless env says otherwise: then every VERIFY
	// with a PIN the card receives is a login the harness made, and
	// checkCard counts them exactly.
	scope := []string{"MYNA_PKCS11_AUTH_PIN_SCOPE=session", "MYNA_PKCS11_SIGN_PIN_SCOPE=session"}
	cmd.Env = append(append(append(os.Environ(), modtest.EnvSim+"="+state, backend.EnvSimControl+"="+control), scope...), env...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	r := result{facts: map[string]string{}, out: buf.String(), state: state}
	sc := bufio.NewScanner(strings.NewReader(r.out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		k, v, _ := strings.Cut(line, " ")
		switch k {
		case "bad":
			r.bad = append(r.bad, v)
		case "sig":
			f := strings.Fields(v)
			if len(f) == 3 {
				m, e1 := hex.DecodeString(f[1])
				s, e2 := hex.DecodeString(f[2])
				if e1 == nil && e2 == nil {
					r.sigs = append(r.sigs, sig{f[0], m, s})
				}
			}
		default:
			r.facts[k] = v
		}
	}
	if ctx.Err() != nil {
		t.Fatalf("harness %v hung for %v (killed); output:\n%s", args, limit, tail(r.out, 60))
	}
	if b, err := os.ReadFile(control + ".stats"); err == nil {
		var st backend.ControlStats
		if json.Unmarshal(b, &st) == nil {
			r.stats = st.Cards[state]
		}
	}
	r.err = err
	return r
}

// requireOK fails the test unless the harness printed RESULT ok and exited 0.
func requireOK(t *testing.T, r result) {
	t.Helper()
	if r.err != nil || r.facts["RESULT"] != "ok" {
		t.Fatalf("harness: %v, RESULT %q; output:\n%s", r.err, r.facts["RESULT"], tail(r.out, 80))
	}
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	var keep []string
	for _, l := range lines {
		if !strings.HasPrefix(l, "sig ") {
			keep = append(keep, l)
		}
	}
	if len(keep) > n {
		keep = keep[len(keep)-n:]
	}
	return strings.Join(keep, "\n")
}

// checkCard asserts that every signature verifies with the card's public
// keys, that no PIN try was spent and that the card received exactly
// wantVerifies VERIFY commands with a PIN. It returns the retries lost.
func checkCard(t *testing.T, r result, wantVerifies uint64) int {
	t.Helper()
	card, err := sim.Open(r.state, sim.Options{})
	require.NoError(t, err)
	certs := card.Certificates()
	keys := map[string]*rsa.PublicKey{}
	for name, der := range map[string][]byte{"auth": certs.AuthCert, "sign": certs.SignCert} {
		c, err := x509.ParseCertificate(der)
		require.NoError(t, err)
		keys[name] = c.PublicKey.(*rsa.PublicKey)
	}
	bad := 0
	for _, s := range r.sigs {
		h := sha256.Sum256(s.msg)
		if err := rsa.VerifyPKCS1v15(keys[s.token], crypto.SHA256, h[:], s.sig); err != nil {
			bad++
			t.Errorf("%s signature of %q does not verify: %v", s.token, s.msg, err)
		}
	}
	lost := (sim.AuthMaxTries - card.TriesLeft(1)) + (sim.SignMaxTries - card.TriesLeft(2))
	assert.Zero(t, lost, "PIN tries spent on the card")
	assert.Equal(t, wantVerifies, r.stats.Verifies, "VERIFY commands with a PIN the card received")
	if r.stats.Verifies > wantVerifies {
		lost += int(r.stats.Verifies - wantVerifies)
	}
	record(t, map[string]any{"signatures": len(r.sigs), "bad_signatures": bad, "retries_lost": lost})
	return lost
}

// record appends one JSON line of figures to $MYNA_RELIABILITY_OUT (used by
// test/suites/reliability.sh --report).
func record(t *testing.T, fields map[string]any) {
	path := os.Getenv("MYNA_RELIABILITY_OUT")
	if path == "" {
		return
	}
	fields["suite"] = "hostile"
	fields["test"] = t.Name()
	fields["failed"] = t.Failed()
	b, _ := json.Marshal(fields)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	f.Write(append(b, '\n'))
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func TestHostileCalls(t *testing.T) {
	r := runHarness(t, 2*time.Minute, nil, nil, plain, "calls")
	requireOK(t, r)
	assert.Empty(t, r.bad)
	assert.GreaterOrEqual(t, atoi(r.facts["checks"]), 300, "assertions made")
	assert.Len(t, r.sigs, 2, "signatures after short buffers")
	checkCard(t, r, 1)
	record(t, map[string]any{"scenarios": 1, "checks": atoi(r.facts["checks"]), "crashes": 0})
}

func TestHostileCallsASan(t *testing.T) {
	r := runHarness(t, 3*time.Minute, nil, []string{"ASAN_OPTIONS=detect_leaks=1:abort_on_error=1", "UBSAN_OPTIONS=print_stacktrace=1"}, asan, "calls")
	requireOK(t, r)
	assert.Empty(t, r.bad)
	assert.NotContains(t, r.out, "ERROR: AddressSanitizer")
	assert.NotContains(t, r.out, "runtime error:")
	checkCard(t, r, 1)
	record(t, map[string]any{"scenarios": 1, "checks": atoi(r.facts["checks"]), "crashes": 0, "sanitizer": "asan+ubsan"})
}

// The same calls in the default PIN scope operation, where each
// signature verifies the held PIN again: every signature verifies, no
// try is spent, and the card sees one VERIFY per login and per signature
// it made (the harness also signs raw CKM_RSA_PKCS input it does not
// print).
func TestHostileCallsOperationScope(t *testing.T) {
	r := runHarness(t, 2*time.Minute, nil, []string{"MYNA_PKCS11_AUTH_PIN_SCOPE=operation", "MYNA_PKCS11_SIGN_PIN_SCOPE=operation"}, plain, "calls")
	requireOK(t, r)
	assert.Empty(t, r.bad)
	assert.Len(t, r.sigs, 2, "signatures after short buffers")
	require.EqualValues(t, 3, r.stats.Signatures, "two printed signatures and one raw CKM_RSA_PKCS")
	checkCard(t, r, 1+r.stats.Signatures)
	record(t, map[string]any{"scenarios": 1, "checks": atoi(r.facts["checks"]), "crashes": 0, "scope": "operation"})
}

func TestForkWhileSigning(t *testing.T) {
	for _, bin := range []string{plain, asan} {
		r := runHarness(t, 2*time.Minute, nil, []string{"ASAN_OPTIONS=detect_leaks=0"}, bin, "fork")
		requireOK(t, r)
		for i := 0; i < 7; i++ {
			assert.Equal(t, "0x5", r.facts[fmt.Sprintf("child_rv%d", i)], "child call %d: CKR_GENERAL_ERROR", i)
		}
		assert.Equal(t, "0", r.facts["child_exit"], "the child exits by itself")
		assert.NotContains(t, r.facts, "child_hung")
		secs, err := strconv.ParseFloat(r.facts["child_wait_seconds"], 64)
		require.NoError(t, err)
		assert.Less(t, secs, 1.0, "the child is done within a second")
		assert.GreaterOrEqual(t, len(r.sigs), 4, "signatures before, during and after the fork")
		checkCard(t, r, 2)
		record(t, map[string]any{"scenarios": 1, "crashes": 0})
	}
}

func TestStressThreadsThenFinalize(t *testing.T) {
	const threads, seconds, max = 16, 30, 3000
	for _, bin := range []string{plain, asan} {
		r := runHarness(t, 3*time.Minute, nil, []string{"ASAN_OPTIONS=detect_leaks=0"}, bin,
			"stress", strconv.Itoa(threads), strconv.Itoa(seconds), strconv.Itoa(max), "150")
		requireOK(t, r)
		assert.Equal(t, "0", r.facts["errors"])
		assert.Equal(t, strconv.Itoa(threads), r.facts["workers_done"])
		assert.Equal(t, 4, strings.Count(r.out, "waiter_end 0x190"), "every C_WaitForSlotEvent returned CKR_CRYPTOKI_NOT_INITIALIZED at C_Finalize")
		attempts := atoi(r.facts["attempts"])
		assert.Positive(t, attempts)
		assert.Len(t, r.sigs, attempts, "one verified signature per attempt")
		checkCard(t, r, 2)
		record(t, map[string]any{"scenarios": 1, "crashes": 0, "threads": threads})
	}
}

// A plain host (no sanitizer) forks after using the module, or before
// C_Initialize: every call in the child is CKR_GENERAL_ERROR, the parent
// goes on.
func TestForkInAPlainHost(t *testing.T) {
	for _, mode := range []string{"forkafteruse", "forkearly"} {
		t.Run(mode, func(t *testing.T) {
			r := runHarness(t, 2*time.Minute, nil, nil, plain, mode)
			requireOK(t, r)
			f := r.facts
			for i := 0; i < 4; i++ {
				assert.Equal(t, "0x5", f[fmt.Sprintf("child_rv%d", i)], "child call %d must be CKR_GENERAL_ERROR", i)
			}
			if mode == "forkearly" {
				assert.Equal(t, "0x0", f["parent_initialize"])
				return
			}
			assert.Equal(t, "0x0", f["parent_getinfo"])
			assert.Equal(t, "0x0", f["parent_finalize"])
			assert.Equal(t, f["parent_slots_before"], f["parent_slots_after"], "parent sees the same slots after the fork")
		})
	}
}

// A plain host calls in from C threads with small stacks.
func TestManyCThreadsWithSmallStacks(t *testing.T) {
	r := runHarness(t, 2*time.Minute, nil, nil, plain, "threads", "32")
	requireOK(t, r)
	f := r.facts
	assert.Equal(t, "0", f["errors"])
}

// TestHostileCallsValgrind runs the hostile calls under Memcheck, on a module
// built with Go's valgrind build tag (runtime/valgrind.go, Go 1.25 and
// later): the runtime then registers its goroutine stacks and describes its
// heap to Valgrind through client requests. Without it Memcheck takes a
// switch between two goroutine stacks close to each other for a push or pop
// and reports the Go code's own stack accesses, in some runs and not others.
// Every Memcheck error fails the test. Leaks are not checked here: Valgrind
// 3.19's leak check aborts on the runtime's annotated heap ("Block ...
// overlaps with block"); LeakSanitizer checks the same calls in
// TestHostileCallsASan.
func TestHostileCallsValgrind(t *testing.T) {
	if _, err := exec.LookPath("valgrind"); err != nil {
		t.Fatal("valgrind is not installed (test/install-deps.sh installs it)")
	}
	annotated := filepath.Join(tmp, "libmyna-pkcs11-valgrind.so")
	require.NoError(t, modtest.Build(annotated, false, "-tags", "mynatest,valgrind"))
	saved := lib
	lib = annotated
	defer func() { lib = saved }()
	wrapper := []string{"valgrind", "--error-exitcode=99", "--leak-check=no", "--num-callers=30"}
	// Valgrind 3.19 does not decode the SHA-NI instructions Go's crypto uses
	// (cpu.all=off). Asynchronous preemption moves a goroutine's stack
	// pointer from a signal handler, by rewriting the signal context to call
	// runtime.asyncPreempt; Memcheck does not see that as a push and reports
	// the injected frame's register saves (asyncpreemptoff=1).
	env := []string{"GODEBUG=cpu.all=off,asyncpreemptoff=1"}
	r := runHarness(t, 10*time.Minute, wrapper, env, plain, "calls")
	require.Empty(t, r.bad)
	require.Equal(t, "ok", r.facts["RESULT"], "harness result under valgrind:\n%s", tail(r.out, 60))
	summary := regexp.MustCompile(`ERROR SUMMARY: (\d+) errors`).FindStringSubmatch(r.out)
	require.NotNil(t, summary, "no Memcheck summary:\n%s", tail(r.out, 40))
	require.Equal(t, "0", summary[1], "Memcheck errors:\n%s", tail(r.out, 80))
	require.NoError(t, r.err, "valgrind exit")
	t.Logf("valgrind: %s", summary[0])
	checkCard(t, r, 1)
	record(t, map[string]any{"scenarios": 1, "checks": atoi(r.facts["checks"]), "crashes": 0, "valgrind_errors": 0})
}
