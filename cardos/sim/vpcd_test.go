package sim

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeVPCD is the vpcd side of the protocol: it listens and the simulator
// connects to it.
type fakeVPCD struct {
	t  *testing.T
	ln net.Listener
}

func newFakeVPCD(t *testing.T) *fakeVPCD {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	return &fakeVPCD{t: t, ln: ln}
}

func (f *fakeVPCD) addr() string { return f.ln.Addr().String() }

func (f *fakeVPCD) accept() *vpcdConn {
	f.t.Helper()
	c, err := f.ln.Accept()
	require.NoError(f.t, err)
	f.t.Cleanup(func() { c.Close() })
	return &vpcdConn{t: f.t, c: c}
}

type vpcdConn struct {
	t *testing.T
	c net.Conn
}

// send writes a message one byte at a time, so the simulator must loop
// on short reads.
func (v *vpcdConn) send(payload []byte) {
	v.t.Helper()
	buf := binary.BigEndian.AppendUint16(nil, uint16(len(payload)))
	buf = append(buf, payload...)
	for _, b := range buf {
		_, err := v.c.Write([]byte{b})
		require.NoError(v.t, err)
	}
}

func (v *vpcdConn) recv() ([]byte, error) {
	return readVPCD(v.c)
}

func (v *vpcdConn) transmit(cmd string) string {
	v.t.Helper()
	v.send(h(cmd))
	resp, err := v.recv()
	require.NoError(v.t, err)
	return sw(hexUpper(resp))
}

// eof asserts that the simulator closed the connection.
func (v *vpcdConn) eof() {
	v.t.Helper()
	_, err := v.recv()
	require.True(v.t, errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed), "want EOF, got %v", err)
}

func hexUpper(b []byte) string {
	const digits = "0123456789ABCDEF"
	out := make([]byte, 0, 2*len(b))
	for _, x := range b {
		out = append(out, digits[x>>4], digits[x&15])
	}
	return string(out)
}

func startServe(t *testing.T, addr string, r *Reader) (cancel func() error) {
	ctx, stop := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- ServeVPCD(ctx, addr, r) }()
	var once bool
	cancel = func() error {
		if once {
			return nil
		}
		once = true
		stop()
		return <-errc
	}
	t.Cleanup(func() { cancel() })
	return cancel
}

func TestVPCDProtocol(t *testing.T) {
	vpcd := newFakeVPCD(t)
	card := newTestCard(t, Quirks{})
	r := NewReader("vpcd")
	r.Insert(card)
	cancel := startServe(t, vpcd.addr(), r)

	v := vpcd.accept()
	v.send([]byte{vpcdPowerOn}) // no reply
	v.send([]byte{vpcdATR})
	atr, err := v.recv()
	require.NoError(t, err)
	assert.Equal(t, DefaultATR, atr)

	assert.Equal(t, "9000", v.transmit(selJPKI))
	assert.Equal(t, "9000", v.transmit(selAuthPIN))
	assert.Equal(t, "63C3", v.transmit(query))
	assert.Equal(t, "9000", v.transmit(verifyAuth))
	assert.Equal(t, "9000", v.transmit(selAuthKey))
	v.send(h("802A00800401020304" + "00"))
	sig, err := v.recv()
	require.NoError(t, err)
	assert.Len(t, sig, 258)

	// Reset control: no reply, the verified PIN is gone.
	v.send([]byte{vpcdReset})
	v.send([]byte{vpcdATR})
	_, err = v.recv()
	require.NoError(t, err)
	assert.Equal(t, "9000", v.transmit(selJPKI))
	assert.Equal(t, "9000", v.transmit(selAuthKey))
	assert.Equal(t, "6982", v.transmit("802A00800401020304"+"00"))

	assert.ErrorIs(t, cancel(), context.Canceled)
	v.eof()
}

