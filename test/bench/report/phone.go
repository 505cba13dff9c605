package report

import (
	"fmt"
	"strings"
)

// phoneModules are the runs on the simulated Android smartphone
// credential: ours in-process (driver inproc-scenario -device android),
// ours and OpenSC through pcscd (myna-sim --device android).
var phoneModules = moduleSet{"ours-inproc-android", "ours-android", "opensc-android", " on the phone"}

// phoneFigs computes the phone's figures per scenario, with the same
// problems and notes as section 1's.
func (r *report) phoneFigs() (map[string]scenarioFigures, error) {
	out := map[string]scenarioFigures{}
	for _, sc := range scenarioNames {
		f, err := r.scenarioFigs(phoneModules, sc)
		if err != nil {
			return nil, err
		}
		out[sc] = f
	}
	return out, nil
}

// phone writes the end of section 2: on a contactless reader, the
// phone's APDUs next to the card's, and the modelled time of ours and
// OpenSC on the phone and on the card.
func (r *report) phone() error {
	figs, err := r.phoneFigs()
	if err != nil {
		return err
	}
	cl := Readers[1]
	// times returns the contactless model in milliseconds: ours on the
	// card, ours on the phone, OpenSC on the card, OpenSC on the phone.
	times := func(sc string) (card, ph, oscCard, oscPh float64) {
		p, f := figs[sc], r.figs[sc]
		return cl.Model(f.oursMs, f.ours, f.oursSig), cl.Model(p.oursMs, p.ours, p.oursSig),
			cl.Model(f.oscMs, f.osc, f.oscSig), cl.Model(p.oscMs, p.osc, p.oscSig)
	}
	var head, headOSC []string
	for _, sc := range scenarioNames {
		card, ph, _, oscPh := times(sc)
		head = append(head, fmt.Sprintf("%s **%.2f**", sc, ph/card))
		headOSC = append(headOSC, fmt.Sprintf("%s **%.2f**", sc, ph/oscPh))
	}
	r.add("\n### A smartphone credential on a contactless reader\n")
	r.addf("Modelled contactless time, ours on an Android phone / ours on the card: %s; on the phone, ours / OpenSC: %s.\n",
		strings.Join(head, ", "), strings.Join(headOSC, ", "))
	r.addf("The card's keys served as an Android smartphone credential (`myna-sim --device android` through pcscd, median of 3 fresh "+
		"processes; ours also in-process, `driver inproc-scenario -device android`): its authentication certificate is behind the PIN, "+
		"and it refuses SELECT of any other applet with 6A82, so each of our leaves is a card reset. test/apdubudget/phone_test.go "+
		"asserts our counts on Android and iPhone and why each differs from the card's. Every OpenSC run gets the phone served afresh "+
		"(a new tap): OpenSC leaves it verified when its process ends (test/OPENSC-DIFFERENCES.md, row 2), and its next process would "+
		"read the certificate behind the PIN without one. OpenSC's JPKI driver accepts the simulated phone (the simulator keeps the card's "+
		"ATR; OpenSC's card-jpki.c otherwise accepts a card that answers SELECT of the JPKI AP), shows its authentication certificate "+
		"only after login, and signs. The contactless profile (%.0f ms/APDU, %.0f ms/signature) models phone and card alike: no "+
		"published figure exists for a phone's NFC exchange or its RSA. Nor does the model charge anything for the card resets our "+
		"leaves cost on a phone (in the default PIN scope one at the login and one per signature; test/apdubudget/phone_test.go "+
		"counts them): what a reset costs a phone on an NFC reader is unpublished.\n", cl.APDUMs, cl.SignMs)
	r.add("| scenario | APDUs: ours, card | ours, phone | OpenSC, phone | contactless: ours, card | ours, phone | OpenSC, card | OpenSC, phone | ours: phone / card | phone: ours / OpenSC |")
	r.add("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	r.say("Phone (Android), APDUs ours / OpenSC, contactless model ours card / ours phone / OpenSC card / OpenSC phone:")
	for _, sc := range scenarioNames {
		p, f := figs[sc], r.figs[sc]
		card, ph, oscCard, oscPh := times(sc)
		r.addf("| %s | %d | %d | %d | %.2f s | %.2f s | %.2f s | %.2f s | %.2f | %.2f |", sc, f.ours, p.ours, p.osc,
			card/1000, ph/1000, oscCard/1000, oscPh/1000, ph/card, ph/oscPh)
		r.say("  %-12s %4d %4d   %6.2f s %6.2f s %6.2f s %6.2f s   ours phone/card %.2f, phone ours/OpenSC %.2f",
			sc, p.ours, p.osc, card/1000, ph/1000, oscCard/1000, oscPh/1000, ph/card, ph/oscPh)
	}
	return nil
}
