// Package modtest finds or builds libmyna-pkcs11.so and makes simulator
// state files for every test that loads the module (test/abi, test/cabi,
// test/conformance, test/hostile, test/faults). It holds the tests' one
// copy of the module's build command; TestBuildMatchesMakefile keeps it
// equal to the Makefile's.
package modtest

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
)

// EnvLib names the environment variable holding a prebuilt module to test
// instead of building one.
const EnvLib = "MYNA_PKCS11_LIB"

// EnvSim is the variable the module reads at C_Initialize to use the
// in-process simulator on a state file.
const EnvSim = "MYNA_PKCS11_SIM"

// RepoRoot returns the directory holding go.mod, searching upwards from
// the working directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("modtest: go.mod not found above the working directory")
		}
		dir = parent
	}
}

// EnvTestLib names the environment variable holding a prebuilt test
// library (built with -tags mynatest, as make test does) for TestLibrary.
const EnvTestLib = "MYNA_PKCS11_TEST_LIB"

// Library returns the module to test: $MYNA_PKCS11_LIB when set, else a
// fresh build in dir with the same command as the Makefile.
func Library(dir string) (string, error) {
	return library(dir, EnvLib, "libmyna-pkcs11.so")
}

// TestLibrary returns the module built with the test-only simulator
// control (cardos/backend, build tag mynatest) that the fault tests
// drive: $MYNA_PKCS11_TEST_LIB when set, else a fresh build in dir.
func TestLibrary(dir string) (string, error) {
	return library(dir, EnvTestLib, "libmyna-pkcs11-test.so", "-tags", "mynatest")
}

func library(dir, env, name string, flags ...string) (string, error) {
	if p := os.Getenv(env); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("modtest: %s=%s: %w (run `make` or unset it)", env, p, err)
		}
		return p, nil
	}
	out := filepath.Join(dir, name)
	return out, Build(out, true, flags...)
}

// buildFlags and stripFlags are the Makefile's GOFLAGS_SO and the part of
// its LDFLAGS_SO before the version script.
var (
	buildFlags = []string{"-buildmode=c-shared", "-trimpath"}
	stripFlags = []string{"-s", "-w"}
)

// Build builds the module ./c into out with the Makefile's command plus
// flags (for example "-tags", "mynatest"); stripped=false keeps the
// symbol tables (for readable valgrind and sanitizer stacks).
func Build(out string, stripped bool, flags ...string) error {
	root, err := RepoRoot()
	if err != nil {
		return err
	}
	ld := "-extldflags=-Wl,--version-script=" + filepath.Join(root, "c", "exports.map")
	if stripped {
		ld = strings.Join(append(append([]string{}, stripFlags...), ld), " ")
	}
	args := append(append([]string{"build"}, buildFlags...), flags...)
	args = append(args, "-ldflags", ld, "-o", out, "./c")
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("modtest: building the module: %v\n%s", err, b)
	}
	return nil
}

// NewSimState generates a simulated card (default PINs, fresh keys) in the
// state file at path.
func NewSimState(path string, opt sim.Options) error {
	if _, err := sim.Open(path, opt); err != nil {
		return fmt.Errorf("modtest: generating simulator state: %w", err)
	}
	return nil
}

// CopyFile copies src to dst (state files are cloned per test so that each
// test starts from the same fresh card).
func CopyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
