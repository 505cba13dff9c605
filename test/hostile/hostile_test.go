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

// memcheckBlock is one error of a Memcheck report: a header line, its stack
// and the address description, if any.
var memcheckBlock = regexp.MustCompile(`(?m)^==\d+== (\S.*)\n((?:==\d+==    (?:at|by) .*\n)+)((?:==\d+==  Address .*\n)?)`)

// stackArtifact matches the error kinds Go's goroutine-stack switching
// causes: accesses, a system call's buffer on the goroutine stack, and
// values Memcheck lost track of.
var stackArtifact = regexp.MustCompile(`^(Invalid (read|write) of size \d+|Syscall param \S+ points to unaddressable byte\(s\)|Conditional jump or move depends on uninitialised value\(s\)|Use of uninitialised value of size \d+)$`)

// goFrame matches a first stack frame in Go code (a .go or Go assembly
// file, a wrapper the Go compiler generated, or the Go runtime's own C in
// package runtime/cgo, whose files are named gcc_*.c and which runs on the
// stack runtime.asmcgocall switched to).
var goFrame = regexp.MustCompile(`^==\d+==    at 0x[0-9A-F]+: \S.* \(([\w.]+\.(go|s)|<autogenerated>|gcc_\w+\.c):\d+\)$`)

// classifyMemcheck splits the Memcheck errors of out into artifacts of Go's
// goroutine stacks (first frame in Go code and, for an access, an address in
// an anonymous mapping — Go's own arenas, not the host's heap or C stacks)
// and real reports (everything else).
func classifyMemcheck(out string) (artifacts, real []string) {
	for _, m := range memcheckBlock.FindAllStringSubmatch(out, -1) {
		header, stack, addr := m[1], m[2], m[3]
		first := strings.SplitN(stack, "\n", 2)[0]
		inGo := goFrame.MatchString(first)
		access := strings.HasPrefix(header, "Invalid") || strings.HasPrefix(header, "Syscall param")
		goMem := !access || strings.Contains(addr, "is in a rw- anonymous segment")
		if stackArtifact.MatchString(header) && inGo && goMem {
			artifacts = append(artifacts, m[0])
		} else {
			real = append(real, m[0])
		}
	}
	return artifacts, real
}

// TestHostileCallsValgrind runs the hostile calls under Memcheck
// (--error-exitcode=99 --leak-check=full) with the Go-runtime suppressions of
// go-runtime.supp, on an unstripped build of the module (so that suppressions
// and the classification below can name Go functions).
//
// Known limit: Memcheck tracks stacks by the stack pointer. Go switches
// goroutine stacks inside its own heap arenas; when two goroutine stacks lie
// within --max-stackframe (2 MB) of each other, Memcheck sometimes takes the
// switch for a push or pop and from then on flags the Go code's accesses to
// its own goroutine stack ("Address ... is in a rw- anonymous segment"), in
// some runs and not others. Those reports (first frame in Go code, address in
// an anonymous mapping) are counted and logged but tolerated; any other
// report — the host's heap blocks or C stacks, C frames, leaks of malloc'd
// memory — fails the test.
func TestHostileCallsValgrind(t *testing.T) {
	if _, err := exec.LookPath("valgrind"); err != nil {
		t.Fatal("valgrind is not installed (test/install-deps.sh installs it)")
	}
	dbg := filepath.Join(tmp, "libmyna-pkcs11-debug.so")
	if _, err := os.Stat(dbg); err != nil {
		require.NoError(t, modtest.Build(dbg, false, "-tags", "mynatest"))
	}
	saved := lib
	lib = dbg
	defer func() { lib = saved }()
	wrapper := []string{"valgrind", "--error-exitcode=99", "--leak-check=full", "--num-callers=30",
		"--suppressions=" + filepath.Join(root, "test", "hostile", "go-runtime.supp")}
	// Valgrind 3.19 does not decode the SHA-NI instructions Go's crypto uses.
	env := []string{"GODEBUG=cpu.all=off"}
	r := runHarness(t, 10*time.Minute, wrapper, env, plain, "calls")
	require.Empty(t, r.bad)
	require.Equal(t, "ok", r.facts["RESULT"], "harness result under valgrind:\n%s", tail(r.out, 60))
	summary := regexp.MustCompile(`ERROR SUMMARY: (\d+) errors`).FindStringSubmatch(r.out)
	require.NotNil(t, summary, "no Memcheck summary:\n%s", tail(r.out, 40))
	artifacts, real := classifyMemcheck(r.out)
	assert.NotRegexp(t, `definitely lost: [1-9]|indirectly lost: [1-9]`, r.out, "leaks")
	for _, e := range real {
		t.Errorf("Memcheck report outside Go's own stacks:\n%s", e)
	}
	if atoi(summary[1]) == 0 {
		assert.NoError(t, r.err, "valgrind exit")
	}
	t.Logf("valgrind: %s; %d Go goroutine-stack artifacts tolerated, %d other reports", summary[0], len(artifacts), len(real))
	checkCard(t, r, 1)
	record(t, map[string]any{"scenarios": 1, "checks": atoi(r.facts["checks"]), "crashes": 0, "valgrind_real_errors": len(real)})
}

