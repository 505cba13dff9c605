package jpki

import (
	"errors"
	"fmt"
)

// maxCertLen bounds a certificate's DER length: READ BINARY addresses at
// most offset 7FFF, so no EF the client can read is larger. Real JPKI
// certificates are 1–2 KB.
const maxCertLen = 0x7FFF

// minCertLen is the smallest DER object length (header included) taken
// for a certificate; anything shorter cannot be an X.509 certificate.
const minCertLen = 16

// Errors of certLength.
var (
	errShortHeader = errors.New("DER header incomplete")
	errBadDER      = errors.New("not a DER certificate header")
)

// certLength parses the DER header of a certificate at the start of b and
// returns the length of the whole object (header included). It accepts
// a SEQUENCE (tag 30) with a short-form or a 1–2 byte long-form length
// and rejects indefinite lengths, non-minimal encodings, and lengths
// outside minCertLen..maxCertLen. errShortHeader means b ends inside the
// header.
func certLength(b []byte) (int, error) {
	if len(b) < 2 {
		return 0, errShortHeader
	}
	if b[0] != 0x30 {
		return 0, fmt.Errorf("%w: tag %02X, want 30 (SEQUENCE)", errBadDER, b[0])
	}
	var n, hdr int
	switch l := b[1]; {
	case l < 0x80:
		n, hdr = int(l), 2
	case l == 0x80:
		return 0, fmt.Errorf("%w: indefinite length", errBadDER)
	case l == 0x81:
		if len(b) < 3 {
			return 0, errShortHeader
		}
		if b[2] < 0x80 {
			return 0, fmt.Errorf("%w: non-minimal length 81 %02X", errBadDER, b[2])
		}
		n, hdr = int(b[2]), 3
	case l == 0x82:
		if len(b) < 4 {
			return 0, errShortHeader
		}
		if b[2] == 0 {
			return 0, fmt.Errorf("%w: non-minimal length 82 00 %02X", errBadDER, b[3])
		}
		n, hdr = int(b[2])<<8|int(b[3]), 4
	default:
		return 0, fmt.Errorf("%w: length field %02X too large for a certificate", errBadDER, l)
	}
	total := hdr + n
	if total < minCertLen || total > maxCertLen {
		return 0, fmt.Errorf("%w: length %d out of range %d..%d", errBadDER, total, minCertLen, maxCertLen)
	}
	return total, nil
}
