package main

import (
	"fmt"
	"os"
	"time"

	"github.com/ebfe/scard"
)

// The one-shot modes of the driver, for shell suites: no matrix runs.

// probeOnce sends one PIN-less SIGN with tok's key, prints "signed" or
// "refused" and returns the exit status (2 when the probe could not run).
func probeOnce(reader, tok string) int {
	ef, ok := keyEF[tok]
	if !ok {
		fmt.Fprintf(os.Stderr, "driver: -probe-only %q: auth or sign\n", tok)
		return 2
	}
	r, err := newRawClient("probe", reader)
	if err != nil {
		fmt.Fprintln(os.Stderr, "driver:", err)
		return 2
	}
	defer r.close()
	signed, err := r.probeSign(ef)
	switch {
	case err != nil:
		fmt.Fprintln(os.Stderr, "driver:", err)
		return 2
	case signed:
		fmt.Println("signed")
	default:
		fmt.Println("refused")
	}
	return 0
}

// eventsOnce prints the reader's event count (pcsc-lite keeps it in the
// high 16 bits of dwEventState; its reader-polling thread adds one at each
// insertion or removal it notices) once it exceeds after, waiting up to
// timeout; after -1 prints it at once. A suite records the count before
// the card leaves and waits for a higher one before it puts the card back,
// so that pcscd saw the card go: a vpcd card back before pcscd polled is
// never seen as inserted. It returns the exit status (2 on an error or
// the timeout).
func eventsOnce(reader string, after int, timeout time.Duration) int {
	ctx, err := scard.EstablishContext()
	if err != nil {
		fmt.Fprintln(os.Stderr, "driver: SCardEstablishContext:", err)
		return 2
	}
	defer func() { _ = ctx.Release() }()
	rs := []scard.ReaderState{{Reader: reader, CurrentState: scard.StateUnaware}}
	deadline := time.Now().Add(timeout)
	for {
		wait := time.Until(deadline)
		if wait <= 0 { // a negative timeout would be an infinite one
			fmt.Fprintf(os.Stderr, "driver: no event count above %d in %q within %v\n", after, reader, timeout)
			return 2
		}
		if err := ctx.GetStatusChange(rs, wait); err != nil {
			fmt.Fprintf(os.Stderr, "driver: SCardGetStatusChange(%q): %v\n", reader, err)
			return 2
		}
		n := int(uint16(rs[0].EventState >> 16))
		if n > after {
			fmt.Println(n)
			return 0
		}
		rs[0].CurrentState = rs[0].EventState &^ scard.StateChanged
	}
}