func TestClassifyMemcheck(t *testing.T) {
	out := `==1== Invalid read of size 8
==1==    at 0x4F14F88: runtime.adjustpointers (stack.go:674)
==1==    by 0x4F151E4: runtime.adjustframe (stack.go:767)
==1==  Address 0x372fc3a344c8 is in a rw- anonymous segment
==1== 
==1== Invalid write of size 8
==1==    at 0x505180E: encoding/json.structEncoder.encode-fm (<autogenerated>:1)
==1==  Address 0x152e9185f058 is in a rw- anonymous segment
==1== 
==1== Syscall param fstatat(buf) points to unaddressable byte(s)
==1==    at 0x4EC3EAE: internal/runtime/syscall/linux.Syscall6 (asm_linux_amd64.s:36)
==1==  Address 0x152e918ec2c0 is in a rw- anonymous segment
==1== 
==1== Invalid write of size 8
==1==    at 0x517F43C: _cgo_sys_thread_start (gcc_linux_amd64.c:69)
==1==    by 0x4F634E8: runtime.asmcgocall.abi0 (asm_amd64.s:1027)
==1==  Address 0x2a071441f2c8 is in a rw- anonymous segment
==1== 
==1== Syscall param write(buf) points to unaddressable byte(s)
==1==    at 0x4EC3EAE: internal/runtime/syscall/linux.Syscall6 (asm_linux_amd64.s:36)
==1==  Address 0x5a1b048 is 0 bytes after a block of size 8 alloc'd
==1== 
==1== Invalid read of size 8
==1==    at 0x4F377F5: runtime.memmove (memmove_amd64.s:122)
==1==    by 0x4F15784: main._Cfunc_GoBytes (cgo.go:12)
==1==  Address 0x5a1b048 is 0 bytes after a block of size 8 alloc'd
==1== 
==1== Invalid write of size 1
==1==    at 0x4848: C_Sign (glue_gen.c:200)
==1==  Address 0x372fc3a344c8 is in a rw- anonymous segment
==1== 
==1== 16 bytes in 1 blocks are definitely lost in loss record 1 of 1
==1==    at 0x48465EF: malloc (vg_replace_malloc.c:381)
==1==    by 0x4F1: myna_copy (glue.c:10)
==1== 
`
	artifacts, real := classifyMemcheck(out)
	assert.Len(t, artifacts, 4, "the goroutine-stack accesses: Go code, a compiler wrapper, a system call's buffer, runtime/cgo's C")
	require.Len(t, real, 4, "a system call reading the host's heap, heap overread from Go, C frame, leak")
	assert.Contains(t, real[0], "write(buf)")
	assert.Contains(t, real[1], "after a block")
	assert.Contains(t, real[2], "C_Sign")
	assert.Contains(t, real[3], "definitely lost")
}
