package pcsc

import (
	"context"
	"errors"
	"testing"

	"github.com/ebfe/scard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
)

func TestWrap(t *testing.T) {
	tests := []struct {
		err       scard.Error
		onConnect bool
		want      error
	}{
		{scard.ErrResetCard, false, cardos.ErrCardReset},
		{scard.ErrRemovedCard, false, cardos.ErrCardRemoved},
		{scard.ErrNoSmartcard, false, cardos.ErrCardRemoved},
		{scard.ErrRemovedCard, true, cardos.ErrNoCard},
		{scard.ErrNoSmartcard, true, cardos.ErrNoCard},
		{scard.ErrReaderUnavailable, false, cardos.ErrReaderGone},
		{scard.ErrUnknownReader, true, cardos.ErrReaderGone},
		{scard.ErrNoService, false, cardos.ErrNoService},
		{scard.ErrServiceStopped, true, cardos.ErrNoService},
		{scard.ErrTimeout, false, cardos.ErrTimeout},
		{scard.ErrCommError, false, cardos.ErrCommFailure},
		{scard.ErrUnresponsiveCard, true, cardos.ErrCommFailure},
		{scard.ErrUnpoweredCard, false, cardos.ErrCommFailure},
		{scard.ErrCommDataLost, false, cardos.ErrCommFailure},
	}
	for _, tt := range tests {
		err := wrap("transmit", tt.err, tt.onConnect)
		require.ErrorIs(t, err, tt.want, "%v", tt.err)
		var se scard.Error
		require.ErrorAs(t, err, &se)
		assert.Equal(t, tt.err, se)
		assert.Contains(t, err.Error(), "pcsc: transmit: ")
	}
	err := wrap("list readers", scard.ErrSharingViolation, false)
	for _, s := range []error{cardos.ErrCardReset, cardos.ErrCardRemoved, cardos.ErrNoCard, cardos.ErrReaderGone, cardos.ErrNoService, cardos.ErrTimeout, cardos.ErrCommFailure} {
		assert.NotErrorIs(t, err, s)
	}
	assert.ErrorIs(t, err, scard.ErrSharingViolation)
	assert.NoError(t, wrap("x", nil, false))
	assert.True(t, serviceGone(wrap("x", scard.ErrInvalidHandle, false)))
	assert.False(t, serviceGone(errors.New("other")))
}

func rs(name string, state scard.StateFlag, count uint16) scard.ReaderState {
	return scard.ReaderState{Reader: name, EventState: state | scard.StateChanged | scard.StateFlag(count)<<16}
}

func TestTracker(t *testing.T) {
	tr := newTracker()
	got := tr.update([]scard.ReaderState{rs("B", scard.StateEmpty, 0), rs("A", scard.StatePresent, 5)})
	assert.Equal(t, []cardos.ReaderStatus{{Name: "A", Present: true}, {Name: "B"}}, got, "sorted, counted from zero")
	assert.Equal(t, scard.StatePresent|5<<16, tr.lastState("A"), "changed bit dropped")
	assert.Equal(t, scard.StateUnaware, tr.lastState("C"))

	// Card swapped in A (two events), card inserted in B.
	got = tr.update([]scard.ReaderState{rs("A", scard.StatePresent, 7), rs("B", scard.StatePresent, 1)})
	assert.Equal(t, []cardos.ReaderStatus{{Name: "A", Present: true, Events: 2}, {Name: "B", Present: true, Events: 1}}, got)

	// A implementation without counters: presence changes count one each.
	got = tr.update([]scard.ReaderState{rs("A", scard.StateEmpty, 7), rs("B", scard.StatePresent, 1)})
	assert.Equal(t, uint64(3), got[0].Events)
	assert.False(t, got[0].Present)

	// Counter wrap-around.
	tr2 := newTracker()
	tr2.update([]scard.ReaderState{rs("R", scard.StatePresent, 0xFFFF)})
	got = tr2.update([]scard.ReaderState{rs("R", scard.StatePresent, 1)})
	assert.Equal(t, uint64(2), got[0].Events)

	// Unplugged readers are forgotten; plugged in again they count anew.
	got = tr.update([]scard.ReaderState{rs("B", scard.StatePresent, 1)})
	assert.Len(t, got, 1)
	got = tr.update([]scard.ReaderState{rs("A", scard.StatePresent, 0), rs("B", scard.StatePresent, 1)})
	assert.Equal(t, cardos.ReaderStatus{Name: "A", Present: true}, got[0])

	// Unavailable or mute-unknown readers hold no usable card.
	assert.False(t, present(scard.StatePresent|scard.StateUnavailable))
	assert.True(t, present(scard.StatePresent|scard.StateInuse|scard.StateMute))
}

func TestSameStatus(t *testing.T) {
	a := []cardos.ReaderStatus{{Name: "A", Present: true, Events: 1}, {Name: "B"}}
	assert.True(t, sameStatus(a, []cardos.ReaderStatus{{Name: "B"}, {Name: "A", Present: true, Events: 1}}))
	assert.False(t, sameStatus(a, a[:1]))
	assert.False(t, sameStatus(a, []cardos.ReaderStatus{{Name: "A", Present: true, Events: 2}, {Name: "B"}}))
	assert.False(t, sameStatus(a, []cardos.ReaderStatus{{Name: "A", Present: true, Events: 1}, {Name: "C"}}))
	assert.True(t, sameStatus(nil, []cardos.ReaderStatus{}))
}

// TestNoService runs only when pcscd is not running: New must succeed and
// the calls report cardos.ErrNoService.
func TestNoService(t *testing.T) {
	if sc, err := scard.EstablishContext(); err == nil {
		sc.Release()
		t.Skip("pcscd is running")
	} else if !errors.Is(err, scard.ErrNoService) {
		t.Skipf("PC/SC unavailable in another way: %v", err)
	}
	c, err := New()
	require.NoError(t, err)
	_, err = c.Readers()
	require.ErrorIs(t, err, cardos.ErrNoService)
	_, err = c.Connect("Virtual PCD 00 00")
	require.ErrorIs(t, err, cardos.ErrNoService)

	// WaitChange treats a stopped service as "no readers".
	got, err := c.WaitChange(context.Background(), []cardos.ReaderStatus{{Name: "gone", Present: true}})
	require.NoError(t, err)
	assert.Empty(t, got)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.WaitChange(ctx, nil)
	require.ErrorIs(t, err, context.Canceled)

	require.NoError(t, c.Close())
	_, err = c.Readers()
	require.ErrorIs(t, err, ErrClosed)
	_, err = c.WaitChange(context.Background(), nil)
	require.ErrorIs(t, err, ErrClosed)
	require.NoError(t, c.Close())
}

// pcscd refusing a program (polkit) is not "is pcscd running?".
func TestAccessDenied(t *testing.T) {
	err := establishErr(scard.ErrNoAccess, false)
	require.ErrorIs(t, err, cardos.ErrAccessDenied)
	assert.NotContains(t, err.Error(), "is pcscd running")
	require.ErrorIs(t, establishErr(scard.ErrNoService, false), cardos.ErrNoService)
}
