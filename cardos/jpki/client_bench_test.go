package jpki_test

import (
	"testing"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/jpki"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
)

// BenchmarkSign is one signature through the client and the in-process
// transport: the simulator's RSA-2048 plus the client's overhead.
func BenchmarkSign(b *testing.B) {
	card := simCard(&testing.T{}, false)
	cl := connectB(b, card)
	if err := cl.Verify(cardos.AuthKey, []byte(sim.DefaultAuthPIN)); err != nil {
		b.Fatal(err)
	}
	info, _ := sha256DigestInfo([]byte("bench"))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := cl.Sign(cardos.AuthKey, info); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadCertificate reads the authentication certificate in full
// (SELECT + one READ BINARY per 256 bytes).
func BenchmarkReadCertificate(b *testing.B) {
	card := simCard(&testing.T{}, false)
	cl := connectB(b, card)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cl.Forget()
		if _, err := cl.ReadCertificate(cardos.AuthCert); err != nil {
			b.Fatal(err)
		}
	}
}

func connectB(b *testing.B, card *sim.Card) *jpki.Client {
	r := sim.NewReader("Bench Reader 00 00")
	r.Insert(card)
	ctx := sim.NewContext(r)
	tr, err := ctx.Connect(r.Name())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { tr.Close(); ctx.Close() })
	return jpki.NewClient(tr)
}
