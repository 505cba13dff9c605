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
//   - PINs are checked in Go before the card sees them (CKR_PIN_LEN_RANGE,
//     CKR_PIN_INVALID); the signature password is upper-cased. A locked
//     PIN gives CKR_PIN_LOCKED without a VERIFY. Nothing logs a PIN.
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
//   - A card reset by another application logs both tokens out; a removed
//     or swapped card closes its sessions (CKR_DEVICE_REMOVED for the call
//     that noticed, CKR_SESSION_HANDLE_INVALID afterwards). Object handles
//     carry the card insertion, so they never name another card's object.
//   - MYNA_PKCS11_DEBUG=1..3 (3: every PKCS#11 call), or log_level in the
//     configuration file (see Config), logs to stderr or to the file named
//     by MYNA_PKCS11_LOG.
package p11
