package sim

// This file gives the holder certificates the shape and size of J-LIS's
// (real ones are 1,571 to 1,837 bytes: cardos/jpki/FACTS.md §4.2). Published facts: the subject (C=JP, CN=<opaque>; the
// signature certificate adds the holder's prefecture and municipality as
// L), keyUsage (critical; digitalSignature, plus nonRepudiation for
// signing), the policy OIDs under 1.2.392.200149.8.5.1, the issuerAltName
// naming 公的個人認証サービス, and the subjectAltName entries of the
// signature certificate. The URLs, the CRL partition name, the user
// notice and the extKeyUsage list are fictional stand-ins of a plausible
// size. There is no OCSP URL: whether J-LIS certificates name one is not
// known, and with one pdfsig 22.12 (poppler reads a stale NSS error after
// an unreachable OCSP responder) reports "Unknown issue with Certificate"
// for a valid chain.

import (
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Object identifiers of the holder certificates.
var (
	oidJPKIName       = asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 5, 1}
	oidJPKINameAlt    = asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 5, 2}
	oidJPKISex        = asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 5, 3}
	oidJPKIBirth      = asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 5, 4}
	oidJPKIAddress    = asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 5, 5}
	oidJPKIAddressAlt = asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 5, 6}
	// The certificate policies: signature class 20, authentication
	// class 30.
	oidPolicySign = asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 1, 1, 20}
	oidPolicyAuth = asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 1, 3, 30}

	oidSubjectAltName  = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidIssuerAltName   = asn1.ObjectIdentifier{2, 5, 29, 18}
	oidCRLDistribution = asn1.ObjectIdentifier{2, 5, 29, 31}
	oidCertPolicies    = asn1.ObjectIdentifier{2, 5, 29, 32}
	oidQualifierCPS    = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 2, 1}
	oidQualifierNotice = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 2, 2}
	oidCountry         = asn1.ObjectIdentifier{2, 5, 4, 6}
	oidLocality        = asn1.ObjectIdentifier{2, 5, 4, 7}
	oidOrganization    = asn1.ObjectIdentifier{2, 5, 4, 10}
	oidOrgUnit         = asn1.ObjectIdentifier{2, 5, 4, 11}
	oidCommonName      = asn1.ObjectIdentifier{2, 5, 4, 3}
)

// jpkiService is the organisation the issuerAltName names.
const jpkiService = "公的個人認証サービス"

// Fictional repository of the simulated CAs (the .example top-level
// domain is reserved, RFC 2606).
const repoHost = "jpki.example"

// eeKind is what differs between the two holder certificates.
type eeKind struct {
	purpose string // the CA's OU, e.g. "JPKI for user authentication"
	short   string // "auth" or "sign" in the repository URLs
	policy  asn1.ObjectIdentifier
}

var (
	authKind = eeKind{purpose: "JPKI for user authentication", short: "auth", policy: oidPolicyAuth}
	signKind = eeKind{purpose: "JPKI for digital signature", short: "sign", policy: oidPolicySign}
)

