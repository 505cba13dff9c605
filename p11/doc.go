// Package p11 implements the PKCS#11 semantics of the My Number Card
// module in pure Go: library lifecycle, slots and tokens for each reader,
// sessions, login with the JPKI PIN policies, the read-only object model
// and the RSA PKCS#1 v1.5 signing mechanisms. The C layer (package c)
// converts C arguments to the types here, calls a Module method and
// converts the returned error with ck.RV.
//
// Each card reader yields two slots: the authentication token (利用者証明用,
// 4-digit PIN) and the signature token (署名用, 6–16 character password).
package p11
