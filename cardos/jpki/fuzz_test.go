package jpki

import (
	"bytes"
	"errors"
	"testing"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/apdu"
)

// FuzzCertLength checks that certLength never panics and that a length it
// accepts is consistent with the header it parsed.
func FuzzCertLength(f *testing.F) {
	for _, s := range [][]byte{
		{0x30, 0x82, 0x04, 0xD2}, {0x30, 0x81, 0xC8}, {0x30, 0x7F}, {0x30, 0x80},
		{0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF}, {0x30, 0x82, 0x00, 0x10}, {0xFF, 0xFF}, {0x30}, {},
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := certLength(b)
		if err != nil {
			if errors.Is(err, errBadDER) == errors.Is(err, errShortHeader) {
				t.Fatalf("certLength(% X): error %v is not exactly one of the two kinds", b, err)
			}
			if n != 0 {
				t.Fatalf("certLength(% X) = %d with error", b, n)
			}
			return
		}
		if n < minCertLen || n > maxCertLen || b[0] != 0x30 {
			t.Fatalf("certLength(% X) = %d", b, n)
		}
		// Re-encode the header and compare with the input's.
		v := n - 2
		hdr := []byte{0x30, byte(v)}
		if v >= 0x80 {
			if v = n - 3; v < 0x100 {
				hdr = []byte{0x30, 0x81, byte(v)}
			} else {
				v = n - 4
				hdr = []byte{0x30, 0x82, byte(v >> 8), byte(v)}
			}
		}
		if !bytes.HasPrefix(b, hdr) {
			t.Fatalf("certLength(% X) = %d, but that length encodes as % X", b, n, hdr)
		}
	})
}

// efCard is a card with one EF image behind every SELECT, answering READ
// BINARY with at most chunk bytes (a card that answers short).
type efCard struct {
	ef    []byte
	chunk int
}

func (e *efCard) Transmit(b []byte) ([]byte, error) {
	c, err := apdu.Parse(b)
	if err != nil {
		return []byte{0x67, 0x00}, nil
	}
	switch c.INS {
	case 0xA4:
		return []byte{0x90, 0x00}, nil
	case 0xB0:
		off := int(c.P1)<<8 | int(c.P2)
		if off >= len(e.ef) {
			return []byte{0x6B, 0x00}, nil
		}
		n := min(c.Le, len(e.ef)-off, e.chunk)
		return append(append([]byte(nil), e.ef[off:off+n]...), 0x90, 0x00), nil
	}
	return []byte{0x6D, 0x00}, nil
}

func (e *efCard) Begin() error   { return nil }
func (e *efCard) End(bool) error { return nil }
func (e *efCard) ATR() []byte    { return nil }
func (e *efCard) Alive() error   { return nil }
func (e *efCard) Close() error   { return nil }

// FuzzReadCertificate checks the chunked certificate reader against EF
// images and short-answering cards: it never panics, returns either a
// prefix of the EF whose DER length is its own length, or cardos.ErrNotFound /
// ErrCommFailure, and ReadCertificateHeader returns a prefix of the EF.
func FuzzReadCertificate(f *testing.F) {
	f.Add(fakeCert(700), 256, 64)
	f.Add(append(fakeCert(1200), bytes.Repeat([]byte{0xFF}, 300)...), 256, 300)
	f.Add(fakeCert(100), 50, 4)
	f.Add([]byte{0x30, 0x80, 1, 2, 3}, 256, 2)
	f.Add([]byte{0x30, 0x82, 0x7F, 0xFF}, 256, 10)
	f.Add(bytes.Repeat([]byte{0xFF}, 400), 256, 16)
	f.Add([]byte{}, 256, 1)
	f.Fuzz(func(t *testing.T, ef []byte, chunk, n int) {
		if chunk < 1 || chunk > 256 {
			chunk = 256
		}
		card := &efCard{ef: ef, chunk: chunk}
		c := NewClient(card)
		cert, err := c.ReadCertificate(cardos.AuthCert)
		if err != nil {
			if !errors.Is(err, cardos.ErrNotFound) && !errors.Is(err, cardos.ErrCommFailure) {
				t.Fatalf("EF % X: unexpected error %v", ef, err)
			}
		} else {
			if !bytes.HasPrefix(ef, cert) {
				t.Fatalf("EF % X: certificate % X is not its prefix", ef, cert)
			}
			if l, err := certLength(cert); err != nil || l != len(cert) {
				t.Fatalf("EF % X: certificate of %d bytes has DER length %d (%v)", ef, len(cert), l, err)
			}
		}
		if n < 1 || n > 2048 {
			return
		}
		hdr, err := c.ReadCertificateHeader(cardos.AuthCert, n)
		if err != nil {
			if !errors.Is(err, cardos.ErrNotFound) && !errors.Is(err, cardos.ErrCommFailure) {
				t.Fatalf("EF % X: header: unexpected error %v", ef, err)
			}
			return
		}
		if len(hdr) > n || !bytes.HasPrefix(ef, hdr) {
			t.Fatalf("EF % X: header % X (n=%d) is not its prefix", ef, hdr, n)
		}
	})
}
