package p11

import (
	"fmt"
	"testing"
	"time"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/mynacard"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// benchModule returns an initialised module over one simulated card with
// n read-only sessions open on the auth token, and one certificate
// handle.
func benchModule(b *testing.B, n int) (*Module, []SessionHandle, ObjectHandle) {
	b.Helper()
	r := sim.NewReader("Bench Reader 00 00")
	r.Insert(genCard(b, "default"))
	m := NewModule(func() (cardos.Context, error) { return sim.NewContext(r), nil }, mynacard.Attach)
	if err := m.Initialize(InitArgs{}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Finalize() })
	slots, err := m.SlotList(true)
	if err != nil || len(slots) < 2 {
		b.Fatal("no token", err)
	}
	var sess []SessionHandle
	for i := 0; i < n; i++ {
		s, err := m.OpenSession(slots[0], ck.CKF_SERIAL_SESSION)
		if err != nil {
			b.Fatal(err)
		}
		sess = append(sess, s)
	}
	if err := m.FindObjectsInit(sess[0], []Attribute{{Type: ck.CKA_CLASS, Value: ulong(ck.CKO_CERTIFICATE)}}); err != nil {
		b.Fatal(err)
	}
	objs, err := m.FindObjects(sess[0], 1)
	if err != nil || len(objs) != 1 {
		b.Fatal("no certificate", err)
	}
	m.FindObjectsFinal(sess[0])
	return m, sess, objs[0]
}

var sessionCounts = []int{1, 10, 100, 1000}

// BenchmarkFindObjects is one whole search (Init, FindObjects, Final) for
// every object of the auth token, spread over n open sessions.
func BenchmarkFindObjects(b *testing.B) {
	for _, n := range sessionCounts {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			m, sess, _ := benchModule(b, n)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				s := sess[i%len(sess)]
				if err := m.FindObjectsInit(s, nil); err != nil {
					b.Fatal(err)
				}
				if _, err := m.FindObjects(s, 16); err != nil {
					b.Fatal(err)
				}
				if err := m.FindObjectsFinal(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGetAttributeValue reads a certificate's CKA_VALUE (size query
// and value, as applications do) over n open sessions.
func BenchmarkGetAttributeValue(b *testing.B) {
	for _, n := range sessionCounts {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			m, sess, obj := benchModule(b, n)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				req := []AttrRequest{{Type: ck.CKA_VALUE}}
				s := sess[i%len(sess)]
				if err := m.GetAttributeValue(s, obj, req); err != nil {
					b.Fatal(err)
				}
				req[0].HasBuf, req[0].BufLen = true, req[0].Len
				if err := m.GetAttributeValue(s, obj, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkWaitForSlotEvent measures, with r readers, how long a blocked
// C_WaitForSlotEvent takes to report a card inserted into the last
// reader (the reader list is compared and the new card probed), and the
// cost of a non-blocking poll when nothing changed.
func BenchmarkWaitForSlotEvent(b *testing.B) {
	for _, nr := range []int{1, 4, 16, 64} {
		readers := make([]*sim.Reader, nr)
		for i := range readers {
			readers[i] = sim.NewReader(fmt.Sprintf("Bench Reader %02d", i))
		}
		card := genCard(b, "default")
		open := func() (cardos.Context, error) { return sim.NewContext(readers...), nil }
		b.Run(fmt.Sprintf("readers=%d/insert", nr), func(b *testing.B) {
			m := NewModule(open, mynacard.Attach)
			if err := m.Initialize(InitArgs{}); err != nil {
				b.Fatal(err)
			}
			defer m.Finalize()
			last := readers[nr-1]
			drain := func() {
				for {
					if _, err := m.WaitForSlotEvent(true); err != nil {
						return
					}
				}
			}
			m.SlotList(false)
			drain()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				done := make(chan error, 1)
				go func() { _, err := m.WaitForSlotEvent(false); done <- err }()
				time.Sleep(time.Millisecond) // let it block
				b.StartTimer()
				last.Insert(card)
				if err := <-done; err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				drain()
				last.Remove()
				m.SlotList(false)
				drain()
			}
		})
		b.Run(fmt.Sprintf("readers=%d/poll", nr), func(b *testing.B) {
			m := NewModule(open, mynacard.Attach)
			if err := m.Initialize(InitArgs{}); err != nil {
				b.Fatal(err)
			}
			defer m.Finalize()
			for {
				if _, err := m.WaitForSlotEvent(true); err != nil {
					break
				}
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := m.WaitForSlotEvent(true); ck.RV(err) != ck.CKR_NO_EVENT {
					b.Fatal(err)
				}
			}
		})
	}
}
