package pcsc

import (
	"slices"

	"github.com/ebfe/scard"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
)

// pnpReader is the pseudo-reader whose state changes when a reader is
// plugged in or out.
const pnpReader = `\\?PnP?\Notification`

// observed is what the Context last saw of one reader.
type observed struct {
	state  scard.StateFlag // last dwEventState, event count in the high 16 bits
	events uint64          // insertions and removals counted so far
}

// tracker turns successive reader states into cardos.ReaderStatus values
// with an insert/remove count per reader. pcsc-lite keeps a per-reader
// event counter in the high 16 bits of dwEventState; the tracker adds its
// increments, and counts a presence change the counter missed (other PC/SC
// implementations) as one event.
type tracker struct {
	seen map[string]*observed
}

func newTracker() *tracker { return &tracker{seen: map[string]*observed{}} }

// present reports whether a state says a card is in the reader.
func present(s scard.StateFlag) bool {
	return s&scard.StatePresent != 0 && s&(scard.StateUnavailable|scard.StateUnknown) == 0
}

// update records the states just read for the named readers (readers not
// listed are forgotten) and returns the statuses sorted by name.
func (t *tracker) update(states []scard.ReaderState) []cardos.ReaderStatus {
	out := make([]cardos.ReaderStatus, 0, len(states))
	keep := make(map[string]bool, len(states))
	for _, rs := range states {
		keep[rs.Reader] = true
		s := rs.EventState &^ scard.StateChanged
		o, ok := t.seen[rs.Reader]
		if !ok {
			o = &observed{state: s}
			t.seen[rs.Reader] = o
		} else {
			d := uint64(uint16(s>>16) - uint16(o.state>>16))
			if d == 0 && present(s) != present(o.state) {
				d = 1
			}
			o.events += d
			o.state = s
		}
		out = append(out, cardos.ReaderStatus{Name: rs.Reader, Present: present(s), Events: o.events})
	}
	for name := range t.seen {
		if !keep[name] {
			delete(t.seen, name)
		}
	}
	slices.SortFunc(out, func(a, b cardos.ReaderStatus) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return out
}

// lastState returns the last state seen of a reader (StateUnaware when
// never seen), to pass as dwCurrentState to GetStatusChange.
func (t *tracker) lastState(name string) scard.StateFlag {
	if o, ok := t.seen[name]; ok {
		return o.state
	}
	return scard.StateUnaware
}

// sameStatus reports whether two reader lists describe the same readers
// and cards, regardless of order.
func sameStatus(a, b []cardos.ReaderStatus) bool {
	if len(a) != len(b) {
		return false
	}
	m := make(map[string]cardos.ReaderStatus, len(a))
	for _, r := range a {
		m[r.Name] = r
	}
	for _, r := range b {
		if o, ok := m[r.Name]; !ok || o != r {
			return false
		}
	}
	return true
}
