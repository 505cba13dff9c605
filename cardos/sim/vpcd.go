package sim

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// DefaultVPCDAddr is where the vpcd driver of Debian's vsmartcard-vpcd
// package listens for its first reader ("Virtual PCD 00 00").
const DefaultVPCDAddr = "127.0.0.1:35963"

// vpcd control messages (one-byte payloads from vpcd).
const (
	vpcdPowerOff = 0x00
	vpcdPowerOn  = 0x01
	vpcdReset    = 0x02
	vpcdATR      = 0x04
)

// vpcdRetry is the pause between connection attempts while vpcd is not
// listening (pcscd stopped or restarting).
const vpcdRetry = 200 * time.Millisecond

// ServeVPCD makes the card in r a virtual card of vsmartcard's vpcd,
// connecting to addr (see DefaultVPCDAddr) as the "vicc". It runs until
// ctx is done and then returns ctx.Err().
//
// While the reader holds a card, ServeVPCD stays connected: it answers
// ATR requests (pcscd polls about every 0.3 s), power and reset controls
// (all of which power-cycle the card) and C-APDUs. Removing the card (or
// a FaultRemove) closes the connection, which vpcd reports as a removal;
// inserting a card connects again. When vpcd goes away (pcscd stopped) it
// keeps retrying until vpcd listens again.
func ServeVPCD(ctx context.Context, addr string, r *Reader) error {
	var d net.Dialer
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		card, slot, changed, _ := r.current()
		if card == nil {
			select {
			case <-changed:
			case <-ctx.Done():
			}
			continue
		}
		dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		conn, err := d.DialContext(dctx, "tcp", addr)
		cancel()
		if err != nil {
			select {
			case <-time.After(vpcdRetry):
			case <-ctx.Done():
			}
			continue
		}
		serveVPCDConn(ctx, conn, r, card, slot)
	}
}

// serveVPCDConn runs one connection until it fails, the card leaves the
// reader or ctx is done. It always closes conn.
func serveVPCDConn(ctx context.Context, conn net.Conn, r *Reader, card *Card, slot uint64) {
	var once sync.Once
	closeConn := func() { once.Do(func() { conn.Close() }) }
	defer closeConn()
	done := make(chan struct{})
	defer close(done)
	go func() { // close the connection when the card goes or ctx ends
		for {
			_, s, changed, _ := r.current()
			if s != slot {
				closeConn()
				return
			}
			select {
			case <-changed:
			case <-ctx.Done():
				closeConn()
				return
			case <-done:
				return
			}
		}
	}()
	for {
		quickAck(conn)
		msg, err := readVPCD(conn)
		if err != nil {
			return
		}
		quickAck(conn)
		if len(msg) == 1 {
			switch msg[0] {
			case vpcdPowerOff, vpcdPowerOn, vpcdReset:
				card.Reset()
			case vpcdATR:
				if err := writeVPCD(conn, card.ATR()); err != nil {
					return
				}
			}
			continue
		}
		resp, ev := card.process(msg)
		if ev == evReset { // the command runs on the freshly reset card
			resp, ev = card.process(msg)
		}
		switch ev {
		case evRemoved:
			r.removeIfSlot(slot)
			return
		case evSilent:
			select {
			case <-time.After(card.opt.timeout()):
			case <-ctx.Done():
			}
			return
		}
		if err := writeVPCD(conn, resp); err != nil {
			return
		}
	}
}

// readVPCD reads one length-prefixed message, looping over short reads.
func readVPCD(rd io.Reader) ([]byte, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(rd, hdr[:]); err != nil {
		return nil, err
	}
	msg := make([]byte, binary.BigEndian.Uint16(hdr[:]))
	if _, err := io.ReadFull(rd, msg); err != nil {
		return nil, err
	}
	return msg, nil
}

var errVPCDTooLong = errors.New("sim: vpcd message longer than 65535 bytes")

// writeVPCD writes one length-prefixed message in a single write.
func writeVPCD(w io.Writer, payload []byte) error {
	if len(payload) > 0xFFFF {
		return errVPCDTooLong
	}
	buf := make([]byte, 2+len(payload))
	binary.BigEndian.PutUint16(buf, uint16(len(payload)))
	copy(buf[2:], payload)
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("sim: write to vpcd: %w", err)
	}
	return nil
}
