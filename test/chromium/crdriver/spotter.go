package main

import (
	"strings"
	"sync"
	"time"
)

// spotter notes when each PIN dialog window is first seen, looking every
// benchPoll on its own: the driver's main loop may wait up to 3 s for a
// page query while a navigation is pending, which must not delay the
// measured time to the dialog.
type spotter struct {
	mu   sync.Mutex
	at   map[string]time.Time
	stop chan struct{}
}

// startSpotter starts looking; Close stops it.
func startSpotter() *spotter {
	s := &spotter{at: map[string]time.Time{}, stop: make(chan struct{})}
	go func() {
		t := time.NewTicker(benchPoll)
		defer t.Stop()
		for {
			out, _ := xdotool("", "search", "--onlyvisible", "--name", "^"+dialogTitle+"$")
			now := time.Now()
			s.mu.Lock()
			for _, id := range strings.Fields(out) {
				if _, ok := s.at[id]; !ok {
					s.at[id] = now
				}
			}
			s.mu.Unlock()
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// seen returns when window id was first seen, or now when the spotter is
// nil or has not seen it yet.
func (s *spotter) seen(id string) time.Time {
	if s != nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		if at, ok := s.at[id]; ok {
			return at
		}
	}
	return time.Now()
}

// Close stops the spotter.
func (s *spotter) Close() { close(s.stop) }