func TestVPCDRemoveInsert(t *testing.T) {
	vpcd := newFakeVPCD(t)
	card := newTestCard(t, Quirks{})
	r := NewReader("vpcd")
	r.Insert(card)
	startServe(t, vpcd.addr(), r)

	v := vpcd.accept()
	assert.Equal(t, "9000", v.transmit(selJPKI))
	r.Remove()
	v.eof()
	r.Insert(card)
	v2 := vpcd.accept()
	assert.Equal(t, "9000", v2.transmit(selJPKI))
}

func TestVPCDReconnect(t *testing.T) {
	vpcd := newFakeVPCD(t)
	r := NewReader("vpcd")
	r.Insert(newTestCard(t, Quirks{}))
	startServe(t, vpcd.addr(), r)

	v := vpcd.accept()
	assert.Equal(t, "9000", v.transmit(selJPKI))
	// vpcd goes away (pcscd stopped) and comes back on the same port.
	addr := vpcd.addr()
	v.c.Close()
	vpcd.ln.Close()
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	defer ln.Close()
	back := &fakeVPCD{t: t, ln: ln}
	v2 := back.accept()
	v2.send([]byte{vpcdATR})
	atr, err := v2.recv()
	require.NoError(t, err)
	assert.Equal(t, DefaultATR, atr)
}

func TestVPCDWaitsForCard(t *testing.T) {
	vpcd := newFakeVPCD(t)
	r := NewReader("vpcd")
	startServe(t, vpcd.addr(), r)
	accepted := make(chan *vpcdConn, 1)
	go func() {
		c, err := vpcd.ln.Accept()
		if err == nil {
			accepted <- &vpcdConn{t: t, c: c}
		}
	}()
	select {
	case <-accepted:
		t.Fatal("connected without a card")
	default:
	}
	r.Insert(newTestCard(t, Quirks{}))
	v := <-accepted
	defer v.c.Close()
	assert.Equal(t, "9000", v.transmit(selJPKI))
}

func TestVPCDFaults(t *testing.T) {
	tests := []struct {
		name  string
		fault Fault
		check func(t *testing.T, v *vpcdConn, r *Reader)
	}{
		{"remove closes", Fault{Kind: FaultRemove}, func(t *testing.T, v *vpcdConn, r *Reader) {
			v.send(h(selAuthPIN))
			v.eof()
			assert.Nil(t, r.Card())
		}},
		{"silent then closes", Fault{Kind: FaultSilent}, func(t *testing.T, v *vpcdConn, r *Reader) {
			v.send(h(selAuthPIN))
			v.eof()
			assert.NotNil(t, r.Card(), "a mute card is still in the reader")
		}},
		{"reset runs on reset card", Fault{Kind: FaultReset}, func(t *testing.T, v *vpcdConn, r *Reader) {
			assert.Equal(t, "6A82", v.transmit(selAuthPIN), "no AP selected after the reset")
		}},
		{"garbage", Fault{Kind: FaultGarbage}, func(t *testing.T, v *vpcdConn, r *Reader) {
			v.send(h(selAuthPIN))
			resp, err := v.recv()
			require.NoError(t, err)
			assert.Equal(t, []byte{0x6F}, resp)
			assert.Equal(t, "9000", v.transmit(selAuthPIN), "one-shot")
		}},
		{"wrong SW", Fault{Kind: FaultWrongSW, SW: 0x6581}, func(t *testing.T, v *vpcdConn, r *Reader) {
			assert.Equal(t, "6581", v.transmit(selAuthPIN))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vpcd := newFakeVPCD(t)
			card := newTestCard(t, Quirks{}, Options{Timeout: time.Millisecond})
			r := NewReader("vpcd")
			r.Insert(card)
			startServe(t, vpcd.addr(), r)
			v := vpcd.accept()
			require.Equal(t, "9000", v.transmit(selJPKI))
			card.SetFault(tt.fault)
			tt.check(t, v, r)
		})
	}
}
