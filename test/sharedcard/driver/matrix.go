package main

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/myna-pkcs11/myna-pkcs11/test/sharedcard/proto"
)

const (
	pinGood  = proto.PINGood
	pinWrong = proto.PINWrong
)

// step is one prim done by one actor of a scenario.
type step struct {
	actor int // index into scenario.actors
	prim
	alone string // OpenSC's steps: what it answered with its own steps alone (world.alone)
	again bool   // inserted by the run: a login and a signature again after CKR_USER_NOT_LOGGED_IN
}

// scenario is one generated interleaving.
type scenario struct {
	name   string
	ops    []op // the op of each actor (interleave only)
	actors []kind
	steps  []step
}

// builder assembles a scenario.
type builder struct{ s scenario }

func (b *builder) actor(k kind) int {
	b.s.actors = append(b.s.actors, k)
	return len(b.s.actors) - 1
}

func (b *builder) add(actor int, ps ...prim) {
	for _, p := range ps {
		b.s.steps = append(b.s.steps, step{actor: actor, prim: p})
	}
}

// pick returns the kind at position n of o's kinds (rotation).
func pick(o op, n int) kind {
	ks := o.kinds()
	return ks[n%len(ks)]
}

// interleave builds "every actor's setup, then each actor's op in order,
// then the first actor's follow-up, then the others' (long-lived ones
// only)" for ops[i] done by a program of kinds[i].
func interleave(name string, ops []op, kinds []kind, variant int) scenario {
	b := &builder{s: scenario{name: name, ops: ops}}
	ids := make([]int, len(ops))
	for i, k := range kinds {
		ids[i] = b.actor(k)
	}
	for i, o := range ops {
		b.add(ids[i], o.setup(kinds[i])...)
	}
	for i, o := range ops {
		b.add(ids[i], o.prims(kinds[i], variant+i)...)
	}
	for i, o := range ops {
		if i == 0 || kinds[i].longLived() || kinds[i] == kRaw {
			b.add(ids[i], o.followUp(kinds[i], variant+i)...)
		}
	}
	return b.s
}

// firstKind is the kind of the program doing the first op of a scenario:
// a long-lived process of ours (raw ops: a raw client).
func firstKind(o op) kind { return o.kinds()[0] }

func describe(ops []op, kinds []kind) string {
	parts := make([]string, len(ops))
	for i := range ops {
		parts[i] = fmt.Sprintf("%c:%s(%s)", 'A'+i, ops[i], kinds[i])
	}
	return strings.Join(parts, " × ")
}

// pairs returns every ordered pair (X by A, Y by B). B's kind rotates
// among Y's kinds with the pair's position and the scope index, so that
// over the two scopes each pair runs against each kind.
func pairs(scope int) []scenario {
	var out []scenario
	for x := range numOps {
		for y := range numOps {
			ops := []op{x, y}
			kinds := []kind{firstKind(x), pick(y, int(x)+int(y)+scope)}
			n := len(out)
			out = append(out, interleave(fmt.Sprintf("pair %03d %s", n, describe(ops, kinds)), ops, kinds, n))
		}
	}
	return out
}

// triples returns n random (seeded) ordered triples of ops, each done by
// its own program.
func triples(scope, n int, seed uint64) []scenario {
	r := rand.New(rand.NewPCG(seed, uint64(scope)))
	var out []scenario
	for i := range n {
		ops := []op{op(r.IntN(int(numOps))), op(r.IntN(int(numOps))), op(r.IntN(int(numOps)))}
		kinds := []kind{firstKind(ops[0]), pick(ops[1], r.IntN(2)), pick(ops[2], r.IntN(2))}
		out = append(out, interleave(fmt.Sprintf("triple %03d %s", i, describe(ops, kinds)), ops, kinds, i))
	}
	return out
}

