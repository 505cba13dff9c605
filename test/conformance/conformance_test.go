package conformance

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// rule is one row of the table: in state in, call answers want (and
// then, when next is set, next answers nextWant: the state the call left
// behind, e.g. an operation ended or still active). sec cites the
// specification: PKCS #11 Base Specification v2.40 unless it says 3.0.
// only names the one token a rule is about ("" for both); also lists
// other codes the specification allows equally.
type rule struct {
	sec, text string
	in        state
	call      func(e *env) uint
	want      uint
	next      func(e *env) uint
	nextWant  uint
	only      string
	also      []uint
}

// TestConformance runs every rule on both tokens, each on a fresh module
// and card.
func TestConformance(t *testing.T) {
	rules := table()
	for _, tok := range tokens {
		for i, r := range rules {
			if r.only != "" && r.only != tok.name {
				continue
			}
			name := fmt.Sprintf("%s/%03d %s: %s (%s)", tok.name, i, r.sec, r.text, r.in)
			t.Run(name, func(t *testing.T) {
				e := newEnv(t, tok)
				e.enter(r.in)
				got := r.call(e)
				for _, alt := range r.also {
					if got == alt {
						got = r.want
					}
				}
				assert.Equal(t, ck.Name(r.want), ck.Name(got), "%s: %s", r.sec, r.text)
				if r.next != nil {
					assert.Equal(t, ck.Name(r.nextWant), ck.Name(r.next(e)), "%s: %s: the call after it", r.sec, r.text)
				}
			})
		}
	}
	t.Logf("%d rules, each on both tokens unless marked", len(rules))
}
