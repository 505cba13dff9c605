// Package mynacard owns one insertion of a My Number credential in a
// reader: the conversation with it (one PC/SC transaction at a time,
// reconnection, resets by other programs), its identity, the PIN scope,
// the held PIN, the retry-counter and certificate caches and the
// operations the module needs (cardos.Credential). It speaks to the card
// through a jpki.Client that it alone owns, and reports the credential's
// errors of package cardos, never a PKCS#11 code: package p11 chooses
// those.
//
// The card is shared with every other program: each operation is one
// transaction that selects the applet and file it needs, verifies a held
// PIN in it when the scope says so, and makes the card forget it before
// the transaction ends (leave.go). After a reconnection or a reset the
// card proves that it is the same card before a PIN or a signature
// command reaches it (identity.go).
//
// The files, each one concept: card.go (the insertion and its probe),
// conv.go (one conversation), identity.go, pin.go (how a PIN reaches the
// card), leave.go, login.go, sign.go, certs.go, state.go (what a token
// shows without a PIN), heldpin.go, survey.go (what the companion command
// shows).
package mynacard
