package sim

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
)

func newTestContext(t *testing.T, opt ...Options) (*Context, *Reader, *Card) {
	t.Helper()
	card := newTestCard(t, Quirks{}, opt...)
	r := NewReader("Myna Simulator 00 00")
	r.Insert(card)
	ctx := NewContext(r)
	t.Cleanup(func() { ctx.Close() })
	return ctx, r, card
}

func TestContextConnectTransmit(t *testing.T) {
	ctx, _, card := newTestContext(t)
	st, err := ctx.Readers()
	require.NoError(t, err)
	require.Equal(t, []cardos.ReaderStatus{{Name: "Myna Simulator 00 00", Present: true, Events: 0}}, st)

	tr, err := ctx.Connect("Myna Simulator 00 00")
	require.NoError(t, err)
	defer tr.Close()
	assert.Equal(t, DefaultATR, tr.ATR())
	require.NoError(t, tr.Begin())
	resp, err := tr.Transmit(h(selJPKI))
	require.NoError(t, err)
	assert.Equal(t, h("9000"), resp)
	require.NoError(t, tr.End(false))
	assert.Equal(t, uint64(1), card.Stats().APDUs)

	_, err = ctx.Connect("nope")
	assert.ErrorIs(t, err, cardos.ErrReaderGone)
}

func TestContextNoCard(t *testing.T) {
	r := NewReader("empty")
	ctx := NewContext(r)
	defer ctx.Close()
	_, err := ctx.Connect("empty")
	assert.ErrorIs(t, err, cardos.ErrNoCard)
}

func TestTransportResetByOther(t *testing.T) {
	ctx, _, _ := newTestContext(t)
	a, err := ctx.Connect("Myna Simulator 00 00")
	require.NoError(t, err)
	b, err := ctx.Connect("Myna Simulator 00 00")
	require.NoError(t, err)

	require.NoError(t, a.Begin())
	_, err = a.Transmit(h(selJPKI))
	require.NoError(t, err)
	require.NoError(t, a.End(true)) // a resets the card itself: no error for a

	err = b.Begin()
	assert.ErrorIs(t, err, cardos.ErrCardReset, "b sees the reset once")
	require.NoError(t, b.End(false))
	require.NoError(t, b.Begin(), "and only once")
	require.NoError(t, b.End(false))

	require.NoError(t, a.Begin(), "a did the reset itself")
	require.NoError(t, a.End(false))
}

func TestTransportRemoved(t *testing.T) {
	ctx, r, card := newTestContext(t)
	tr, err := ctx.Connect("Myna Simulator 00 00")
	require.NoError(t, err)
	r.Remove()
	_, err = tr.Transmit(h(selJPKI))
	assert.ErrorIs(t, err, cardos.ErrCardRemoved)
	assert.ErrorIs(t, tr.Begin(), cardos.ErrCardRemoved)

	// Re-inserting the same card does not revive the old transport.
	r.Insert(card)
	_, err = tr.Transmit(h(selJPKI))
	assert.ErrorIs(t, err, cardos.ErrCardRemoved)
	tr2, err := ctx.Connect("Myna Simulator 00 00")
	require.NoError(t, err)
	_, err = tr2.Transmit(h(selJPKI))
	assert.NoError(t, err)
}

func TestTransportReaderGone(t *testing.T) {
	ctx, _, _ := newTestContext(t)
	tr, err := ctx.Connect("Myna Simulator 00 00")
	require.NoError(t, err)
	ctx.RemoveReader("Myna Simulator 00 00")
	_, err = tr.Transmit(h(selJPKI))
	assert.ErrorIs(t, err, cardos.ErrReaderGone)
	assert.ErrorIs(t, err, cardos.ErrCardRemoved)
	st, err := ctx.Readers()
	require.NoError(t, err)
	assert.Empty(t, st)
}

