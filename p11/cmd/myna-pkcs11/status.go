package main

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/p11/ck"
)

// statusOptions are the flags of the status command.
type statusOptions struct {
	reader       string
	json         bool
	showSignCert bool
	signPINFile  string
	forceLast    bool
}

// readerReport is one reader in the status report.
type readerReport struct {
	Reader      string      `json:"reader"`
	CardPresent bool        `json:"card_present"`
	Card        *cardStatus `json:"card,omitempty"`
	Error       string      `json:"error,omitempty"`
	Advice      string      `json:"advice,omitempty"`
}

// statusReport is the whole output of status.
type statusReport struct {
	Backend string         `json:"backend"`
	Time    time.Time      `json:"time"`
	Readers []readerReport `json:"readers"`
	Error   string         `json:"error,omitempty"`
	Advice  string         `json:"advice,omitempty"`
}

// runStatus implements "myna-pkcs11 status". It returns the exit code.
func runStatus(o statusOptions, stdin *os.File, stdout, stderr io.Writer) int {
	now := time.Now()
	rep := statusReport{Backend: backendName(), Time: now.UTC().Truncate(time.Second), Readers: []readerReport{}}
	ok := buildStatus(&rep, o, stdin, stderr, now)
	if o.json {
		writeJSON(stdout, rep)
	} else {
		writeStatusText(stdout, stderr, rep)
	}
	if !ok {
		return 1
	}
	return 0
}

// buildStatus fills rep; false means no card could be described (or the
// signature certificate asked for could not be shown).
func buildStatus(rep *statusReport, o statusOptions, stdin *os.File, stderr io.Writer, now time.Time) bool {
	fail := func(err error) bool {
		ce := explain(err)
		rep.Error, rep.Advice = ce.msg, ce.advice
		return false
	}
	ctx, readers, err := openBackend()
	if err != nil {
		return fail(err)
	}
	defer ctx.Close()
	if len(readers) == 0 {
		return fail(errNoReader)
	}
	described := 0
	for _, r := range readers {
		if o.reader != "" && r.Name != o.reader {
			continue
		}
		rr := readerReport{Reader: r.Name, CardPresent: r.Present}
		if r.Present {
			st, err := inspect(ctx, r.Name, now)
			if err != nil {
				ce := explain(err)
				rr.Error, rr.Advice = ce.msg, ce.advice
			} else {
				rr.Card = st
				described++
			}
		}
		rep.Readers = append(rep.Readers, rr)
	}
	if o.reader != "" && len(rep.Readers) == 0 {
		return fail(&cardError{msg: fmt.Sprintf("no reader named %q", o.reader), advice: "Leave out --reader to see every reader."})
	}
	if described == 0 {
		for _, rr := range rep.Readers {
			if rr.Error != "" {
				return false // the reader's own error says why
			}
		}
		return fail(errNoCard)
	}
	if !o.showSignCert {
		return true
	}
	return showSignCert(rep, ctx, o, stdin, stderr, now)
}

