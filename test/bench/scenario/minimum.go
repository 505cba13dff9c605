package scenario

import "fmt"

// CertLens are the lengths of a card's public certificates, which the
// object listing's minimum depends on.
type CertLens struct{ Auth, AuthCA, SignCA int }

// Reads is the number of READ BINARY a certificate of n bytes needs:
// short APDUs return at most 256 bytes (every client uses short APDUs,
// cardos/jpki/FACTS.md §10.3).
func Reads(n int) int { return (n + 255) / 256 }

// Minimum returns the fewest APDUs scenario name can cost on a card
// whose certificates have the lengths c, in the PIN scope given
// ("operation" or "session"), when any other program may use the card
// between any two of the module's PC/SC transactions, with the
// reasoning. test/apdubudget asserts the module's counts against it and
// the bench report prints it. Building blocks:
//
//   - tx (1): every PKCS#11 call that reaches the card is at least one
//     transaction, and a transaction trusts no selection made before it:
//     it starts with SELECT JPKI AP. Every file it touches costs its
//     SELECT EF.
//   - detect (3 + 2): SELECT AP, SELECT EF 0006, READ BINARY of the
//     token name, which tells a My Number Card from an old Juki card
//     with the same AID; then, in the same transaction, the identity:
//     SELECT EF 000A + one READ BINARY. The start of the authentication
//     certificate (serial number, issuer) is the only public per-card
//     data: the token's serial, and what proves after a reconnection
//     that the card is the same before a held PIN is sent. It is read
//     before anything else is learnt from the card.
//   - tries (2 per PIN): SELECT PIN EF + empty VERIFY for the
//     CKF_USER_PIN_COUNT_LOW/FINAL_TRY/LOCKED flags. C_GetTokenInfo reads
//     sign-cert probe and tries in one transaction.
//   - sign-cert probe (2): SELECT EF 0001 + READ: a card without a
//     signature certificate (holder under 15, face-authentication card)
//     must show its sign token as unusable before login.
//   - certificate (2 + reads(len)): tx + SELECT + READ BINARY per 256
//     bytes, one transaction per certificate the application asks for;
//     the authentication certificate's first READ was the identity's.
//   - login (2 + 1 + 1): tx + SELECT PIN EF + VERIFY, then the first
//     login of the insertion reads the counter once more (an empty
//     VERIFY): the card's own full counter, which decides when a held PIN
//     may be sent (no trace shows the signature password's); the sign login adds
//     the sign-cert check (SELECT EF 0001 + READ) in the same
//     transaction, while the password is verified.
//   - leave (2): SELECT another applet, which drops the verified PINs,
//     then SELECT JPKI AP again: another program may have selected the
//     applet once and then only its files (OpenSC's JPKI driver does),
//     so the card must not be left in another applet. In scope operation
//     it ends every transaction that verified a PIN (so the card is never
//     left verified); in scope session it is the logout when the last
//     session closes.
//   - leave proof (2): that the leave made the card forget the PIN is
//     unproven on real cards, so the leave is followed by a command the
//     card runs only while the PIN is verified: SELECT EF + SIGN with the
//     auth key (or a 1-byte READ of the signature certificate), which
//     must answer 6982. In scope operation once per insertion and PIN,
//     after the first leave that follows a VERIFY; in scope session at
//     every logout, since the PIN was verified in an earlier transaction
//     and another program may have dropped it since, so that the 6982
//     proves nothing for the next logout.
//   - sign, scope session (3): tx + SELECT key EF + SIGN per signature.
//   - sign, scope operation (8): tx + SELECT PIN EF + empty VERIFY (a
//     held PIN is only sent while every try is left) + VERIFY + SELECT
//     key EF + SIGN + leave 2.
func Minimum(name, scope string, c CertLens) (int, string) {
	const (
		detect, tokenInfoAuth, tokenInfoSignOnly = 3 + 2, 1 + 2, 1 + 2 + 2
		login                                    = 1 + 2 + 1
		signCheck                                = 2
	)
	const leave = 2
	op := scope == "operation"
	sign, loginLeave, logout, sl := 3, 0, leave+2, "3 (tx + SELECT key + SIGN)"
	if op {
		sign, loginLeave, logout, sl = 6+leave, leave+2, 0, "8 (tx + SELECT PIN EF + tries + VERIFY + SELECT key + SIGN + leave 2)"
	}
	loginWhy := fmt.Sprintf("login %d", login+loginLeave)
	if op {
		loginWhy += " (with the leave and its proof)"
	}
	logoutWhy := fmt.Sprintf("logout %d", logout)
	if !op {
		logoutWhy += " (the leave and its proof)"
	}
	switch name {
	case "a-list":
		return detect + tokenInfoAuth + tokenInfoSignOnly, "detect 5 (with the identity) + token info auth 3 (tx + tries 2) + token info sign 5 (tx + sign-cert probe 2 + tries 2)"
	case "b-objects":
		a, ca, sca := 2+Reads(c.Auth)-1, 2+Reads(c.AuthCA), 2+Reads(c.SignCA)
		return detect + a + ca + sca, fmt.Sprintf("detect 5 + auth certificate %d (its first READ was the identity) + auth CA certificate %d + sign CA certificate %d (public; the sign token shows nothing else before login)", a, ca, sca)
	case "c-sign-auth":
		return detect + tokenInfoAuth + login + loginLeave + sign + logout,
			fmt.Sprintf("detect 5 + token info 3 + %s + sign %s + %s", loginWhy, sl, logoutWhy)
	case "d-sign-sign":
		ti := 1 + 2 + 2 // tx + sign-cert probe + tries
		return detect + ti + login + signCheck + loginLeave + sign + logout,
			fmt.Sprintf("detect 5 + token info 5 (tx + sign-cert probe 2 + tries 2) + %s + sign-cert check 2 + sign %s + %s", loginWhy, sl, logoutWhy)
	case "e-sign10":
		return detect + login + loginLeave + 10*sign + logout,
			fmt.Sprintf("detect 5 + %s + 10 × sign %s + %s", loginWhy, sl, logoutWhy)
	}
	return 0, ""
}
