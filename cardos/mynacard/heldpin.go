package mynacard

import (
	"os"
	"syscall"
)

// Flags of madvise(2) not named by package syscall.
const (
	madvDontDump   = 16 // MADV_DONTDUMP: leave the page out of core dumps
	madvWipeOnFork = 18 // MADV_WIPEONFORK: a forked child sees zeros
)

// heldPIN is a PIN kept while a token in scope operation is logged in, so
// that each signature can verify it inside its own transaction. It lives
// in a page of its own outside the Go heap: locked against swapping,
// left out of core dumps and wiped in a forked child. Where the system
// refuses a step (RLIMIT_MEMLOCK, an old kernel) the PIN is still held,
// and locked reports false.
type heldPIN struct {
	page   []byte // the mapping; nil when the heap fallback is used
	pin    []byte // the PIN inside page (or on the heap)
	locked bool
}

// holdPIN copies pin into a new heldPIN. The caller clears its own copy.
func holdPIN(pin []byte) *heldPIN {
	h := &heldPIN{}
	page, err := syscall.Mmap(-1, 0, os.Getpagesize(), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil || len(pin) > len(page) {
		h.pin = append([]byte(nil), pin...)
		return h
	}
	h.page = page
	h.locked = syscall.Mlock(page) == nil
	syscall.Madvise(page, madvDontDump)
	syscall.Madvise(page, madvWipeOnFork)
	h.pin = page[:copy(page, pin)]
	return h
}

// bytes returns the held PIN; it is valid until wipe.
func (h *heldPIN) bytes() []byte { return h.pin }

// wipe overwrites the PIN and releases its page. A nil heldPIN is
// allowed.
func (h *heldPIN) wipe() {
	if h == nil {
		return
	}
	clear(h.pin)
	h.pin = nil
	if h.page != nil {
		clear(h.page)
		syscall.Munlock(h.page)
		syscall.Munmap(h.page)
		h.page = nil
	}
}
