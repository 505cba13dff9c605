package main

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math"
	"time"
)

// jst is Japan Standard Time. JPKI certificates end at the end of a day
// in Japan, so dates are shown in JST whatever the local time zone.
var jst = time.FixedZone("JST", 9*60*60)

// renewalMonths is how long before expiry a JPKI certificate can be
// renewed at the municipal office.
const renewalMonths = 3

// certSummary is what status shows of one certificate. Holder fields
// (Renewal*) are set only for the holder's own certificates, not for CAs.
type certSummary struct {
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	Serial    string    `json:"serial"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	// DaysLeft is the number of whole days until NotAfter (negative once
	// expired).
	DaysLeft int  `json:"days_left"`
	Expired  bool `json:"expired"`
	// RenewalOpens is when renewal becomes possible: three months before
	// NotAfter. Only for holder certificates.
	RenewalOpens *time.Time `json:"renewal_opens,omitempty"`
	// RenewalOpen reports whether renewal is possible now (or, once the
	// certificate has expired, whether a new one must be issued).
	RenewalOpen *bool `json:"renewal_open,omitempty"`
	// DaysToRenewal is the number of days until RenewalOpens, rounded up
	// (0 once renewal is open).
	DaysToRenewal *int `json:"days_to_renewal,omitempty"`
}

// summarize describes cert as of now. holder adds the renewal fields.
func summarize(cert *x509.Certificate, now time.Time, holder bool) certSummary {
	s := certSummary{
		Subject:   dn(cert.RawSubject, cert.Subject.String()),
		Issuer:    dn(cert.RawIssuer, cert.Issuer.String()),
		Serial:    fmt.Sprintf("%X", cert.SerialNumber),
		NotBefore: cert.NotBefore.UTC(),
		NotAfter:  cert.NotAfter.UTC(),
		DaysLeft:  daysUntil(now, cert.NotAfter),
		Expired:   now.After(cert.NotAfter),
	}
	if holder {
		opens := renewalOpens(cert.NotAfter).UTC()
		open := !now.Before(opens)
		wait := 0
		if !open {
			wait = int(math.Ceil(opens.Sub(now).Hours() / 24))
		}
		s.RenewalOpens, s.RenewalOpen, s.DaysToRenewal = &opens, &open, &wait
	}
	return s
}

// dn renders a DER distinguished name in RFC 4514 form, keeping each
// RDN as encoded (pkix.Name would merge the two OUs of a JPKI CA name);
// fallback is used when raw does not parse.
func dn(raw []byte, fallback string) string {
	var seq pkix.RDNSequence
	if rest, err := asn1.Unmarshal(raw, &seq); err != nil || len(rest) > 0 {
		return fallback
	}
	return seq.String()
}

// renewalOpens returns the first moment a certificate ending at notAfter
// can be renewed: three calendar months earlier. JPKI certificates end on
// the holder's fifth birthday after issue, so this is three months before
// that birthday.
func renewalOpens(notAfter time.Time) time.Time {
	return notAfter.In(jst).AddDate(0, -renewalMonths, 0)
}

// daysUntil returns the whole days from now to t, rounded towards
// negative infinity (so a certificate that expired an hour ago has -1).
func daysUntil(now, t time.Time) int {
	return int(math.Floor(t.Sub(now).Hours() / 24))
}

// day formats t as a date in JST.
func day(t time.Time) string { return t.In(jst).Format("2006-01-02") }

// Object identifiers of the holder attributes in the subjectAltName of a
// JPKI signature certificate (otherName type-ids).
var holderOIDs = []struct {
	oid  asn1.ObjectIdentifier
	name string
}{
	{asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 5, 1}, "name"},
	{asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 5, 2}, "name (alternative)"},
	{asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 5, 3}, "sex"},
	{asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 5, 4}, "birth date"},
	{asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 5, 5}, "address"},
	{asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 5, 6}, "address (alternative)"},
}

var oidSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}

// holderField is one personal attribute of the signature certificate.
type holderField struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// holderData decodes the holder's personal attributes from the
// subjectAltName of a signature certificate. Unknown entries are skipped;
// a malformed extension gives an error.
func holderData(cert *x509.Certificate) ([]holderField, error) {
	var out []holderField
	for _, ext := range cert.Extensions {
		if !ext.Id.Equal(oidSubjectAltName) {
			continue
		}
		var names []asn1.RawValue
		if rest, err := asn1.Unmarshal(ext.Value, &names); err != nil || len(rest) > 0 {
			return nil, fmt.Errorf("the subjectAltName does not parse")
		}
		for _, n := range names {
			if n.Class != asn1.ClassContextSpecific || n.Tag != 0 {
				continue // not an otherName
			}
			var oid asn1.ObjectIdentifier
			rest, err := asn1.Unmarshal(n.Bytes, &oid)
			if err != nil {
				return nil, fmt.Errorf("an otherName of the subjectAltName does not parse")
			}
			var wrapped asn1.RawValue
			if _, err := asn1.Unmarshal(rest, &wrapped); err != nil {
				return nil, fmt.Errorf("an otherName value does not parse")
			}
			var v string
			if _, err := asn1.Unmarshal(wrapped.Bytes, &v); err != nil {
				v = fmt.Sprintf("(%d bytes, not a string)", len(wrapped.Bytes))
			}
			for _, h := range holderOIDs {
				if h.oid.Equal(oid) {
					out = append(out, holderField{Name: h.name, Value: v})
				}
			}
		}
	}
	return out, nil
}
