package apdu

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// FuzzParse checks that Parse never panics, and that whatever it accepts
// re-encodes to exactly the same bytes (the encoding is canonical).
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"00208000", "00B0000000", "00A4040C0AD392F000260100000001", "802A008003010203" + "00",
		"00B00000000102", "00D60000000002AABB", "00D60000000001AA0000", "00A4040C0000", "00",
	} {
		f.Add(unhexF(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b)
		if err != nil {
			return
		}
		again, err := c.Bytes()
		if err != nil {
			t.Fatalf("Parse(% X) = %v, which does not encode: %v", b, c, err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("Parse(% X) = %v re-encodes to % X", b, c, again)
		}
	})
}

// FuzzCommandRoundTrip checks that every command Bytes encodes parses
// back to the same command.
func FuzzCommandRoundTrip(f *testing.F) {
	f.Add(byte(0x00), byte(0xB0), byte(0x01), byte(0x00), []byte(nil), 256, false)
	f.Add(byte(0x80), byte(0x2A), byte(0x00), byte(0x80), []byte{1, 2, 3}, 256, false)
	f.Add(byte(0x00), byte(0xD6), byte(0x00), byte(0x00), bytes.Repeat([]byte{7}, 300), 0, false)
	f.Add(byte(0x00), byte(0xCA), byte(0x5F), byte(0x51), []byte(nil), 65536, true)
	f.Fuzz(func(t *testing.T, cla, ins, p1, p2 byte, data []byte, le int, ext bool) {
		c := Command{CLA: cla, INS: ins, P1: p1, P2: p2, Data: data, Le: le, Extended: ext}
		b, err := c.Bytes()
		if err != nil {
			if len(data) <= 65535 && le >= 0 && le <= 65536 {
				t.Fatalf("%v: encodable command refused: %v", c, err)
			}
			return
		}
		back, err := Parse(b)
		if err != nil {
			t.Fatalf("%v encodes to % X, which Parse refuses: %v", c, b, err)
		}
		want := c
		if len(want.Data) == 0 {
			want.Data = nil
		}
		want.Extended = (c.Extended || len(c.Data) > 255 || c.Le > 256) && (len(c.Data) > 0 || c.Le > 0)
		if back.CLA != want.CLA || back.INS != want.INS || back.P1 != want.P1 || back.P2 != want.P2 ||
			!bytes.Equal(back.Data, want.Data) || back.Le != want.Le || back.Extended != want.Extended {
			t.Fatalf("%v encodes to % X, parses back as %v", want, b, back)
		}
	})
}

// FuzzParseResponse checks that ParseResponse never panics, splits off
// exactly two status bytes, and that Bytes restores the input.
func FuzzParseResponse(f *testing.F) {
	for _, s := range []string{"9000", "0102039000", "63C2", "6A82", "61", "", "AA6110"} {
		f.Add(unhexF(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseResponse(b)
		if len(b) < 2 {
			if err == nil {
				t.Fatalf("ParseResponse(% X) accepted a response without status word", b)
			}
			return
		}
		if err != nil {
			t.Fatalf("ParseResponse(% X): %v", b, err)
		}
		if len(r.Data) != len(b)-2 || !bytes.Equal(r.Bytes(), b) {
			t.Fatalf("ParseResponse(% X) = % X %v", b, r.Data, r.SW)
		}
		_ = r.SW.String()
		if err := r.Err("X"); (err == nil) != (r.SW == SWOK) {
			t.Fatalf("Err for %v: %v", r.SW, err)
		}
	})
}

// unhexF decodes the hex seeds; they are constants, so a bad one panics.
func unhexF(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}
