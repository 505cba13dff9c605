package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// changeOptions are the flags of the change-pin command.
type changeOptions struct {
	key       cardos.Key
	reader    string
	json      bool
	pinStdin  bool
	yes       bool
	forceLast bool
}

// changeResult is the outcome of change-pin (the --json output).
type changeResult struct {
	Reader    string `json:"reader,omitempty"`
	Key       string `json:"key"`
	Changed   bool   `json:"changed"`
	TriesLeft *int   `json:"tries_left,omitempty"`
	MaxTries  int    `json:"max_tries"`
	// CardTouched is false when the command stopped before any PIN was
	// sent to the card (a refusal, a malformed PIN, a cancelled prompt).
	CardTouched bool   `json:"card_touched"`
	Error       string `json:"error,omitempty"`
	Advice      string `json:"advice,omitempty"`
}

// runChangePIN implements "myna-pkcs11 change-pin auth|sign".
func runChangePIN(o changeOptions, stdin *os.File, stdout, stderr io.Writer) int {
	res := changeResult{Key: o.key.String(), MaxTries: o.key.MaxTries()}
	changePIN(&res, o, stdin, stdout, stderr)
	if o.json {
		writeJSON(stdout, res)
	} else if res.Changed {
		fmt.Fprintf(stdout, "The %s was changed. %d of %d tries left.\n", keyNoun(o.key), *res.TriesLeft, res.MaxTries)
	} else {
		fmt.Fprintf(stderr, "myna-pkcs11: %s\n", res.Error)
		if res.Advice != "" {
			fmt.Fprintln(stderr, res.Advice)
		}
	}
	if res.Changed {
		return 0
	}
	return 1
}

func changePIN(res *changeResult, o changeOptions, stdin *os.File, stdout, stderr io.Writer) {
	fail := func(err error) {
		ce := explain(err)
		res.Error, res.Advice = ce.msg, ce.advice
	}
	now := time.Now()
	ctx, readers, err := openBackend()
	if err != nil {
		fail(err)
		return
	}
	defer ctx.Close()
	reader, err := pickReader(readers, o.reader)
	if err != nil {
		fail(err)
		return
	}
	res.Reader = reader
	st, err := inspect(ctx, reader, now)
	if err != nil {
		fail(err)
		return
	}
	ks := st.key(o.key)
	tries := ks.PIN.TriesLeft
	res.TriesLeft = &tries
	switch {
	case st.FaceAuth:
		fail(&cardError{msg: "no PIN of this card can be used: both read 0 tries left (a face-authentication card, or both PINs locked)", advice: faceAuthAdvice})
		return
	case o.key == cardos.SignKey && st.NoSignCert:
		fail(&cardError{msg: "this card holds no signature certificate, so its signature password cannot be used", advice: noSignCertAdvice})
		return
	case ks.PIN.Locked:
		fail(&cardError{msg: "the " + keyNoun(o.key) + " is locked", advice: lockedAdvice})
		return
	case tries == 1 && !o.forceLast:
		fail(&cardError{msg: fmt.Sprintf("only one try of the %s is left: refusing to try it; nothing was sent to the card", keyNoun(o.key)),
			advice: "A wrong PIN now would lock it, and only the 市区町村の窓口 can unlock it. " +
				"If you are sure of the current PIN, run again with --force-last-try."})
		return
	}
	if !o.json {
		fmt.Fprintf(stderr, "Changing the %s of the card in %q (%d of %d tries left).\n", keyNoun(o.key), reader, tries, ks.PIN.MaxTries)
	}

	in, err := newInput(stdin, o.pinStdin, stderr)
	if err != nil {
		fail(err)
		return
	}
	tok, err := openToken(ctx, reader, o.key, true)
	if err != nil {
		fail(err)
		return
	}
	closed := false
	closeToken := func() {
		if !closed {
			tok.close()
			closed = true
		}
	}
	defer closeToken()

	what, rule := "PIN", "4 digits"
	if o.key == cardos.SignKey {
		what, rule = "password", "6-16 letters A-Z and digits 0-9"
	}
	cur, err := in.secret(fmt.Sprintf("Current %s: ", what))
	defer clear(cur)
	if err != nil {
		fail(err)
		return
	}
	if err := tok.checkFormat(o.key, cur); err != nil {
		fail(fmt.Errorf("current %s: %w; nothing was sent to the card", what, err))
		return
	}
	newPIN, err := in.secret(fmt.Sprintf("New %s (%s): ", what, rule))
	defer clear(newPIN)
	if err != nil {
		fail(err)
		return
	}
	// The new PIN's format is checked at once, not after it was typed twice.
	if err := tok.checkFormat(o.key, newPIN); err != nil {
		fail(fmt.Errorf("new %s: %w; nothing was sent to the card", what, err))
		return
	}
	if bytes.EqualFold(cur, newPIN) {
		fail(fmt.Errorf("the new %s is the same as the current one; nothing was sent to the card", what))
		return
	}
	again, err := in.secret(fmt.Sprintf("New %s again: ", what))
	defer clear(again)
	if err != nil {
		fail(err)
		return
	}
	if !bytes.Equal(newPIN, again) {
		fail(fmt.Errorf("the two new %ss differ; nothing was sent to the card", what))
		return
	}
	if !o.yes {
		yes, err := in.confirm(fmt.Sprintf("Change the %s now?", keyNoun(o.key)))
		if err != nil {
			fail(fmt.Errorf("no answer to the confirmation (add --yes to skip it): %w", err))
			return
		}
		if !yes {
			fail(errors.New("cancelled; nothing was sent to the card"))
			return
		}
	}

	res.CardTouched = true
	err = tok.changePIN(cur, newPIN)
	closeToken() // the module logs the card out before we read it again
	if err != nil {
		msg, advice := pinFailure(ctx, reader, o.key, err, now)
		if ck.RV(err) == ck.CKR_PIN_LEN_RANGE || ck.RV(err) == ck.CKR_PIN_INVALID {
			res.CardTouched = false
			msg = policyError(err).Error() + "; nothing was sent to the card"
		}
		res.Error, res.Advice = msg, advice
		if st, ierr := inspect(ctx, reader, now); ierr == nil {
			t := st.key(o.key).PIN.TriesLeft
			res.TriesLeft = &t
		}
		return
	}
	res.Changed = true
	if st, ierr := inspect(ctx, reader, now); ierr == nil {
		t := st.key(o.key).PIN.TriesLeft
		res.TriesLeft = &t
	} else {
		t := o.key.MaxTries()
		res.TriesLeft = &t
	}
	if o.key == cardos.SignKey && !bytes.Equal(newPIN, bytes.ToUpper(newPIN)) && !o.json {
		fmt.Fprintln(stderr, "Note: the card stores the password in capital letters. This module accepts it in either case; other software may need capitals.")
	}
}
