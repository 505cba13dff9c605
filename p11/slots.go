package p11

import (
	"errors"
	"strings"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// reader is one card reader the module has seen. It owns two slot IDs,
// fixed for the reader's name for the module's lifetime and never given
// to another reader.
type reader struct {
	name               string
	authSlot, signSlot SlotID
	attached           bool       // listed by the back end now
	card               *insertion // current insertion, nil when empty
}

// slotRef names the reader and token kind of a slot ID.
type slotRef struct {
	r    *reader
	kind tokenKind
}

// Slot-info identification.
const slotManufacturer = "myna-pkcs11"

// applyLocked brings the reader registry in line with st and returns the
// cards that went away (the caller closes them after releasing m.mu:
// closing waits for a conversation in progress). With events set it queues a slot event for every reader
// whose card changed, appeared or disappeared. Sessions of departed cards
// are dropped.
func (m *Module) applyLocked(st []cardos.ReaderStatus, events bool) []*insertion {
	var gone []*insertion
	seen := map[string]bool{}
	for _, s := range st {
		if !strings.Contains(s.Name, m.cfg.Readers) {
			continue // configured away: never given a slot or touched
		}
		seen[s.Name] = true
		r := m.readers[s.Name]
		if r == nil {
			r = &reader{name: s.Name, authSlot: m.nextSlot, signSlot: m.nextSlot + 1}
			m.nextSlot += 2
			m.readers[s.Name] = r
			m.order = append(m.order, r)
			m.slots[r.authSlot] = slotRef{r, authToken}
			m.slots[r.signSlot] = slotRef{r, signToken}
		}
		changed := !r.attached
		r.attached = true
		switch {
		case !s.Present && r.card != nil:
			gone = append(gone, r.card)
			r.card = nil
			changed = true
		case s.Present && (r.card == nil || r.card.events != s.Events || r.card.card.Removed()):
			// A new insertion, or a card found not to be the one this
			// value stood for (cardos/mynacard/identity.go): a new token.
			if r.card != nil {
				gone = append(gone, r.card)
			}
			r.card = m.newInsertionLocked(r, s.Events)
			changed = true
		}
		if changed && events {
			m.queueEventLocked(r)
		}
	}
	for _, r := range m.order {
		if seen[r.name] || !r.attached {
			continue
		}
		r.attached = false
		if r.card != nil {
			gone = append(gone, r.card)
			r.card = nil
		}
		if events {
			m.queueEventLocked(r)
		}
	}
	for _, c := range gone {
		m.log.infof("reader %q: card removed or replaced; its sessions are closed", c.reader)
		m.dropSessionsLocked(c)
	}
	m.known = st
	return gone
}

func (m *Module) queueEventLocked(r *reader) {
	for _, id := range m.shownLocked(r) {
		dup := false
		for _, p := range m.pending {
			dup = dup || p == id
		}
		if !dup {
			m.pending = append(m.pending, id)
		}
	}
}

func closeCards(cards []*insertion) {
	for _, c := range cards {
		c.card.Close()
	}
}

// refresh enumerates the readers, updates slots and probes new cards.
func (m *Module) refresh() error {
	m.refreshMu.Lock()
	defer m.refreshMu.Unlock()
	ctx, err := m.context()
	if err != nil {
		return err
	}
	var st []cardos.ReaderStatus
	if ctx != nil {
		st, err = ctx.Readers()
		if err != nil {
			// The service went away: show no readers until it is back.
			m.log.infof("listing readers: %v", err)
			st = nil
		}
	}
	return m.applyAndProbe(ctx, st)
}

// applyAndProbe applies st and probes the cards that need it. A card
// that the probe found replaced (its connection was lost and another
// card answers: cardos/mynacard/identity.go) is a new insertion at once, probed in a
// second round, so that the call that noticed already shows the new
// token.
func (m *Module) applyAndProbe(ctx cardos.Context, st []cardos.ReaderStatus) error {
	for round := 0; round < 2; round++ {
		m.mu.Lock()
		if !m.initialized {
			m.mu.Unlock()
			return ck.Error(ck.CKR_CRYPTOKI_NOT_INITIALIZED)
		}
		gone := m.applyLocked(st, true)
		var cards []*insertion
		for _, r := range m.order {
			if r.card != nil {
				cards = append(cards, r.card)
			}
		}
		m.mu.Unlock()
		closeCards(gone)
		replaced := false
		for _, c := range cards {
			c.card.Probe()
			replaced = replaced || c.card.Removed()
		}
		if !replaced {
			break
		}
	}
	return nil
}

// SlotList implements C_GetSlotList. It enumerates the readers on every
// call, so readers plugged in since are listed. Slot IDs stay fixed per
// reader name, so the two calls of the size protocol agree unless a
// reader really appeared in between (then the C layer's second call gets
// CKR_BUFFER_TOO_SMALL, as the spec allows).
func (m *Module) SlotList(tokenPresent bool) ([]SlotID, error) {
	if err := m.refresh(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	list := []SlotID{}
	for _, r := range m.order {
		if !r.attached {
			continue
		}
		if tokenPresent && !r.hasToken() {
			continue
		}
		list = append(list, m.shownLocked(r)...)
	}
	return list, nil
}

// showsLocked reports whether the configuration shows the slot of ref:
// its reader's name and its kind of token.
func (m *Module) showsLocked(ref slotRef) bool {
	if !strings.Contains(ref.r.name, m.cfg.Readers) {
		return false
	}
	if ref.kind == signToken {
		return m.cfg.SignToken
	}
	return m.cfg.AuthToken
}

// shownLocked returns the slot IDs of r the configuration shows (tokens =
// auth,sign), in order.
func (m *Module) shownLocked(r *reader) []SlotID {
	ids := make([]SlotID, 0, 2)
	if m.cfg.AuthToken {
		ids = append(ids, r.authSlot)
	}
	if m.cfg.SignToken {
		ids = append(ids, r.signSlot)
	}
	return ids
}

// hasToken reports whether the reader holds a probed JPKI card.
func (r *reader) hasToken() bool {
	c := r.card
	if c == nil {
		return false
	}
	return c.card.Found()
}

// slot returns the reader and kind of a slot ID.
func (m *Module) slot(id SlotID) (slotRef, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.initialized {
		return slotRef{}, ck.Error(ck.CKR_CRYPTOKI_NOT_INITIALIZED)
	}
	ref, ok := m.slots[id]
	if !ok || !m.showsLocked(ref) {
		return slotRef{}, ck.Error(ck.CKR_SLOT_ID_INVALID) // unknown or configured away
	}
	return ref, nil
}

// SlotInfo implements C_GetSlotInfo. A reader that was unplugged keeps
// its slot IDs and reports no token.
func (m *Module) SlotInfo(slot SlotID) (SlotInfo, error) {
	if err := m.refresh(); err != nil {
		return SlotInfo{}, err
	}
	ref, err := m.slot(slot)
	if err != nil {
		return SlotInfo{}, err
	}
	m.mu.Lock()
	present := ref.r.hasToken()
	m.mu.Unlock()
	info := SlotInfo{
		Description:    ref.r.name,
		ManufacturerID: slotManufacturer,
		Flags:          ck.CKF_REMOVABLE_DEVICE | ck.CKF_HW_SLOT,
	}
	if present {
		info.Flags |= ck.CKF_TOKEN_PRESENT
	}
	return info, nil
}

// tokenCard returns the JPKI card in a slot, refreshing first.
func (m *Module) tokenCard(slot SlotID) (slotRef, *insertion, error) {
	if err := m.refresh(); err != nil {
		return slotRef{}, nil, err
	}
	ref, err := m.slot(slot)
	if err != nil {
		return slotRef{}, nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !ref.r.hasToken() {
		return slotRef{}, nil, ck.Error(ck.CKR_TOKEN_NOT_PRESENT)
	}
	return ref, ref.r.card, nil
}

// WaitForSlotEvent implements C_WaitForSlotEvent. With dontBlock it
// looks at the readers once and returns CKR_NO_EVENT when nothing
// changed. Otherwise it blocks until a reader or card changes, or until
// Finalize (then CKR_CRYPTOKI_NOT_INITIALIZED).
func (m *Module) WaitForSlotEvent(dontBlock bool) (SlotID, error) {
	for {
		m.mu.Lock()
		if !m.initialized {
			m.mu.Unlock()
			return 0, ck.Error(ck.CKR_CRYPTOKI_NOT_INITIALIZED)
		}
		if len(m.pending) > 0 {
			id := m.pending[0]
			m.pending = m.pending[1:]
			m.mu.Unlock()
			return id, nil
		}
		waitCtx, known := m.waitCtx, m.known
		m.mu.Unlock()

		if dontBlock {
			if err := m.refresh(); err != nil {
				return 0, err
			}
			m.mu.Lock()
			if len(m.pending) > 0 {
				id := m.pending[0]
				m.pending = m.pending[1:]
				m.mu.Unlock()
				return id, nil
			}
			m.mu.Unlock()
			return 0, ck.Error(ck.CKR_NO_EVENT)
		}

		ctx, err := m.context()
		if err != nil {
			return 0, err
		}
		if ctx == nil {
			// No smart-card service: nothing can change until it is back.
			<-waitCtx.Done()
			return 0, ck.Error(ck.CKR_CRYPTOKI_NOT_INITIALIZED)
		}
		st, err := ctx.WaitChange(waitCtx, known)
		if waitCtx.Err() != nil {
			return 0, ck.Error(ck.CKR_CRYPTOKI_NOT_INITIALIZED)
		}
		if err != nil {
			m.log.infof("waiting for reader changes: %v", err)
			if errors.Is(err, cardos.ErrNoService) {
				return 0, ck.Error(ck.CKR_DEVICE_ERROR)
			}
			return 0, ck.Error(ck.CKR_FUNCTION_FAILED)
		}
		m.refreshMu.Lock()
		err = m.applyAndProbe(ctx, st)
		m.refreshMu.Unlock()
		if err != nil {
			return 0, err
		}
	}
}
