// Package cardos holds what every card back end shares: the Transport a
// card conversation runs over, the Context that lists readers and connects
// to cards, and the errors both report.
//
// Sub-packages:
//
//   - apdu: ISO 7816-4 command and response encoding and status words.
//   - jpki: the client for the JPKI applet of the My Number Card.
//   - pcsc: a Context over PC/SC (github.com/ebfe/scard).
//   - sim: a faithful My Number Card simulator, usable in-process as a
//     Context or attached to vsmartcard's vpcd as a virtual reader.
package cardos