// wrongPIN returns, for both tokens and every op Y: B does Y, then A logs
// in with a wrong PIN (exactly one try spent), then with the right one
// (tries back to full) and signs; and A does X, then B spends a try and
// logs in, then A follows up. B's kind rotates as in pairs.
func wrongPIN(scope int) []scenario {
	var out []scenario
	for ti, tok := range tokens {
		for y := range numOps {
			b := &builder{}
			kb := pick(y, int(y)+ti+scope)
			bi, a := b.actor(kb), b.actor(kOurs)
			b.add(bi, y.setup(kb)...)
			b.add(bi, y.prims(kb, len(out))...)
			b.add(a, login(tok, pinWrong), login(tok, pinGood), p(verbSign, tok))
			b.s.name = fmt.Sprintf("wrong-pin %03d B:%s(%s), then A:ours wrong %s PIN, right PIN, sign", len(out), y, kb, tok)
			out = append(out, b.s)

			x := y
			b = &builder{}
			a, bi = b.actor(firstKind(x)), b.actor(kOurs)
			b.add(a, x.setup(firstKind(x))...)
			b.add(a, x.prims(firstKind(x), len(out))...)
			b.add(bi, login(tok, pinWrong), login(tok, pinGood))
			b.add(a, x.followUp(firstKind(x), len(out))...)
			b.s.name = fmt.Sprintf("wrong-pin %03d A:%s(%s), then B:ours wrong %s PIN, right PIN, A follows up", len(out), x, firstKind(x), tok)
			out = append(out, b.s)
		}
	}
	return out
}

// withOpenSC returns n scenarios in which B is pkcs11-tool with OpenSC's
// module (list or list objects), after A logged in or signed: OpenSC
// selects the applet and files itself, so A's next step must still be
// right. The A ops rotate with the scope.
func withOpenSC(scope, n int) []scenario {
	as := []op{opSignAuth, opLoginSign, opSignSign, opLoginAuth}
	bs := []op{opList, opObjects}
	var out []scenario
	for i := range n {
		x, y := as[(i+2*scope)%len(as)], bs[(i+scope)%len(bs)]
		ops, kinds := []op{x, y}, []kind{kOurs, kOpenSC}
		out = append(out, interleave(fmt.Sprintf("opensc %03d %s", i, describe(ops, kinds)), ops, kinds, i))
	}
	return out
}

// The ops of the coexistence family: what the program on our module does,
// and what the long-lived program on OpenSC's module does (OpenSC 0.23's
// JPKI driver cannot change a PIN).
var (
	coexistOurs   = []op{opList, opObjects, opTokenInfo, opLoginAuth, opLoginSign, opSignAuth, opSignSign, opLogout, opChangePIN, opClose}
	coexistOpenSC = []op{opObjects, opTokenInfo, opLoginAuth, opLoginSign, opSignAuth, opSignSign, opLogout, opClose}
)

// coexistPrims are the single steps of the random coexistence sequences;
// the program of ours also changes PINs.
var coexistPrims = []prim{login(tokAuth, pinGood), login(tokSign, pinGood), p(verbSign, tokAuth), p(verbSign, tokSign),
	p(verbLogout, tokAuth), p(verbLogout, tokSign), p(verbTokenInfo, "")}

// coexist returns the scenarios of a long-lived program on OpenSC's module
// beside a long-lived program on ours: every pair (X by OpenSC, Y by
// ours) in both orders, each program's op followed by the other's and by
// its own follow-up (a signature after a login, ...), then n seeded
// random sequences of 12 single steps of either program, OpenSC logged in
// to both tokens first. Each runs first with OpenSC's steps alone (see
// world.alone).
func coexist(scope, n int, seed uint64) []scenario {
	var out []scenario
	for _, x := range coexistOpenSC {
		for _, y := range coexistOurs {
			for _, oursFirst := range []bool{false, true} {
				ops, kinds := []op{x, y}, []kind{kOpenSCProc, kOurs}
				if oursFirst {
					ops, kinds = []op{y, x}, []kind{kOurs, kOpenSCProc}
				}
				out = append(out, interleave(fmt.Sprintf("coexist %03d %s", len(out), describe(ops, kinds)), ops, kinds, len(out)))
			}
		}
	}
	r := rand.New(rand.NewPCG(seed, uint64(scope)+1<<32))
	for i := range n {
		b := &builder{}
		o, a := b.actor(kOpenSCProc), b.actor(kOurs)
		b.add(o, login(tokAuth, pinGood), login(tokSign, pinGood))
		for range 12 {
			if r.IntN(2) == 0 {
				b.add(o, coexistPrims[r.IntN(len(coexistPrims))])
				continue
			}
			if r.IntN(len(coexistPrims)+1) == 0 {
				b.add(a, p(verbChangePIN, tokens[r.IntN(2)]))
				continue
			}
			b.add(a, coexistPrims[r.IntN(len(coexistPrims))])
		}
		b.add(o, both(verbSign)...)
		b.s.name = fmt.Sprintf("coexist-random %03d A:opensc B:ours", i)
		out = append(out, b.s)
	}
	return out
}
