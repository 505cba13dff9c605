package mynacard

// This file holds the card's signature.

import (
	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/jpki"
)

// CheckSignInput reports whether the card can sign n bytes of input
// (cardos.ErrBadDataLength otherwise).
func (c *Card) CheckSignInput(n int) error { return jpki.CheckSignLen(n) }

// SignatureLen is the length of key k's signatures.
func (c *Card) SignatureLen(cardos.Key) int { return jpki.SignatureLen }

// Sign has the card sign input (a DigestInfo or raw PKCS#1 input) with
// key k, selecting the key EF in the same transaction (and, in scope
// operation, verifying the held PIN in it first). Input the card cannot
// take is refused before any PIN is verified for it.
func (c *Card) Sign(k cardos.Key, input []byte) ([]byte, error) {
	if err := c.CheckSignInput(len(input)); err != nil {
		return nil, err
	}
	var sig []byte
	err := c.do("sign with the "+k.String()+" key", func(cl *jpki.Client) error {
		return c.pinIO(cl, k, func() error {
			var err error
			sig, err = cl.Sign(k, input)
			return err
		})
	})
	return sig, err
}