func TestTransactionExclusive(t *testing.T) {
	ctx, _, card := newTestContext(t)
	a, err := ctx.Connect("Myna Simulator 00 00")
	require.NoError(t, err)
	b, err := ctx.Connect("Myna Simulator 00 00")
	require.NoError(t, err)
	require.NoError(t, a.Begin())
	done := make(chan error, 1)
	go func() {
		_, err := b.Transmit(h(selISD))
		done <- err
	}()
	// While a holds the transaction, b's command waits: a's sequence is
	// not interleaved.
	for _, cmd := range []string{selJPKI, selAuthPIN, verifyAuth} {
		resp, err := a.Transmit(h(cmd))
		require.NoError(t, err)
		require.Equal(t, h("9000"), resp)
	}
	select {
	case err := <-done:
		t.Fatalf("b transmitted during a's transaction: %v", err)
	default:
	}
	require.NoError(t, a.End(false))
	require.NoError(t, <-done)
	assert.Equal(t, uint64(4), card.Stats().APDUs)
}

func TestTransactionWaiterWakesOnRemoval(t *testing.T) {
	ctx, r, _ := newTestContext(t)
	a, _ := ctx.Connect("Myna Simulator 00 00")
	b, _ := ctx.Connect("Myna Simulator 00 00")
	require.NoError(t, a.Begin())
	done := make(chan error, 1)
	go func() { done <- b.Begin() }()
	r.Remove()
	assert.ErrorIs(t, <-done, cardos.ErrCardRemoved)
	assert.ErrorIs(t, a.End(false), cardos.ErrCardRemoved)
}

func TestWaitChange(t *testing.T) {
	ctx, r, card := newTestContext(t)
	known, err := ctx.Readers()
	require.NoError(t, err)

	var wg sync.WaitGroup
	wg.Add(1)
	var got []cardos.ReaderStatus
	var werr error
	go func() {
		defer wg.Done()
		got, werr = ctx.WaitChange(context.Background(), known)
	}()
	r.Remove()
	wg.Wait()
	require.NoError(t, werr)
	assert.Equal(t, []cardos.ReaderStatus{{Name: "Myna Simulator 00 00", Present: false, Events: 1}}, got)

	r.Insert(card)
	got, err = ctx.WaitChange(context.Background(), got)
	require.NoError(t, err)
	assert.Equal(t, []cardos.ReaderStatus{{Name: "Myna Simulator 00 00", Present: true, Events: 2}}, got)

	// Adding a reader is a change too.
	go ctx.AddReader(NewReader("Second"))
	got, err = ctx.WaitChange(context.Background(), got)
	require.NoError(t, err)
	require.Len(t, got, 2)

	// A cancelled ctx returns its error.
	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = ctx.WaitChange(cctx, got)
	assert.ErrorIs(t, err, context.Canceled)

	// Close wakes a waiter with an error.
	done := make(chan error, 1)
	go func() {
		_, err := ctx.WaitChange(context.Background(), got)
		done <- err
	}()
	require.NoError(t, ctx.Close())
	assert.ErrorIs(t, <-done, cardos.ErrNoService)
	_, err = ctx.Readers()
	assert.ErrorIs(t, err, cardos.ErrNoService)
}

func TestFaultsInProcess(t *testing.T) {
	tests := []struct {
		name    string
		fault   Fault
		wantErr error
	}{
		{"remove", Fault{Kind: FaultRemove, After: 1}, cardos.ErrCardRemoved},
		{"reset", Fault{Kind: FaultReset, After: 1}, cardos.ErrCardReset},
		{"garbage", Fault{Kind: FaultGarbage, After: 1}, cardos.ErrCommFailure},
		{"silent", Fault{Kind: FaultSilent, After: 1}, cardos.ErrTimeout},
		{"remove on VERIFY", Fault{Kind: FaultRemove, OnINS: true, INS: 0x20}, cardos.ErrCardRemoved},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, r, card := newTestContext(t, Options{Timeout: time.Millisecond})
			tr, err := ctx.Connect("Myna Simulator 00 00")
			require.NoError(t, err)
			card.SetFault(tt.fault)
			_, err = tr.Transmit(h(selJPKI))
			require.NoError(t, err)
			_, err = tr.Transmit(h(selAuthPIN))
			if tt.fault.OnINS {
				require.NoError(t, err)
				_, err = tr.Transmit(h(verifyAuth))
			}
			require.ErrorIs(t, err, tt.wantErr)
			if tt.wantErr == cardos.ErrCardRemoved {
				assert.Nil(t, r.Card())
				return
			}
			// One-shot: the next command is answered normally.
			resp, err := tr.Transmit(h(selJPKI))
			require.NoError(t, err)
			assert.Equal(t, h("9000"), resp)
		})
	}
}

