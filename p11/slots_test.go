package p11

import (
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/apdu"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/mynacard"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/sim"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

func TestSlotsPerReader(t *testing.T) {
	f := newFixture(t)
	empty := sim.NewReader("Empty Reader")
	f.readers = append(f.readers, empty)
	require.NoError(t, f.m.Finalize())
	require.NoError(t, f.m.Initialize(InitArgs{}))

	all, err := f.m.SlotList(false)
	require.NoError(t, err)
	require.Len(t, all, 4)
	withToken, err := f.m.SlotList(true)
	require.NoError(t, err)
	assert.Equal(t, all[:2], withToken)

	for i, slot := range all {
		info, err := f.m.SlotInfo(slot)
		require.NoError(t, err)
		flags := uint(ck.CKF_REMOVABLE_DEVICE | ck.CKF_HW_SLOT)
		name := "Sim Reader 00 00"
		if i < 2 {
			flags |= ck.CKF_TOKEN_PRESENT
		} else {
			name = "Empty Reader"
		}
		assert.Equal(t, flags, info.Flags, "slot %d", slot)
		assert.Equal(t, name, info.Description)
	}
	_, err = f.m.TokenInfo(all[2])
	assert.Equal(t, "CKR_TOKEN_NOT_PRESENT", rv(err))
	_, err = f.m.OpenSession(all[3], ck.CKF_SERIAL_SESSION)
	assert.Equal(t, "CKR_TOKEN_NOT_PRESENT", rv(err))
	_, err = f.m.SlotInfo(999)
	assert.Equal(t, "CKR_SLOT_ID_INVALID", rv(err))
	_, err = f.m.TokenInfo(999)
	assert.Equal(t, "CKR_SLOT_ID_INVALID", rv(err))
}

func TestReaderHotplugAndEvents(t *testing.T) {
	f := newFixture(t)
	ctx := sim.NewContext(f.r)
	f.m.Finalize()
	f.m = NewModule(func() (cardos.Context, error) { return ctx, nil }, mynacard.Attach)
	require.NoError(t, f.m.Initialize(InitArgs{}))
	first, err := f.m.SlotList(false)
	require.NoError(t, err)
	require.Len(t, first, 2)
	_, err = f.m.WaitForSlotEvent(true)
	require.Equal(t, "CKR_NO_EVENT", rv(err))

	// A reader appears: listed at the next SlotList, and reported as an event.
	r2 := sim.NewReader("Second Reader")
	ctx.AddReader(r2)
	list, err := f.m.SlotList(false)
	require.NoError(t, err)
	require.Len(t, list, 4)
	newSlots := list[2:]
	for range 2 {
		id, err := f.m.WaitForSlotEvent(true)
		require.NoError(t, err)
		assert.Contains(t, newSlots, id)
	}
	_, err = f.m.WaitForSlotEvent(true)
	require.Equal(t, "CKR_NO_EVENT", rv(err))

	// Card inserted while a caller blocks in WaitForSlotEvent.
	got := make(chan SlotID)
	go func() {
		id, err := f.m.WaitForSlotEvent(false)
		assert.NoError(t, err)
		got <- id
	}()
	r2.Insert(genCard(t, "default"))
	assert.Equal(t, newSlots[0], <-got)
	id, err := f.m.WaitForSlotEvent(true)
	require.NoError(t, err)
	assert.Equal(t, newSlots[1], id)
	withToken, err := f.m.SlotList(true)
	require.NoError(t, err)
	assert.Len(t, withToken, 4)

	// The reader goes and comes back: same slot IDs, never given to another.
	ctx.RemoveReader("Second Reader")
	list, err = f.m.SlotList(false)
	require.NoError(t, err)
	assert.Equal(t, first, list)
	ctx.AddReader(sim.NewReader("Third Reader"))
	ctx.AddReader(r2)
	list, err = f.m.SlotList(false)
	require.NoError(t, err)
	require.Len(t, list, 6)
	assert.Equal(t, newSlots, list[2:4], "a returning reader keeps its slot IDs")
	assert.NotContains(t, list[4:], newSlots[0])
}

// notJPKI is a Context with one reader holding a card without the JPKI
// applet: every SELECT answers 6A82.
type notJPKI struct{ cardos.Context }

type plainTransport struct{}

func (plainTransport) Transmit([]byte) ([]byte, error) {
	return apdu.Response{SW: apdu.SWFileNotFound}.Bytes(), nil
}
func (plainTransport) Begin() error   { return nil }
func (plainTransport) End(bool) error { return nil }
func (plainTransport) ATR() []byte    { return []byte{0x3B, 0x00} }
func (plainTransport) Alive() error   { return nil }
func (plainTransport) Close() error   { return nil }

func (notJPKI) Readers() ([]cardos.ReaderStatus, error) {
	return []cardos.ReaderStatus{{Name: "Other Card Reader", Present: true, Events: 1}}, nil
}
func (notJPKI) Connect(string) (cardos.Transport, error) { return plainTransport{}, nil }
func (notJPKI) Close() error                             { return nil }

func TestNonJPKICardHasNoToken(t *testing.T) {
	m := NewModule(func() (cardos.Context, error) { return notJPKI{}, nil }, mynacard.Attach)
	require.NoError(t, m.Initialize(InitArgs{}))
	defer m.Finalize()
	all, err := m.SlotList(false)
	require.NoError(t, err)
	assert.Len(t, all, 2)
	present, err := m.SlotList(true)
	require.NoError(t, err)
	assert.Empty(t, present)
	info, err := m.SlotInfo(all[0])
	require.NoError(t, err)
	assert.Zero(t, info.Flags&ck.CKF_TOKEN_PRESENT)
}

func TestTokenInfo(t *testing.T) {
	f := newFixture(t)
	auth, sign := f.slots()
	sum := sumHex(f.card.Certificates().AuthCert[:256]) // its first READ BINARY
	for _, tt := range []struct {
		slot           SlotID
		label          string
		minPIN, maxPIN uint
	}{{auth, "My Number Card (Auth)", 4, 4}, {sign, "My Number Card (Sign)", 6, 16}} {
		info, err := f.m.TokenInfo(tt.slot)
		require.NoError(t, err)
		assert.Equal(t, tt.label, info.Label)
		assert.LessOrEqual(t, len(info.Label), 32)
		assert.Equal(t, "J-LIS", info.ManufacturerID)
		assert.Equal(t, "JPKI", info.Model)
		assert.Equal(t, sum, info.SerialNumber)
		assert.Equal(t, uint(ck.CKF_LOGIN_REQUIRED|ck.CKF_USER_PIN_INITIALIZED|ck.CKF_TOKEN_INITIALIZED|ck.CKF_WRITE_PROTECTED), info.Flags)
		assert.Zero(t, info.Flags&ck.CKF_RNG)
		assert.Equal(t, tt.minPIN, info.MinPinLen)
		assert.Equal(t, tt.maxPIN, info.MaxPinLen)
	}
	// The public data is read once per card, however often it is asked.
	before := f.card.Stats().ByINS[0xB0]
	_, err := f.m.TokenInfo(auth)
	require.NoError(t, err)
	assert.Equal(t, before, f.card.Stats().ByINS[0xB0], "no READ BINARY for cached data")

	// Another card has another serial.
	f.r.Insert(genCard(t, "nosign"))
	auth2, _ := f.slots()
	info, err := f.m.TokenInfo(auth2)
	require.NoError(t, err)
	assert.NotEqual(t, sum, info.SerialNumber)
	assert.Len(t, info.SerialNumber, 16)
}

func sumHex(der []byte) string {
	s := sha256Sum(der)
	return hex.EncodeToString(s[:8])
}
