package p11

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// decodeTemplate turns fuzz bytes into a template: repeated
// type (2 bytes, mapped onto small and real attribute numbers), length
// (1 byte), value.
func decodeTemplate(b []byte) []Attribute {
	var tmpl []Attribute
	for len(b) >= 3 && len(tmpl) < 16 {
		typ := uint(binary.BigEndian.Uint16(b))
		if typ&0x8000 != 0 {
			typ = typ&0x7FFF | 0x80000000 // vendor-defined range
		} else {
			typ &= 0x1FF // the spec's own attributes
		}
		n := int(b[2])
		b = b[3:]
		if n > len(b) {
			n = len(b)
		}
		tmpl = append(tmpl, Attribute{Type: typ, Value: append([]byte(nil), b[:n]...)})
		b = b[n:]
	}
	return tmpl
}

// FuzzFindAndGetAttributes searches both tokens with random templates,
// before and after login, and asks for random attributes of what it finds
// and of random handles, with random buffer sizes. Nothing may panic;
// found handles answer CKA_CLASS; the sign token shows only its CA
// certificate (CKA_ID 04) before login; a value is never longer than the buffer it was given.
func FuzzFindAndGetAttributes(f *testing.F) {
	f.Add([]byte{}, []byte{0, 0, 8}, false, uint16(1))
	f.Add([]byte{0, 0, 8, 1, 0, 0, 0, 0, 0, 0, 0}, []byte{0, 0x11, 0}, true, uint16(3))
	f.Add([]byte{0x01, 0x02, 1, 2}, []byte{0x01, 0x20, 255}, true, uint16(0xFFFF))
	f.Add([]byte{0, 0, 3, 1, 0, 0}, []byte{0x80, 0x01, 4}, false, uint16(0))
	f.Fuzz(func(t *testing.T, tmplBytes, reqBytes []byte, loggedIn bool, handle uint16) {
		fx := newFixture(t)
		auth, sign := fx.slots()
		for _, slot := range []SlotID{auth, sign} {
			s := fx.open1(slot, false)
			ti, err := fx.m.TokenInfo(slot)
			require.NoError(t, err)
			isSign := ti.MinPinLen == 6
			if loggedIn {
				pin := "1234"
				if isSign {
					pin = "ABC123"
				}
				fx.login(s, pin)
			}
			require.NoError(t, fx.m.FindObjectsInit(s, decodeTemplate(tmplBytes)))
			found, err := fx.m.FindObjects(s, 100)
			require.NoError(t, err)
			require.NoError(t, fx.m.FindObjectsFinal(s))
			if isSign && !loggedIn {
				for _, h := range found {
					assert.Equal(t, objSignCA, objKind(h&(1<<kindBits-1)), "the sign token shows only its CA certificate before login")
				}
			}
			for _, h := range found {
				req := []AttrRequest{{Type: ck.CKA_CLASS, HasBuf: true, BufLen: 8}}
				require.NoError(t, fx.m.GetAttributeValue(s, h, req), "found handle %d", h)
			}
			handles := append(found, ObjectHandle(handle), ObjectHandle(handle)<<16|ObjectHandle(handle))
			var reqs []AttrRequest
			for i := 0; i+2 < len(reqBytes) && len(reqs) < 16; i += 3 {
				typ := uint(binary.BigEndian.Uint16(reqBytes[i:]))
				if typ&0x8000 != 0 {
					typ = typ&0x7FFF | 0x80000000
				} else {
					typ &= 0x1FF
				}
				n := uint(reqBytes[i+2])
				reqs = append(reqs, AttrRequest{Type: typ, HasBuf: n != 0, BufLen: n * 8})
			}
			for _, h := range handles {
				rs := append([]AttrRequest(nil), reqs...)
				err := fx.m.GetAttributeValue(s, h, rs)
				if isSign && !loggedIn && objKind(h&(1<<kindBits-1)) != objSignCA {
					assert.Equal(t, uint(ck.CKR_OBJECT_HANDLE_INVALID), ck.RV(err), "handle %d before login", h)
				}
				for _, r := range rs {
					if r.HasBuf && r.Value != nil {
						assert.LessOrEqual(t, uint(len(r.Value)), r.BufLen, "value longer than its buffer")
					}
				}
			}
		}
	})
}
