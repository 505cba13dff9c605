package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// pkcs11Tool runs OpenSC's pkcs11-tool, one process per command, with a
// module (ours, or OpenSC's own).
type pkcs11Tool struct {
	module  string
	env     []string
	dir     string // scratch files (message, signature)
	timeout time.Duration
	labels  map[string]string // token -> label (for this module)
}

// toolResult is one pkcs11-tool run.
type toolResult struct {
	exit   int    // exit status (-1: killed by the timeout)
	rv     string // the first "rv = CKR_..." pkcs11-tool printed, "" if none
	output string
}

// rvRe finds the CK_RV in pkcs11-tool's error lines ("... failed: rv = CKR_PIN_INCORRECT (0xa0)").
var rvRe = regexp.MustCompile(`rv = (CKR_[A-Z_]+)`)

// run runs pkcs11-tool with args after --module.
func (t *pkcs11Tool) run(args ...string) toolResult {
	ctx, cancel := context.WithTimeout(context.Background(), t.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "pkcs11-tool", append([]string{"--module", t.module}, args...)...)
	cmd.Env = t.env
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	r := toolResult{output: string(out)}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		r.exit = -1
	case errors.As(err, &ee):
		r.exit = ee.ExitCode()
	case err != nil:
		r.exit, r.output = -2, err.Error()
	}
	if m := rvRe.FindStringSubmatch(r.output); m != nil {
		r.rv = m[1]
	}
	return r
}

// tokenArgs selects the token by label.
func (t *pkcs11Tool) tokenArgs(tok string) []string { return []string{"--token-label", t.labels[tok]} }

// sign logs in with pin and signs msg with tok's key (SHA256-RSA-PKCS); it
// returns the run and the signature file's contents.
func (t *pkcs11Tool) sign(tok, pin string, msg []byte) (toolResult, []byte) {
	in, out := filepath.Join(t.dir, "tool-msg"), filepath.Join(t.dir, "tool-sig")
	_ = os.Remove(out)
	if err := os.WriteFile(in, msg, 0o600); err != nil {
		return toolResult{exit: -2, output: err.Error()}, nil
	}
	args := append(t.tokenArgs(tok), "--login", "--pin", pin, "--sign", "--id", keyIDHex[tok],
		"-m", "SHA256-RSA-PKCS", "-i", in, "-o", out)
	r := t.run(args...)
	sig, _ := os.ReadFile(out)
	return r, sig
}

// failed describes a run that did not exit 0, or "" when it did.
func (r toolResult) failed() string {
	if r.exit == 0 {
		return ""
	}
	what := fmt.Sprintf("exit %d", r.exit)
	if r.exit == -1 {
		what = "hung: " + errTimeout.Error()
	}
	return what + ": " + lastLines(r.output, 4)
}

// lastLines returns the last n lines of s, joined with " | ".
func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, " | ")
}