func TestFaultResponseCorruption(t *testing.T) {
	c := newTestCard(t, Quirks{})
	c.SetFault(Fault{Kind: FaultWrongSW, SW: 0x6A82})
	assert.Equal(t, "6A82", tx(t, c, selJPKI))
	c.SetFault(Fault{Kind: FaultTruncate})
	assert.Equal(t, "90", tx(t, c, selJPKI))
	c.SetFault(Fault{Kind: FaultTruncate})
	assert.Equal(t, "8F8F", tx(t, c, "00B0880003"), "5-byte response cut to 2")
	c.SetFault(Fault{Kind: FaultWrongSW, Repeat: true})
	assert.Equal(t, "6F00", tx(t, c, selJPKI))
	assert.Equal(t, "6F00", tx(t, c, selJPKI))
	c.SetFault(Fault{})
	assert.Equal(t, "9000", tx(t, c, selJPKI))
	c.SetFault(Fault{Kind: FaultSilent})
	assert.Nil(t, c.Process(h(selJPKI)))
}

// A stopped service lists nothing and connects nothing; every connection
// made before the stop stays dead after the start (an invalid handle);
// the start counts insertions afresh and powers the cards up again.
func TestServiceRestart(t *testing.T) {
	c, r, card := newTestContext(t)
	old, err := c.Connect(r.Name())
	require.NoError(t, err)
	before, err := c.Readers()
	require.NoError(t, err)
	resets := card.Stats().Resets

	c.StopService()
	_, err = c.Readers()
	require.ErrorIs(t, err, cardos.ErrNoService)
	_, err = c.Connect(r.Name())
	require.ErrorIs(t, err, cardos.ErrNoService)
	r.Remove()
	r.Insert(card)
	c.StartService()

	after, err := c.Readers()
	require.NoError(t, err)
	assert.Equal(t, before, after, "the event count repeats after the restart")
	require.ErrorIs(t, old.Begin(), cardos.ErrNoService, "the old connection is dead")
	require.ErrorIs(t, old.Alive(), cardos.ErrNoService)
	fresh, err := c.Connect(r.Name())
	require.NoError(t, err)
	require.NoError(t, fresh.Alive())
	assert.Greater(t, card.Stats().Resets, resets, "the card was powered up again")
}

// A lost answer: the command ran (the wrong PIN counted), the caller got
// no answer.
func TestFaultLostRunsTheCommand(t *testing.T) {
	c, r, card := newTestContext(t, Options{Timeout: time.Millisecond})
	tr, err := c.Connect(r.Name())
	require.NoError(t, err)
	for _, cmd := range [][]byte{
		{0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01},
		{0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x18},
	} {
		rsp, err := tr.Transmit(cmd)
		require.NoError(t, err)
		require.Equal(t, []byte{0x90, 0x00}, rsp)
	}
	card.SetFault(Fault{Kind: FaultLost, OnINS: true, INS: 0x20})
	_, err = tr.Transmit([]byte{0x00, 0x20, 0x00, 0x80, 0x04, '0', '0', '0', '0'})
	require.ErrorIs(t, err, cardos.ErrTimeout)
	assert.Equal(t, AuthMaxTries-1, card.TriesLeft(1), "the card counted the try")
}
