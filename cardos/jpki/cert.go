package jpki

import (
	"errors"
	"fmt"
	"strings"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/apdu"
)

// maxShortLe is the most a short READ BINARY returns (Le byte 00).
const maxShortLe = 256

// maxOffset is the largest offset READ BINARY can address (P1 bit 8 clear).
const maxOffset = 0x7FFF

// tokenNameLen is the size of the token name at the start of EF 0006.
const tokenNameLen = 32

// TokenName reads the token name from the first 32 bytes of EF 0006 with
// trailing spaces and NULs removed: "JPKIAPICCTOKEN2" on a My Number Card,
// "JPKIAPICCTOKEN" on an old Juki card, "JPKIAPGPSETOKEN" for smartphone
// JPKI.
func (c *Client) TokenName() (string, error) {
	if err := c.selectEF(EFToken); err != nil {
		return "", err
	}
	data, eof, err := c.readBinary(0, tokenNameLen)
	if err != nil {
		return "", err
	}
	if eof && len(data) == 0 {
		return "", fmt.Errorf("%w: token information EF 0006 is empty", cardos.ErrNotFound)
	}
	return strings.TrimRight(string(data), " \x00"), nil
}

// ReadCertificate reads one certificate and returns its DER encoding. The
// length comes from the DER header; the filler the card stores after the
// certificate is not returned. It returns cardos.ErrNotFound when the EF is
// absent or holds no certificate, cardos.ErrPINRequired for cardos.SignCert before the
// signature password was verified, and an error wrapping
// cardos.ErrCommFailure for a malformed or truncated certificate.
//
// It costs one SELECT (none when the EF is selected) and one READ BINARY
// per 256 bytes of certificate, the most a short APDU returns (more when
// the card answers fewer bytes than asked).
//
// The result is not kept by the client; callers must not cache cardos.SignCert
// either, since it carries the holder's personal data.
func (c *Client) ReadCertificate(id cardos.CertID) ([]byte, error) {
	return c.ReadCertificateRest(id, nil)
}

// ReadCertificateRest completes a certificate whose first bytes, head,
// were read before (by ReadCertificateHeader, from offset 0): it reads
// only the bytes after head, so that a caller that first looked at the
// header for the card's identity pays no READ BINARY twice. With an empty
// head it is ReadCertificate; a head that already holds the whole
// certificate costs no APDU. The result is a new slice. Errors are those
// of ReadCertificate.
func (c *Client) ReadCertificateRest(id cardos.CertID, head []byte) ([]byte, error) {
	fid, err := CertEF(id)
	if err != nil {
		return nil, err
	}
	return c.readCertificateRest(id, fid, head)
}

// readCertificateRest is ReadCertificateRest inside the transaction. A
// head without a complete, valid DER header is not trusted: the
// certificate is read from offset 0.
func (c *Client) readCertificateRest(id cardos.CertID, fid uint16, head []byte) ([]byte, error) {
	if _, err := certLength(head); err != nil {
		head = nil
	}
	cert, total, err := c.readCertUpTo(id, fid, head, maxCertLen)
	switch {
	case err != nil:
		return nil, err
	case total == 0:
		return nil, commError("%v in EF %04X: %v", id, fid, errShortHeader)
	case len(cert) < total:
		return nil, commError("%v in EF %04X truncated: %d of %d bytes", id, fid, len(cert), total)
	}
	return cert, nil
}

// ReadCertificateHeader returns the first n bytes of a certificate (fewer
// when the certificate is shorter), for a cheap identity check of the
// card. Errors are those of ReadCertificate; n < 1 gives cardos.ErrBadDataLength.
func (c *Client) ReadCertificateHeader(id cardos.CertID, n int) ([]byte, error) {
	if n < 1 || n > maxCertLen {
		return nil, fmt.Errorf("%w: header length %d", cardos.ErrBadDataLength, n)
	}
	fid, err := CertEF(id)
	if err != nil {
		return nil, err
	}
	out, _, err := c.readCertUpTo(id, fid, nil, n)
	return out, err
}