// showSignCert reads the signature certificate of the one card described
// in rep, with the password, and adds its subject, validity and holder
// data to the report.
func showSignCert(rep *statusReport, ctx cardos.Context, o statusOptions, stdin *os.File, stderr io.Writer, now time.Time) bool {
	var rr *readerReport
	for i := range rep.Readers {
		if rep.Readers[i].Card == nil {
			continue
		}
		if rr != nil {
			rep.Error = "--show-sign-cert: several cards are inserted"
			rep.Advice = "Choose one with --reader NAME."
			return false
		}
		rr = &rep.Readers[i]
	}
	sign := rr.Card.key(cardos.SignKey)
	refuse := func(msg, advice string) bool {
		rep.Error, rep.Advice = "--show-sign-cert: "+msg, advice
		return false
	}
	switch {
	case sign.CertificateState == certAbsent:
		return refuse("the card holds no signature certificate", noSignCertAdvice)
	case sign.PIN.Locked:
		return refuse("the signature password is locked", lockedAdvice)
	case sign.PIN.TriesLeft == 1 && !o.forceLast:
		return refuse("only one try of the signature password is left; nothing was sent to the card",
			"A wrong password now would lock it. If you are sure of it, add --force-last-try.")
	}
	pin, err := readSignPIN(o, stdin, stderr)
	if err != nil {
		return refuse(err.Error(), "")
	}
	defer clear(pin)
	tok, err := openToken(ctx, rr.Reader, cardos.SignKey, true)
	if err != nil {
		ce := explain(err)
		return refuse(ce.msg, ce.advice)
	}
	if err := tok.checkFormat(cardos.SignKey, pin); err != nil {
		tok.close()
		return refuse(err.Error()+"; nothing was sent to the card", "")
	}
	der, err := tok.readSignCert(pin)
	tok.close()
	defer clear(der)
	if errors.Is(err, cardos.ErrNotFound) {
		// The password was right but EF 0001 holds no certificate.
		sign.CertificateState = certAbsent
		rr.Card.NoSignCert = true
		rr.Card.Notes = append(rr.Card.Notes, noSignCertAdvice)
		return true
	}
	if err != nil {
		return refuse(pinFailure(ctx, rr.Reader, cardos.SignKey, err, now))
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return refuse("the signature certificate does not parse", "")
	}
	s := summarize(cert, now, true)
	sign.Certificate, sign.CertificateState = &s, certShown
	if sign.Holder, err = holderData(cert); err != nil {
		sign.Notes = append(sign.Notes, "The holder data "+err.Error()+".")
	}
	// The dates notes for the signature certificate, now that it is known.
	if s.Expired {
		sign.Notes = append(sign.Notes, expiredAdvice)
	} else if *s.RenewalOpen {
		sign.Notes = append(sign.Notes, renewAdvice)
	}
	return true
}

// readSignPIN reads the signature password from --sign-pin-file ("-" is
// standard input) or from a prompt on the terminal.
func readSignPIN(o statusOptions, stdin *os.File, stderr io.Writer) ([]byte, error) {
	if o.signPINFile != "" {
		f := stdin
		if o.signPINFile != "-" {
			var err error
			if f, err = os.Open(o.signPINFile); err != nil {
				return nil, fmt.Errorf("cannot open the --sign-pin-file: %w", err)
			}
			defer f.Close()
		}
		in, err := newInput(f, true, stderr)
		if err != nil {
			return nil, err
		}
		return in.line()
	}
	in, err := newInput(stdin, false, stderr)
	if err != nil {
		return nil, errors.New("standard input is not a terminal: give the password with --sign-pin-file FILE (or - for standard input)")
	}
	return in.secret("Signature password (署名用パスワード, 6-16 characters): ")
}

// pinFailure explains a failed VERIFY (through the module) with the tries
// left, read again from the card without spending one.
func pinFailure(ctx cardos.Context, reader string, key cardos.Key, err error, now time.Time) (string, string) {
	ce := explain(err)
	msg, advice := ce.msg, ce.advice
	st, ierr := inspect(ctx, reader, now)
	if ierr != nil {
		return msg, advice
	}
	ks := st.key(key)
	switch {
	case ks.PIN.Locked:
		return "the " + keyNoun(key) + " is locked (wrong too many times)", lockedAdvice
	case errors.Is(err, cardos.ErrPINChangeUnconfirmed):
		msg = fmt.Sprintf("%s; %d of %d tries left", msg, ks.PIN.TriesLeft, ks.PIN.MaxTries)
	case isWrongPIN(err):
		msg = fmt.Sprintf("wrong %s: %d of %d tries left", keyNoun(key), ks.PIN.TriesLeft, ks.PIN.MaxTries)
		if ks.PIN.TriesLeft == 1 {
			advice = "One more wrong try locks it, and only the 市区町村の窓口 can unlock it."
		}
	}
	return msg, advice
}

// writeStatusText prints the report for people, the overall error (if
// any) on ew.
func writeStatusText(w, ew io.Writer, rep statusReport) {
	fmt.Fprintf(w, "Back end: %s\n", rep.Backend)
	for _, rr := range rep.Readers {
		fmt.Fprintf(w, "\nReader: %s\n", rr.Reader)
		switch {
		case !rr.CardPresent:
			fmt.Fprintln(w, "  no card")
		case rr.Card == nil:
			fmt.Fprintf(w, "  card: error: %s\n", rr.Error)
			if rr.Advice != "" {
				fmt.Fprintf(w, "  %s\n", rr.Advice)
			}
		default:
			writeCardText(w, rr.Card)
		}
	}
	if rep.Error != "" {
		fmt.Fprintf(ew, "myna-pkcs11: %s\n", rep.Error)
		if rep.Advice != "" {
			fmt.Fprintln(ew, rep.Advice)
		}
	}
}

