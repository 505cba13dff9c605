package p11

// This file holds the card's signature.

import (
	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/jpki"
)

// sign has the card sign input (a DigestInfo or raw PKCS#1 input) with
// the token's key, selecting the key EF in the same transaction (and, in
// ScopeOperation, verifying the held PIN in it first).
func (c *card) sign(ctx cardos.Context, k tokenKind, input []byte) ([]byte, error) {
	if err := jpki.CheckSignInput(input); err != nil {
		return nil, mapCardErr(err) // refused before any PIN is verified for it
	}
	var sig []byte
	err := c.do(ctx, "sign with the "+k.String()+" key", func(cl *jpki.Client) error {
		return c.pinIO(cl, k, func() error {
			var err error
			sig, err = cl.Sign(k.key(), input)
			return err
		})
	})
	return sig, err
}
