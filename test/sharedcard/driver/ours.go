package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/myna-pkcs11/myna-pkcs11/test/sharedcard/proto"
)

// errTimeout is returned when a program did not answer within the step
// timeout; the program is killed and started again.
var errTimeout = errors.New("no answer within the step timeout (hang)")

// oursProc is one long-lived process of our module (p11prog), commanded
// line by line.
type oursProc struct {
	name    string
	argv    []string
	env     []string
	logPath string
	timeout time.Duration

	cmd     *exec.Cmd
	stdin   io.WriteCloser
	answers chan string // lines from stdout; closed when it ends
	log     *os.File
}

// startOurs starts p11prog and waits until it has initialised the module
// (its answer to "list").
func startOurs(name string, argv, env []string, dir string, timeout time.Duration) (*oursProc, error) {
	p := &oursProc{name: name, argv: argv, env: env, logPath: filepath.Join(dir, name+".log"), timeout: timeout}
	return p, p.start()
}

func (p *oursProc) start() error {
	log, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	p.log = log
	p.cmd = exec.Command(p.argv[0], p.argv[1:]...)
	p.cmd.Env = p.env
	p.cmd.Stderr = log
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		return err
	}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("%s: starting %s: %w", p.name, p.argv[0], err)
	}
	p.answers = make(chan string, 1)
	go func(ch chan<- string) {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			ch <- sc.Text()
		}
		close(ch)
	}(p.answers)
	a, err := p.do(proto.CmdList)
	if err != nil {
		return err
	}
	if a.Err != "" || a.RV != "CKR_OK" {
		return fmt.Errorf("%s: first list: %s %s (log %s)", p.name, a.RV, a.Err, p.logPath)
	}
	return nil
}

// do sends one command and waits for its answer, at most p.timeout. On a
// timeout or a dead process, the process is killed (by its PID) and started
// again, and the error says so.
func (p *oursProc) do(line string) (proto.Answer, error) {
	var a proto.Answer
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		return a, p.restart(fmt.Errorf("%s: writing %q: %w", p.name, verb(line), err))
	}
	select {
	case l, ok := <-p.answers:
		if !ok {
			return a, p.restart(fmt.Errorf("%s: exited during %q (log %s)", p.name, verb(line), p.logPath))
		}
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			return a, fmt.Errorf("%s: bad answer %q: %w", p.name, l, err)
		}
		return a, nil
	case <-time.After(p.timeout):
		return a, p.restart(fmt.Errorf("%s: %q: %w", p.name, verb(line), errTimeout))
	}
}

// verb is the command name of a line (for messages).
func verb(line string) string {
	f := strings.Fields(line)
	if len(f) > 2 && f[0] == proto.CmdSign {
		return strings.Join(f[:2], " ")
	}
	return line
}

// restart kills the process and starts a new one; it returns why (cause),
// plus any error of the restart.
func (p *oursProc) restart(cause error) error {
	p.kill()
	if err := p.start(); err != nil {
		return fmt.Errorf("%w; restarting it failed: %v", cause, err)
	}
	return fmt.Errorf("%w (restarted)", cause)
}

func (p *oursProc) kill() {
	if p.cmd != nil && p.cmd.Process != nil {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
	}
	if p.log != nil {
		_ = p.log.Close()
	}
}

// stop asks the process to finalise and exit; kills it if it does not.
func (p *oursProc) stop() {
	if _, err := p.do(proto.CmdQuit); err == nil {
		_ = p.stdin.Close()
		done := make(chan struct{})
		go func() { _ = p.cmd.Wait(); close(done) }()
		select {
		case <-done:
			_ = p.log.Close()
			return
		case <-time.After(p.timeout):
		}
	}
	p.kill()
}