func writeCardText(w io.Writer, c *cardStatus) {
	kind := c.Credential
	name := c.TokenName
	if name == "" {
		name = "(none)"
	}
	fmt.Fprintf(w, "  Card: %s (token name %s)\n", kind, name)
	if c.FaceAuth {
		fmt.Fprintln(w, "  Type: face-authentication card (顔認証マイナンバーカード), or both PINs locked: no PIN can be used")
	} else if c.NoSignCert {
		fmt.Fprintln(w, "  Type: card without a signature certificate")
	}
	for _, n := range c.Notes {
		fmt.Fprintf(w, "  Note: %s\n", n)
	}
	for _, ks := range c.Keys {
		if ks.Key == "auth" {
			fmt.Fprintln(w, "\n  Authentication key (利用者証明用), 4-digit PIN")
		} else {
			fmt.Fprintln(w, "\n  Signature key (署名用), password of 6-16 letters A-Z and digits")
		}
		label := "PIN"
		if ks.Key == "sign" {
			label = "Password"
		}
		switch {
		case c.FaceAuth:
			fmt.Fprintf(w, "    %s: not usable (0 of %d tries left; not set on a face-authentication card)\n", label, ks.PIN.MaxTries)
		case ks.PIN.Locked:
			fmt.Fprintf(w, "    %s: LOCKED (0 of %d tries left)\n", label, ks.PIN.MaxTries)
		default:
			fmt.Fprintf(w, "    %s: %d of %d tries left\n", label, ks.PIN.TriesLeft, ks.PIN.MaxTries)
		}
		switch ks.CertificateState {
		case certShown:
			writeCertText(w, "Certificate", ks.Certificate)
			for _, h := range ks.Holder {
				fmt.Fprintf(w, "      %s: %s\n", h.Name, h.Value)
			}
		case certHidden:
			fmt.Fprintln(w, "    Certificate: not shown: the card only releases it after the password, and it holds")
			fmt.Fprintln(w, "      your name, address, birth date and sex (see it with --show-sign-cert)")
		case certAbsent:
			fmt.Fprintln(w, "    Certificate: none on this card")
		default:
			fmt.Fprintln(w, "    Certificate: could not be read")
		}
		if ks.CA != nil {
			writeCertText(w, "CA certificate", ks.CA)
		}
		for _, n := range ks.Notes {
			fmt.Fprintf(w, "    Note: %s\n", n)
		}
	}
	fmt.Fprintf(w, "\n  Card expiry: %s\n", c.CardExpiryNote)
}

func writeCertText(w io.Writer, what string, c *certSummary) {
	fmt.Fprintf(w, "    %s: %s\n", what, c.Subject)
	fmt.Fprintf(w, "      valid %s to %s (JST)", day(c.NotBefore), day(c.NotAfter))
	switch {
	case c.Expired:
		fmt.Fprintf(w, ", EXPIRED %d days ago\n", -c.DaysLeft)
	default:
		fmt.Fprintf(w, ", expires in %d days\n", c.DaysLeft)
	}
	if c.RenewalOpens == nil {
		return
	}
	switch {
	case c.Expired:
		fmt.Fprintln(w, "      Renewal: too late, the certificate has expired (get a new one at the 市区町村の窓口)")
	case *c.RenewalOpen:
		fmt.Fprintf(w, "      Renewal: possible now (since %s)\n", day(*c.RenewalOpens))
	default:
		fmt.Fprintf(w, "      Renewal: possible from %s (in %d days)\n", day(*c.RenewalOpens), *c.DaysToRenewal)
	}
}

// isWrongPIN reports whether err is the module's CKR_PIN_INCORRECT.
func isWrongPIN(err error) bool { return ck.RV(err) == ck.CKR_PIN_INCORRECT }
