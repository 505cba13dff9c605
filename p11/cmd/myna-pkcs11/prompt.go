package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"unsafe"
)

// input reads PINs and answers: from the terminal without echo, or one
// line at a time from a stream (--pin-stdin, --sign-pin-file). PINs are
// returned as byte slices so that callers can wipe them; they are never
// printed.
type input struct {
	r        *bufio.Reader
	terminal bool      // r is a terminal: turn echo off for PINs
	fd       int       // the terminal's file descriptor
	prompts  io.Writer // where prompts go (stderr)
}

// newInput reads from f. When lines is false, f must be a terminal.
func newInput(f *os.File, lines bool, prompts io.Writer) (*input, error) {
	term := isTerminal(int(f.Fd()))
	if !lines && !term {
		return nil, errors.New("standard input is not a terminal: to give PINs from a script, use --pin-stdin (one per line)")
	}
	return &input{r: bufio.NewReader(f), terminal: term && !lines, fd: int(f.Fd()), prompts: prompts}, nil
}

// errNoInput means the input ended before a line was read.
var errNoInput = errors.New("no more input: expected another line")

// line reads one line without its end of line.
func (in *input) line() ([]byte, error) {
	b, err := in.r.ReadBytes('\n')
	if err != nil && (err != io.EOF || len(b) == 0) {
		clear(b)
		if err == io.EOF {
			return nil, errNoInput
		}
		return nil, err
	}
	n := len(b)
	for n > 0 && (b[n-1] == '\n' || b[n-1] == '\r') {
		n--
	}
	out := append([]byte(nil), b[:n]...)
	clear(b)
	return out, nil
}

// secret prints prompt and reads a PIN, with echo off on a terminal.
func (in *input) secret(prompt string) ([]byte, error) {
	if !in.terminal {
		return in.line()
	}
	fmt.Fprint(in.prompts, prompt)
	restore, err := echoOff(in.fd)
	if err != nil {
		return nil, fmt.Errorf("cannot turn off echo on the terminal: %w", err)
	}
	// Ctrl-C while echo is off must not leave the terminal without echo.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-sig:
			restore()
			fmt.Fprintln(in.prompts)
			os.Exit(130)
		case <-done:
		}
	}()
	b, err := in.line()
	close(done)
	signal.Stop(sig)
	restore()
	fmt.Fprintln(in.prompts)
	return b, err
}

// confirm prints question and reads a yes/no answer (echoed).
func (in *input) confirm(question string) (bool, error) {
	if in.terminal {
		fmt.Fprint(in.prompts, question+" [y/N] ")
	}
	b, err := in.line()
	if err != nil {
		return false, err
	}
	a := strings.ToLower(strings.TrimSpace(string(b)))
	return a == "y" || a == "yes", nil
}

// isTerminal reports whether fd is a terminal.
func isTerminal(fd int) bool {
	var t syscall.Termios
	return ioctl(fd, syscall.TCGETS, &t) == nil
}

// echoOff turns off echo on the terminal fd and returns a function that
// restores the previous settings.
func echoOff(fd int) (func(), error) {
	var old syscall.Termios
	if err := ioctl(fd, syscall.TCGETS, &old); err != nil {
		return nil, err
	}
	t := old
	t.Lflag &^= syscall.ECHO
	t.Lflag |= syscall.ICANON | syscall.ISIG
	if err := ioctl(fd, syscall.TCSETS, &t); err != nil {
		return nil, err
	}
	return func() { ioctl(fd, syscall.TCSETS, &old) }, nil
}

func ioctl(fd int, req uintptr, t *syscall.Termios) error {
	_, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), req, uintptr(unsafe.Pointer(t)))
	if e != 0 {
		return e
	}
	return nil
}
