// Package p11 implements the PKCS#11 semantics of the My Number Card
// module in pure Go: library lifecycle, slots and tokens for each reader,
// sessions, login with the JPKI PIN policies, the read-only object model
// and the RSA PKCS#1 v1.5 signing mechanisms. The C layer (package c)
// converts C arguments to the types here, calls a Module method and
// converts the returned error with ck.RV.
//
// Each card reader yields two slots with IDs fixed per reader name for
// the module's lifetime: the authentication token (利用者証明用, 4-digit
// PIN, "My Number Card (Auth)") and the signature token (署名用, 6–16
// character password, "My Number Card (Sign)"). A slot shows a token only
// when the reader holds a card whose JPKI applet says it is a My Number
// Card (or smartphone JPKI).
//
// Behaviour worth knowing:
//
//   - PINs are checked in Go before the card sees them (C_Login: any
//     malformed PIN is CKR_PIN_INCORRECT, the one code after which NSS,
//     and so Firefox, asks again; C_SetPIN: CKR_PIN_LEN_RANGE,
//     CKR_PIN_INVALID); the signature password is upper-cased. A locked
//     PIN gives CKR_PIN_LOCKED without a VERIFY. Nothing logs a PIN.
//   - A wrong PIN that reached the card and a locked PIN are also told
//     in a desktop notification over the session D-Bus (notify.go; off
//     with Config.NoNotifications), sent outside the call and every lock.
//   - The authentication token's certificate, public key and CA
//     certificate are public; its private key (CKA_PRIVATE true) appears
//     after C_Login. The signature token shows only its CA certificate
//     before C_Login (the card protects the signature certificate) and
//     forgets its certificate at logout.
//   - The card cannot drop one verified PIN and keep the other, so any
//     logout (C_Logout, closing a token's last session, C_Finalize) makes
//     the card forget both PINs and logs out both tokens of that card.
//   - Tokens are CKF_WRITE_PROTECTED: objects cannot be created, changed
//     or destroyed. Read/write sessions are still allowed because
//     C_SetPIN needs one.
//   - The card is shared with every other program: each conversation is
//     one PC/SC transaction that selects the applet and file it needs
//     (cardos/mynacard, cardos/jpki). PIN scope operation (the default,
//     Config.AuthPINScope/SignPINScope) keeps the PIN in locked memory
//     and verifies it inside each signing transaction, leaving the applet
//     at its end, so the card is never left verified for other programs;
//     scope session verifies once, and another program's logout or a
//     card reset then logs the token out (CKR_USER_NOT_LOGGED_IN).
//   - A removed or swapped card closes its sessions (CKR_DEVICE_REMOVED
//     for the call that noticed, CKR_SESSION_HANDLE_INVALID afterwards).
//     Object handles carry the card insertion, so they never name another
//     card's object. After a reconnection or a reset the card proves it
//     is the same card before a PIN or a signature command reaches it
//     (cardos/mynacard/identity.go); a card that does not is a new
//     insertion.
//   - MYNA_PKCS11_DEBUG=1..3 (3: every PKCS#11 call), or log_level in the
//     configuration file (see Config), logs to stderr or to the file named
//     by MYNA_PKCS11_LOG.
//
// # How the code is laid out
//
// Calls only go down: c → p11 → the card layer (cardos/mynacard, behind
// the cardos.Credential interface, so that this package depends on
// neither the APDU code nor the JPKI client) → cardos/jpki → cardos/pcsc
// or cardos/sim. C_Sign, from the host to the card and back:
//
//  1. c/export_crypto.go (goSign) turns the C arguments into Go values and
//     calls Module.Sign; C meets Go only in package c (glue.c, glue_gen.c,
//     marshal.go).
//  2. crypto.go (Sign, signOnCard) checks the session and the operation,
//     asks the card layer once whether the card takes input of that
//     length (Credential.CheckSignInput) and builds the DigestInfo
//     (cardos/pkcs1).
//  3. cardos/mynacard (Card.Sign) holds the card (Card.io, the one lock
//     that serialises it) for one PC/SC transaction (conv.go), proving
//     first, after a reconnection or a reset, that the card is the same
//     (identity.go); pin.go verifies a held PIN in it when the scope says
//     so, and leave.go makes the card forget it before the transaction
//     ends.
//  4. cardos/jpki (Client.Sign) selects the key file and builds the APDU
//     (bytes named in cardos/apdu/ins.go); cardos/pcsc or cardos/sim
//     carries it.
//  5. The answer's status word becomes one of the credential's errors
//     (cardos/credential.go, via jpki/errors.go swError); the card layer
//     updates its own state from it (conv.go, fail), and ckr.go (ckrOf)
//     chooses the CKR code, the one place that does, closing the
//     sessions of a card that is gone (cardResult).
package p11