// holderTemplate returns the template of a holder certificate of kind k
// for key pub, valid from issued to notAfter. subject is the DER name;
// extra are further extensions (the signature certificate's
// subjectAltName).
func holderTemplate(k eeKind, pub *rsa.PublicKey, subject []byte, issued, notAfter time.Time, extra ...pkix.Extension) (*x509.Certificate, error) {
	exts, err := k.extensions()
	if err != nil {
		return nil, err
	}
	spki := x509.MarshalPKCS1PublicKey(pub)
	ski := sha1.Sum(spki) // RFC 5280 4.2.1.2 method (1)
	tmpl := &x509.Certificate{
		SerialNumber:          randSerial(),
		RawSubject:            subject,
		NotBefore:             issued,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		SubjectKeyId:          ski[:],
		IssuingCertificateURL: []string{fmt.Sprintf("http://www.%s/ca/cert/%sca03.cer", repoHost, k.short)},
		ExtraExtensions:       append(exts, extra...),
	}
	if k.short == "sign" {
		tmpl.KeyUsage |= x509.KeyUsageContentCommitment
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	return tmpl, nil
}

// extensions encodes the certificate policies (a CPS pointer and a user
// notice), the CRL distribution point (a partition's URLs and directory
// name) and the issuerAltName.
func (k eeKind) extensions() ([]pkix.Extension, error) {
	type notice struct {
		Text string `asn1:"utf8"`
	}
	type qualifier struct {
		ID    asn1.ObjectIdentifier
		Value any
	}
	type policy struct {
		ID         asn1.ObjectIdentifier
		Qualifiers []qualifier
	}
	cps := asn1.RawValue{Tag: asn1.TagIA5String, Bytes: fmt.Appendf(nil, "http://www.%s/ca/pdf/%s_cps.pdf", repoHost, k.short)}
	text := notice{"Issued under the CPS of " + k.purpose}
	policies, err := asn1.Marshal([]policy{{k.policy, []qualifier{{oidQualifierCPS, cps}, {oidQualifierNotice, text}}}})
	if err != nil {
		return nil, err
	}
	// The CRL is partitioned: the distribution point gives the
	// partition's LDAP and HTTP URLs and its directory name (URLs first:
	// Go's parser stops at the first name that is not a URL).
	partition := mustRDN(rdn(oidCountry, "JP"), rdn(oidOrganization, "JPKI"), rdn(oidOrgUnit, k.purpose),
		rdn(oidOrgUnit, "CRL Distribution Points"), rdn(oidCommonName, "CRL0042"))
	ldapURL := fmt.Sprintf("ldap://ldap.%s/cn=CRL0042,ou=CRL%%20Distribution%%20Points,ou=%s,o=JPKI,c=JP?certificateRevocationList",
		repoHost, strings.ReplaceAll(k.purpose, " ", "%20"))
	httpURL := fmt.Sprintf("http://crl.%s/%s/CRL0042.crl", repoHost, k.short)
	fullName, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: concatDER(
		asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 6, Bytes: []byte(ldapURL)},
		asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 6, Bytes: []byte(httpURL)},
		asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: partition},
	)})
	if err != nil {
		return nil, err
	}
	dpName, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: fullName})
	if err != nil {
		return nil, err
	}
	crlDP, err := asn1.Marshal([]asn1.RawValue{{Tag: asn1.TagSequence, IsCompound: true, Bytes: dpName}})
	if err != nil {
		return nil, err
	}
	service, err := asn1.MarshalWithParams(jpkiService, "utf8")
	if err != nil {
		return nil, err
	}
	org := mustRDN(rdn(oidCountry, "JP"), pkix.RelativeDistinguishedNameSET{{Type: oidOrganization, Value: asn1.RawValue{FullBytes: service}}})
	issuerAlt, err := asn1.Marshal([]asn1.RawValue{{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: org}})
	if err != nil {
		return nil, err
	}
	return []pkix.Extension{
		// Not critical, although a public test fixture built to the
		// J-LIS signature profile marks them critical: whether real
		// certificates do is not known, and Java's PKIX then rejects a
		// chain whose critical policies carry qualifiers (jarsigner
		// -verify -strict fails).
		{Id: oidCertPolicies, Value: policies},
		{Id: oidCRLDistribution, Value: crlDP},
		{Id: oidIssuerAltName, Value: issuerAlt},
	}, nil
}

// concatDER encodes each value and joins the encodings.
func concatDER(vs ...asn1.RawValue) []byte {
	var out []byte
	for _, v := range vs {
		b, err := asn1.Marshal(v)
		if err != nil {
			panic(err) // RawValues with fixed tags always encode
		}
		out = append(out, b...)
	}
	return out
}

// holderSAN encodes the subjectAltName of the signature certificate:
// GeneralNames of otherName entries [0] { type-id, [0] EXPLICIT
// UTF8String }, in the order real certificates use: name, birth date
// (era digit 1–5 for Meiji–Reiwa, then YYYYMMDD), sex, address, then one
// digit per character of the name and of the address saying whether it
// is a substitute character (all 0 here).
func holderSAN(p Profile) ([]byte, error) {
	birth, err := time.Parse(time.DateOnly, p.BirthDate)
	if err != nil {
		return nil, err
	}
	entries := []struct {
		oid asn1.ObjectIdentifier
		v   string
	}{
		{oidJPKIName, p.Name},
		{oidJPKIBirth, fmt.Sprint(eraCode(birth)) + birth.Format("20060102")},
		{oidJPKISex, p.Sex},
		{oidJPKIAddress, p.Address},
		{oidJPKINameAlt, strings.Repeat("0", utf8.RuneCountInString(p.Name))},
		{oidJPKIAddressAlt, strings.Repeat("0", utf8.RuneCountInString(p.Address))},
	}
	var names []asn1.RawValue
	for _, e := range entries {
		oid, err := asn1.Marshal(e.oid)
		if err != nil {
			return nil, err
		}
		str, err := asn1.MarshalWithParams(e.v, "utf8")
		if err != nil {
			return nil, err
		}
		val, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: str})
		if err != nil {
			return nil, err
		}
		names = append(names, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: append(oid, val...)})
	}
	return asn1.Marshal(names)
}

// eraCode returns the digit of the Japanese era of day: 1 Meiji, 2
// Taisho, 3 Showa, 4 Heisei, 5 Reiwa.
func eraCode(day time.Time) int {
	starts := []string{"1912-07-30", "1926-12-25", "1989-01-08", "2019-05-01"}
	code := 1
	for _, s := range starts {
		if t, _ := time.Parse(time.DateOnly, s); !day.Before(t) {
			code++
		}
	}
	return code
}