// readCertUpTo reads certificate id from EF fid, after the first bytes
// it already has (have, from offset 0), until it holds limit bytes or the
// whole certificate, whichever is shorter, or the EF ends. It returns a
// new slice of at most that many bytes and the certificate's DER length
// (0 while the header is incomplete).
//
// A card or reader may answer fewer bytes than Le asks (J-LIS's own
// client reads in 255-byte chunks; OpenSC reads on after a short answer;
// FACTS.md §4.1): a short answer is not the end of the EF, and the next
// READ asks for the rest. The EF ends with 6282, 6B00 or an
// answer with no data; as every other answer brings at least one byte,
// the reads are bounded by limit.
func (c *Client) readCertUpTo(id cardos.CertID, fid uint16, have []byte, limit int) ([]byte, int, error) {
	out := append([]byte(nil), have...)
	total := 0
	setTotal := func() error {
		n, err := certLength(out)
		switch {
		case errors.Is(err, errShortHeader):
		case err != nil:
			return commError("%v in EF %04X: %v", id, fid, err)
		default:
			total, limit = n, min(limit, n)
		}
		return nil
	}
	if err := setTotal(); err != nil {
		return nil, 0, err
	}
	for eof := false; len(out) < limit && !eof; {
		if err := c.selectEF(fid); err != nil {
			return nil, 0, err
		}
		var chunk []byte
		var err error
		chunk, eof, err = c.readBinary(len(out), min(limit-len(out), maxShortLe))
		if err != nil {
			return nil, 0, err
		}
		if len(out) == 0 {
			if err := checkCertStart(id, chunk); err != nil {
				return nil, 0, err
			}
		}
		out = append(out, chunk...)
		if total == 0 {
			if err := setTotal(); err != nil {
				return nil, 0, err
			}
		}
	}
	return out[:min(len(out), limit)], total, nil
}

// checkCertStart tells an empty certificate EF (nothing, or filler bytes
// 00/FF where the SEQUENCE tag should be) from a certificate.
func checkCertStart(id cardos.CertID, first []byte) error {
	if len(first) == 0 || first[0] == 0x00 || first[0] == 0xFF {
		return fmt.Errorf("%w: the card holds no %v", cardos.ErrNotFound, id)
	}
	return nil
}

// readBinary reads up to le bytes (1..256) of the selected EF at offset
// with 00 B0. eof reports that the EF ended: the card answered 6282, 6B00
// (offset past the end; then data is empty) or no data at all. A shorter
// answer than asked is not the end: cards and readers may cap an answer
// below 256 bytes.
func (c *Client) readBinary(offset, le int) (data []byte, eof bool, err error) {
	if offset > maxOffset {
		return nil, true, nil
	}
	op := fmt.Sprintf("READ BINARY EF %04X offset %d", c.ef, offset)
	r, err := c.transmit(apdu.Command{CLA: apdu.CLAISO, INS: apdu.INSReadBinary, P1: byte(offset >> 8), P2: byte(offset), Le: le}, op)
	if err != nil {
		return nil, false, err
	}
	if len(r.Data) > le { // possible through 61xx chaining
		return nil, false, commError("%s: card answered %d bytes, asked for %d", op, len(r.Data), le)
	}
	switch r.SW {
	case apdu.SWOK:
		return r.Data, len(r.Data) == 0, nil
	case apdu.SWWarnEndOfFile:
		return r.Data, true, nil
	case apdu.SWWrongP1P2:
		return nil, true, nil
	}
	return nil, false, swError(op, r.SW)
}

// SignCertPresence says what the card shows of its signature
// certificate before the password.
type SignCertPresence int

const (
	// SignCertHidden: EF 0001 is refused before the password (as a My
	// Number Card does) or readable; whether it holds a certificate is
	// known only after the password.
	SignCertHidden SignCertPresence = iota
	// SignCertAbsent: EF 0001 is missing or empty, as on cards of
	// holders under 15 and face-authentication cards.
	SignCertAbsent
)

// LookForSignCert finds out, without the password and without reading
// anything of the holder's data, whether the card has a signature
// certificate: it asks for the first 4 bytes of EF 0001 (the DER header)
// and clears them. Errors other than "missing" and "needs the password"
// are returned.
func (c *Client) LookForSignCert() (SignCertPresence, error) {
	hdr, err := c.ReadCertificateHeader(cardos.SignCert, 4)
	clear(hdr)
	switch {
	case err == nil, errors.Is(err, cardos.ErrPINRequired):
		return SignCertHidden, nil
	case errors.Is(err, cardos.ErrNotFound):
		return SignCertAbsent, nil
	}
	return SignCertHidden, err
}
