package pcsc

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"

	"github.com/ebfe/scard"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
)

// startPCSCD starts a pcscd in the foreground and returns a function that
// stops it by PID and waits for it to exit.
func startPCSCD(t *testing.T) func() {
	t.Helper()
	cmd := exec.Command("pcscd", "--foreground")
	require.NoError(t, cmd.Start())
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}
	t.Cleanup(stop)
	return stop
}

// waitReaders waits (WaitChange from an empty list) until the named reader
// is listed.
func waitReaders(t *testing.T, c *Context, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	var known []cardos.ReaderStatus
	for !containsReader(known, name) {
		var err error
		known, err = c.WaitChange(ctx, known)
		require.NoError(t, err)
	}
}

// TestPCSCRestart checks that a Context made while pcscd is down works
// once pcscd is up, reports ErrNoService when it stops, and works again
// after a restart. It starts and stops its own pcscd, so it runs only with
// MYNA_TEST_PCSC_RESTART=1 and no pcscd running (test/pcsc-sim.sh).
func TestPCSCRestart(t *testing.T) {
	if os.Getenv("MYNA_TEST_PCSC_RESTART") != "1" {
		t.Skip("set MYNA_TEST_PCSC_RESTART=1 with no pcscd running (see test/pcsc-sim.sh)")
	}
	if sc, err := scard.EstablishContext(); err == nil {
		sc.Release()
		t.Skip("a pcscd is running: this test needs to start its own")
	} else if !errors.Is(err, scard.ErrNoService) {
		t.Fatalf("PC/SC: %v", err)
	}
	addr, reader := readerEnv()

	c, err := New()
	require.NoError(t, err, "New succeeds without pcscd")
	defer c.Close()
	_, err = c.Readers()
	require.ErrorIs(t, err, cardos.ErrNoService)

	// A simulated card served to vpcd, which follows pcscd's restarts.
	card, err := sim.New(sim.Options{})
	require.NoError(t, err)
	vicc := sim.NewReader("vicc")
	vicc.Insert(card)
	serveCtx, stopServe := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- sim.ServeVPCD(serveCtx, addr, vicc) }()
	defer func() { stopServe(); <-served }()

	stop := startPCSCD(t)
	waitReaders(t, c, reader)
	waitFor(t, c, reader, func(r cardos.ReaderStatus, ok bool) bool { return ok && r.Present })
	old, err := c.Connect(reader)
	require.NoError(t, err)
	defer old.Close()
	require.NoError(t, old.Alive(), "a fresh connection stands")

	stop()
	_, err = c.Readers()
	require.ErrorIs(t, err, cardos.ErrNoService, "pcscd stopped")
	_, err = c.Connect(reader)
	require.ErrorIs(t, err, cardos.ErrNoService)

	startPCSCD(t)
	waitReaders(t, c, reader)
	rs, err := c.Readers()
	require.NoError(t, err, "the Context works again after the restart")
	require.True(t, containsReader(rs, reader))
	waitFor(t, c, reader, func(r cardos.ReaderStatus, ok bool) bool { return ok && r.Present })
	require.ErrorIs(t, old.Alive(), cardos.ErrNoService, "the connection made before the restart is dead, seen without a command")
	fresh, err := c.Connect(reader)
	require.NoError(t, err)
	defer fresh.Close()
	require.NoError(t, fresh.Alive())
}

// readerEnv returns the vpcd address and reader name of the environment
// (MYNA_TEST_PCSC_VPCD, MYNA_TEST_PCSC_READER) or their defaults.
func readerEnv() (addr, reader string) {
	addr, reader = os.Getenv("MYNA_TEST_PCSC_VPCD"), os.Getenv("MYNA_TEST_PCSC_READER")
	if addr == "" {
		addr = sim.DefaultVPCDAddr
	}
	if reader == "" {
		reader = "Virtual PCD 00 00"
	}
	return addr, reader
}
