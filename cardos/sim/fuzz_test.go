package sim

import (
	"testing"
)

// FuzzProcess feeds sequences of commands to a fresh card. The input is a
// list of commands, each prefixed by its length byte. Whatever the bytes,
// the card answers every command with a well-formed response no longer
// than a short APDU allows, keeps its counters in range and never signs
// or reveals the signature certificate without the matching PIN.
func FuzzProcess(f *testing.F) {
	seq := func(cmds ...string) []byte {
		var b []byte
		for _, c := range cmds {
			raw := h(c)
			b = append(append(b, byte(len(raw))), raw...)
		}
		return b
	}
	f.Add(seq(selJPKI, "00A4020C020006", "00B0000020"))
	f.Add(seq(selJPKI, selAuthPIN, query, verifyAuth, selAuthKey, "802A00800401020304"+"00"))
	f.Add(seq(selJPKI, selSignPIN, wrongSign, verifySign, "00A4020C020001", "00B0000000"))
	f.Add(seq(selJPKI, selAuthPIN, verifyAuth, "0024018004"+"35363738", "00A40000"))
	f.Add(seq("00A404000AD392F00026010000000100", "00B0880003", "0020009804"+"31323334"))

	base := newTestCard(f, Quirks{})
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &Card{opt: base.opt, atr: base.atr, keys: base.keys, st: base.st.clone()}
		c.efs = buildEFs(c.st, c.opt.Device)
		// At most 64 commands: signatures cost a millisecond each, and
		// long inputs would only slow the fuzzer down.
		for i := 0; len(data) > 0 && i < 64; i++ {
			n := int(data[0])
			data = data[1:]
			if n > len(data) {
				n = len(data)
			}
			cmd := data[:n]
			data = data[n:]

			c.mu.Lock()
			signOK, authOK, ef := c.signVerified, c.authVerified, c.ef
			c.mu.Unlock()
			resp := c.Process(cmd)
			if len(resp) < 2 || len(resp) > 258 {
				t.Fatalf("% X: %d-byte response", cmd, len(resp))
			}
			ok := resp[len(resp)-2] == 0x90 && resp[len(resp)-1] == 0x00
			if ok && len(cmd) >= 2 && cmd[0] == 0x80 && cmd[1] == 0x2A && !signOK && !authOK {
				t.Fatalf("% X: signed without a verified PIN", cmd)
			}
			if ok && len(resp) > 2 && len(cmd) >= 2 && cmd[1] == 0xB0 && c.ef == efSignCert && !signOK {
				t.Fatalf("% X: read the signature certificate without the PIN (EF before %04X)", cmd, ef)
			}
			if a, s := c.TriesLeft(1), c.TriesLeft(2); a < 0 || a > AuthMaxTries || s < 0 || s > SignMaxTries {
				t.Fatalf("% X: counters %d/%d out of range", cmd, a, s)
			}
		}
	})
}
