package sim

import (
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/myna-pkcs11/myna-pkcs11/cardos/jpki"
	"github.com/stretchr/testify/require"
)

// RSA key generation is slow: one card is generated per test binary and
// every test starts from a copy of its persistent memory.
var (
	genOnce  sync.Once
	genState *state
	genErr   error
)

func baseState(t testing.TB) *state {
	t.Helper()
	genOnce.Do(func() { genState, genErr = generate(Profile{}, Quirks{}, time.Now()) })
	require.NoError(t, genErr)
	return genState.clone()
}

// newTestCard returns a fresh memory card with the shared keys.
func newTestCard(t testing.TB, q Quirks, opt ...Options) *Card {
	t.Helper()
	st := baseState(t)
	st.Quirks = q
	var o Options
	if len(opt) > 0 {
		o = opt[0]
	}
	c, err := newCard(st, o, nil)
	require.NoError(t, err)
	return c
}

// newTestFile writes the shared card to a state file in a temp dir.
func newTestFile(t testing.TB, mutate func(*state)) string {
	t.Helper()
	st := baseState(t)
	if mutate != nil {
		mutate(st)
	}
	path := filepath.Join(t.TempDir(), "card.json")
	require.NoError(t, newStateFile(path).save(st))
	return path
}

// h decodes hex with optional spaces.
func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// tx sends a hex command and returns the response in upper-case hex.
func tx(t testing.TB, c *Card, cmd string) string {
	t.Helper()
	return strings.ToUpper(hex.EncodeToString(c.Process(h(cmd))))
}

// sw returns the status word of a hex response.
func sw(resp string) string {
	if len(resp) < 4 {
		return resp
	}
	return resp[len(resp)-4:]
}

// The APDUs of the tests, as hex, from the facts the module's client
// defines (cardos/jpki/ids.go).
var (
	selJPKI    = selAID(jpki.AID)
	selISD     = selAID(jpki.AIDISD)
	selText    = selAID(jpki.AIDTextAP)
	selAuthPIN = selEF(efAuthPIN)
	selSignPIN = selEF(efSignPIN)
	selAuthKey = selEF(efAuthKey)
	selSignKey = selEF(efSignKey)
)

// selAID is SELECT by DF name without FCI; selEF SELECT EF under the
// current DF without FCI.
func selAID(aid []byte) string { return fmt.Sprintf("00A4040C%02X%X", len(aid), aid) }
func selEF(fid uint16) string  { return fmt.Sprintf("00A4020C02%04X", fid) }

const (
	verifyAuth = "0020008004" + "31323334"     // "1234"
	verifySign = "0020008006" + "414243313233" // "ABC123"
	wrongAuth  = "0020008004" + "39393939"     // "9999"
	wrongSign  = "0020008006" + "5A5A5A5A5A5A" // "ZZZZZZ"
	lowerSign  = "0020008006" + "616263313233" // "abc123"
	query      = "00200080"
)
