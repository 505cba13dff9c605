package jpki

import (
	"fmt"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/apdu"
)

// MaxSignInput is the most Sign accepts: k − 11 bytes for a 2048-bit key,
// the room PKCS#1 v1.5 type-01 padding leaves.
const MaxSignInput = 245

// SignatureLen is the length of a signature of the card's RSA-2048 keys.
const SignatureLen = 256

// Sign has the card compute an RSASSA-PKCS1-v1_5 signature with key over
// digestInfo (COMPUTE DIGITAL SIGNATURE, 80 2A 00 80 Lc data 00): the card
// pads the bytes as given with type-01 padding, so pass a DER DigestInfo
// for a standard signature. The key's PIN must be verified (otherwise
// cardos.ErrPINRequired). Input outside 1–245 bytes gives cardos.ErrBadDataLength without
// talking to the card. The result is the 256-byte signature.
func (c *Client) Sign(key cardos.Key, digestInfo []byte) ([]byte, error) {
	fid, err := KeyEF(key)
	if err != nil {
		return nil, err
	}
	if err := CheckSignInput(digestInfo); err != nil {
		return nil, err
	}
	return c.sign(fid, digestInfo)
}

// CheckSignInput returns cardos.ErrBadDataLength unless Sign would send
// digestInfo to the card (1 to MaxSignInput bytes), so that a caller can
// refuse it before a transaction that verifies a PIN for it.
func CheckSignInput(digestInfo []byte) error {
	return CheckSignLen(len(digestInfo))
}

// CheckSignLen is CheckSignInput for input of n bytes.
func CheckSignLen(n int) error {
	if n <= 0 || n > MaxSignInput {
		return fmt.Errorf("%w: signature input of %d bytes, the card takes 1 to %d", cardos.ErrBadDataLength, n, MaxSignInput)
	}
	return nil
}

// sign selects the key EF and has the card sign, inside the
// transaction: the key EF selected in this transaction is the one that
// signs.
func (c *Client) sign(fid uint16, digestInfo []byte) ([]byte, error) {
	if err := c.selectEF(fid); err != nil {
		return nil, err
	}
	op := fmt.Sprintf("COMPUTE DIGITAL SIGNATURE %04X", fid)
	r, err := c.transmit(apdu.Command{CLA: apdu.CLAProprietary, INS: apdu.INSComputeSignature, P1: apdu.SignPKCS1Padding, P2: apdu.RefCurrentEF, Data: digestInfo, Le: 256}, op)
	if err != nil {
		return nil, err
	}
	if r.SW != apdu.SWOK {
		return nil, swError(op, r.SW)
	}
	if len(r.Data) != SignatureLen {
		return nil, commError("%s: signature of %d bytes, want %d", op, len(r.Data), SignatureLen)
	}
	return r.Data, nil
}
