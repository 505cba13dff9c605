// Package jpki is a client for the JPKI applet (公的個人認証AP) of the
// Japanese My Number Card.
//
// The applet holds two RSA-2048 key pairs with their certificates:
//
//   - the user-authentication key (cardos.AuthKey), behind a 4-digit PIN with 3
//     tries, certificate cardos.AuthCert (EF 000A) issued by cardos.AuthCACert (EF 000B);
//   - the digital-signature key (cardos.SignKey), behind a 6–16 character
//     password (A–Z, 0–9) with 5 tries, certificate cardos.SignCert (EF 0001, only
//     readable once the password is verified) issued by cardos.SignCACert (EF 0002).
//
// A Client sends the short APDUs every known implementation uses and keeps
// track of the selected applet and elementary file so that it sends no
// redundant SELECT. It does not open transactions: its caller brackets a
// multi-APDU operation with Transport.Begin and Transport.End, and calls
// Forget when the transport reports cardos.ErrCardReset.
//
// Status words become the sentinel errors of this package (cardos.ErrNotFound,
// cardos.ErrPINRequired, cardos.ErrPINLocked, *cardos.WrongPINError), with the *apdu.Error
// still wrapped for detail. No error or message ever carries PIN bytes.
//
// FACTS.md beside this file lists the card facts the package relies on
// (AIDs, EFs, APDUs, status words, PIN rules, READ behaviour), each with
// its public source and whether a real-card trace confirms it.
package jpki
