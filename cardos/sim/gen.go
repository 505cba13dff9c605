package sim

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"regexp"
	"time"
)

// Defaults of the fictional holder of a generated card.
const (
	defaultName      = "見本 花子"
	defaultAddress   = "東京都千代田区見本町九丁目99番99号"
	defaultBirthDate = "1985-04-12"
	defaultSex       = "2"
)

const jlisOU = "Japan Agency for Local Authority Information Systems"

var (
	authPINRule = regexp.MustCompile(`^[0-9]{4}$`)
	signPINRule = regexp.MustCompile(`^[A-Z0-9]{6,16}$`)
)

// withDefaults fills the zero fields of p and checks the PIN formats.
func (p Profile) withDefaults() (Profile, error) {
	if p.AuthPIN == "" {
		p.AuthPIN = DefaultAuthPIN
	}
	if p.SignPIN == "" {
		p.SignPIN = DefaultSignPIN
	}
	if p.Name == "" {
		p.Name = defaultName
	}
	if p.Address == "" {
		p.Address = defaultAddress
	}
	if p.BirthDate == "" {
		p.BirthDate = defaultBirthDate
	}
	if p.Sex == "" {
		p.Sex = defaultSex
	}
	if !authPINRule.MatchString(p.AuthPIN) {
		return p, fmt.Errorf("sim: auth PIN must be exactly 4 digits")
	}
	if !signPINRule.MatchString(p.SignPIN) {
		return p, fmt.Errorf("sim: sign password must be 6–16 characters of A–Z and 0–9")
	}
	if _, err := time.Parse(time.DateOnly, p.BirthDate); err != nil {
		return p, fmt.Errorf("sim: birth date %q must be YYYY-MM-DD", p.BirthDate)
	}
	if p.Sex != "1" && p.Sex != "2" && p.Sex != "9" {
		return p, fmt.Errorf("sim: sex must be 1 (male), 2 (female) or 9 (not applicable)")
	}
	return p, nil
}

// generate creates the persistent memory of a new card: four RSA-2048
// keys (two CAs, two holder keys) and the certificates.
func generate(p Profile, q Quirks, now time.Time) (*state, error) {
	p, err := p.withDefaults()
	if err != nil {
		return nil, err
	}
	if p.FaceAuth {
		p.NoSignCert = true
	}
	birth, _ := time.Parse(time.DateOnly, p.BirthDate)
	now = now.UTC()
	issued := now.AddDate(0, 0, -30).Truncate(24 * time.Hour)
	if p.Expired {
		issued = now.AddDate(-6, 0, 0).Truncate(24 * time.Hour)
	}
	notAfter := fifthBirthday(birth, issued)

	newKey := func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) }
	authCAKey, err := newKey()
	if err != nil {
		return nil, err
	}
	signCAKey, err := newKey()
	if err != nil {
		return nil, err
	}
	authKey, err := newKey()
	if err != nil {
		return nil, err
	}
	signKey, err := newKey()
	if err != nil {
		return nil, err
	}
	caStart := time.Date(now.Year()-2, 7, 16, 0, 0, 0, 0, time.UTC)
	caEnd := caStart.AddDate(10, 0, -1)
	authCA, err := makeCA("JPKI for user authentication", authCAKey, caStart, caEnd)
	if err != nil {
		return nil, err
	}
	signCA, err := makeCA("JPKI for digital signature", signCAKey, caStart, caEnd)
	if err != nil {
		return nil, err
	}

	s := &state{
		Version: stateVersion, Profile: p, Quirks: q,
		AuthPIN: p.AuthPIN, SignPIN: p.SignPIN,
		AuthTries: AuthMaxTries, SignTries: q.maxTries(2),
		AuthCA: authCA.Raw, SignCA: signCA.Raw,
	}
	if p.FaceAuth {
		s.AuthTries, s.SignTries = 0, 0
	}
	if s.AuthKey, err = x509.MarshalPKCS8PrivateKey(authKey); err != nil {
		return nil, err
	}
	if s.SignKey, err = x509.MarshalPKCS8PrivateKey(signKey); err != nil {
		return nil, err
	}
	authTmpl, err := holderTemplate(authKind, &authKey.PublicKey,
		mustRDN(rdn(oidCountry, "JP"), rdn(oidCommonName, opaqueHolderID())), issued, notAfter)
	if err != nil {
		return nil, err
	}
	if s.AuthCert, err = x509.CreateCertificate(rand.Reader, authTmpl, authCA, &authKey.PublicKey, authCAKey); err != nil {
		return nil, fmt.Errorf("sim: auth certificate: %w", err)
	}
	s.Other = defaultOther(p.AuthPIN, notAfter)
	s.resetOtherTries()
	if !p.NoSignCert {
		san, err := holderSAN(p)
		if err != nil {
			return nil, err
		}
		// The holder's prefecture and municipality, romanised, as real
		// signature certificates carry them (fixed fictional values).
		subject := mustRDN(rdn(oidCountry, "JP"), rdn(oidLocality, "Tokyo"), rdn(oidLocality, "Chiyoda-ku"),
			rdn(oidCommonName, opaqueHolderID()))
		signTmpl, err := holderTemplate(signKind, &signKey.PublicKey, subject, issued, notAfter,
			pkix.Extension{Id: oidSubjectAltName, Value: san})
		if err != nil {
			return nil, err
		}
		if s.SignCert, err = x509.CreateCertificate(rand.Reader, signTmpl, signCA, &signKey.PublicKey, signCAKey); err != nil {
			return nil, fmt.Errorf("sim: sign certificate: %w", err)
		}
	}
	return s, nil
}

// fifthBirthday returns the holder's 5th birthday strictly after issued.
func fifthBirthday(birth, issued time.Time) time.Time {
	next := time.Date(issued.Year(), birth.Month(), birth.Day(), 0, 0, 0, 0, time.UTC)
	if !next.After(issued) {
		next = next.AddDate(1, 0, 0)
	}
	return next.AddDate(4, 0, 0)
}

func makeCA(purpose string, key *rsa.PrivateKey, from, to time.Time) (*x509.Certificate, error) {
	subject := mustRDN(rdn(oidCountry, "JP"), rdn(oidOrganization, "JPKI"), rdn(oidOrgUnit, purpose), rdn(oidOrgUnit, jlisOU))
	tmpl := &x509.Certificate{
		SerialNumber:          randSerial(),
		RawSubject:            subject,
		NotBefore:             from,
		NotAfter:              to,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("sim: CA certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

// rdn is one single-valued relative distinguished name.
func rdn(oid asn1.ObjectIdentifier, v string) pkix.RelativeDistinguishedNameSET {
	return pkix.RelativeDistinguishedNameSET{{Type: oid, Value: v}}
}

// mustRDN encodes a Name with one attribute per RDN, in the given order
// (Go's pkix.Name would merge the two OUs into one multi-valued RDN).
func mustRDN(rdns ...pkix.RelativeDistinguishedNameSET) []byte {
	b, err := asn1.Marshal(pkix.RDNSequence(rdns))
	if err != nil {
		panic(err) // only fixed, printable strings are encoded
	}
	return b
}

func randSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return n.Add(n, big.NewInt(1))
}

// opaqueHolderID returns an opaque identifier of 23 digits and capital
// letters like the CN of real JPKI holder certificates.
func opaqueHolderID() string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	b := make([]byte, 23)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			panic(err) // crypto/rand does not fail on Linux
		}
		b[i] = alphabet[n.Int64()]
	}
	return string(b)
}
