package main

import (
	"fmt"
	"strings"

	"github.com/myna-pkcs11/myna-pkcs11/cardos"
	"github.com/myna-pkcs11/myna-pkcs11/cardos/mynacard"
)

// reselectStep names the probe in the report's steps.
const reselectStep = "re-select probe (auth PIN)"

// reselectProbe runs the card layer's re-select probe
// (mynacard.Card.ReselectProbe: whether the card drops a verified PIN
// when the JPKI AP is selected again; cardos/jpki/FACTS.md §9) on reader
// with the auth PIN the module has just accepted. Its APDUs go into the
// report, where diag.Report.Behaviour reads the answer for myna-sim
// --profile.
func (p *probe) reselectProbe(reader string, pin []byte) {
	p.step(reselectStep, func() (string, error) {
		name, err := readerNamed(p.ctx, reader)
		if err != nil {
			return "", err
		}
		card := mynacard.New(p.ctx, cardos.CredentialOptions{Reader: name})
		defer card.Close()
		return card.ReselectProbe(append([]byte(nil), pin...))
	})
}

// readerNamed returns the name of reader, or of the reader whose name
// starts with it (a slot description is cut at 64 characters).
func readerNamed(ctx cardos.Context, reader string) (string, error) {
	readers, err := ctx.Readers()
	if err != nil {
		return "", err
	}
	for _, r := range readers {
		if r.Name == reader || strings.HasPrefix(r.Name, reader) {
			return r.Name, nil
		}
	}
	return "", fmt.Errorf("%w: %q", cardos.ErrReaderGone, reader)
}
