package sim

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGeneratedCertificates(t *testing.T) {
	st := baseState(t)
	authCA, err := x509.ParseCertificate(st.AuthCA)
	require.NoError(t, err)
	signCA, err := x509.ParseCertificate(st.SignCA)
	require.NoError(t, err)
	// One attribute per RDN, as on the J-LIS roots (pkix.Name.String
	// would merge the OUs, so decode the raw sequence).
	assert.Equal(t, "OU=Japan Agency for Local Authority Information Systems,OU=JPKI for user authentication,O=JPKI,C=JP", rawName(t, authCA.RawSubject))
	assert.Equal(t, "OU=Japan Agency for Local Authority Information Systems,OU=JPKI for digital signature,O=JPKI,C=JP", rawName(t, signCA.RawSubject))
	for _, ca := range []*x509.Certificate{authCA, signCA} {
		assert.True(t, ca.IsCA)
		assert.Equal(t, x509.KeyUsageCertSign|x509.KeyUsageCRLSign, ca.KeyUsage)
		assert.Equal(t, x509.SHA256WithRSA, ca.SignatureAlgorithm)
		require.NoError(t, ca.CheckSignatureFrom(ca), "self-signed root")
	}

	auth, err := x509.ParseCertificate(st.AuthCert)
	require.NoError(t, err)
	assert.Regexp(t, `^CN=[0-9A-Z]{23},C=JP$`, rawName(t, auth.RawSubject), "no personal data")
	assert.Equal(t, x509.KeyUsageDigitalSignature, auth.KeyUsage)
	assert.Equal(t, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, auth.ExtKeyUsage)
	require.NoError(t, auth.CheckSignatureFrom(authCA))
	assert.Equal(t, 2048, auth.PublicKey.(interface{ Size() int }).Size()*8)

	sign, err := x509.ParseCertificate(st.SignCert)
	require.NoError(t, err)
	require.NoError(t, sign.CheckSignatureFrom(signCA))
	assert.Equal(t, x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment, sign.KeyUsage)
	// Validity ends on the holder's 5th birthday after issue (born 04-12).
	assert.Equal(t, time.April, sign.NotAfter.Month())
	assert.Equal(t, 12, sign.NotAfter.Day())
	years := sign.NotAfter.Sub(sign.NotBefore).Hours() / 24 / 365.25
	assert.True(t, years > 4 && years <= 5, "validity %.2f years", years)
	assert.Equal(t, auth.NotAfter, sign.NotAfter)
	assert.True(t, time.Now().Before(sign.NotAfter) && time.Now().After(sign.NotBefore))

	assert.Regexp(t, `^CN=[0-9A-Z]{23},L=Chiyoda-ku,L=Tokyo,C=JP$`, rawName(t, sign.RawSubject))

	got := parseHolderSAN(t, sign)
	assert.Equal(t, map[string]string{
		"1.2.392.200149.8.5.5.1": defaultName, "1.2.392.200149.8.5.5.2": "00000",
		"1.2.392.200149.8.5.5.3": "2", "1.2.392.200149.8.5.5.4": "319850412", // 3: Showa
		"1.2.392.200149.8.5.5.5": defaultAddress, "1.2.392.200149.8.5.5.6": "0000000000000000000",
	}, got)

	// The size and shape of J-LIS's certificates (real ones seen: 1,571,
	// 1,742 and 1,837 bytes).
	for _, c := range []struct {
		cert   *x509.Certificate
		policy string
		ca     *x509.Certificate
	}{{auth, "1.2.392.200149.8.5.1.3.30", authCA}, {sign, "1.2.392.200149.8.5.1.1.20", signCA}} {
		assert.GreaterOrEqual(t, len(c.cert.Raw), 1550)
		assert.LessOrEqual(t, len(c.cert.Raw), 1850)
		require.Len(t, c.cert.PolicyIdentifiers, 1)
		assert.Equal(t, c.policy, c.cert.PolicyIdentifiers[0].String())
		assert.Len(t, c.cert.CRLDistributionPoints, 2, "LDAP and HTTP")
		assert.Empty(t, c.cert.OCSPServer, "no OCSP URL (see eecert.go)")
		assert.Len(t, c.cert.IssuingCertificateURL, 1)
		assert.Len(t, c.cert.SubjectKeyId, 20)
		assert.Equal(t, c.ca.SubjectKeyId, c.cert.AuthorityKeyId)
		var issuerAlt bool
		for _, e := range c.cert.Extensions {
			issuerAlt = issuerAlt || e.Id.Equal(oidIssuerAltName)
		}
		assert.True(t, issuerAlt, "issuerAltName")
	}
}

func TestEraCode(t *testing.T) {
	for day, want := range map[string]int{
		"1912-07-29": 1, "1912-07-30": 2, "1926-12-24": 2, "1926-12-25": 3, "1985-04-12": 3,
		"1989-01-07": 3, "1989-01-08": 4, "2019-04-30": 4, "2019-05-01": 5,
	} {
		d, err := time.Parse(time.DateOnly, day)
		require.NoError(t, err)
		assert.Equal(t, want, eraCode(d), day)
	}
}

func rawName(t *testing.T, der []byte) string {
	t.Helper()
	var seq pkix.RDNSequence
	_, err := asn1.Unmarshal(der, &seq)
	require.NoError(t, err)
	return seq.String()
}

// parseHolderSAN decodes the otherName entries of the subjectAltName.
func parseHolderSAN(t *testing.T, c *x509.Certificate) map[string]string {
	t.Helper()
	for _, ext := range c.Extensions {
		if !ext.Id.Equal(oidSubjectAltName) {
			continue
		}
		var names []asn1.RawValue
		rest, err := asn1.Unmarshal(ext.Value, &names)
		require.NoError(t, err)
		require.Empty(t, rest)
		out := map[string]string{}
		for _, n := range names {
			require.Equal(t, 0, n.Tag, "otherName")
			var oid asn1.ObjectIdentifier
			rest, err := asn1.Unmarshal(n.Bytes, &oid)
			require.NoError(t, err)
			var explicit asn1.RawValue
			_, err = asn1.Unmarshal(rest, &explicit)
			require.NoError(t, err)
			var v string
			_, err = asn1.UnmarshalWithParams(explicit.Bytes, &v, "utf8")
			require.NoError(t, err)
			out[oid.String()] = v
		}
		return out
	}
	t.Fatal("no subjectAltName")
	return nil
}

func TestFifthBirthday(t *testing.T) {
	birth := time.Date(1985, 4, 12, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct{ issued, want string }{
		{"2024-01-10", "2028-04-12"}, // birthday later this year
		{"2024-04-12", "2029-04-12"}, // on the birthday: the next one counts
		{"2024-06-01", "2029-04-12"},
	} {
		issued, _ := time.Parse(time.DateOnly, tc.issued)
		assert.Equal(t, tc.want, fifthBirthday(birth, issued).Format(time.DateOnly), tc.issued)
	}
}

func TestOpenGeneratesProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "face.json")
	c, err := Open(path, Options{Profile: Profile{Expired: true, FaceAuth: true}})
	require.NoError(t, err)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "state file holds keys")

	auth, err := x509.ParseCertificate(c.Certificates().AuthCert)
	require.NoError(t, err)
	assert.True(t, auth.NotAfter.Before(time.Now()), "expired")
	assert.Nil(t, c.Certificates().SignCert, "face-auth card has no sign cert")
	assert.Equal(t, 0, c.TriesLeft(1))
	assert.Equal(t, 0, c.TriesLeft(2))
	require.NoError(t, c.AdminReset())
	assert.Equal(t, 0, c.TriesLeft(1), "no PIN to unlock on a face-auth card")
	runSteps(t, c, []step{{selJPKI, "9000"}, {selAuthPIN, "9000"}, {query, "63C0"}, {verifyAuth, "6984"},
		{"00A4020C020008", "9000"}, {"00B0000003", "=008F009000"}})

	again, err := Open(path, Options{})
	require.NoError(t, err)
	assert.Equal(t, c.Certificates(), again.Certificates(), "reopened, not regenerated")
}

func TestNoSignCertVariants(t *testing.T) {
	noSign := func(st *state) { st.SignCert = nil; st.Profile.NoSignCert = true }
	for _, tc := range []struct {
		name  string
		ef    NoSignCertEF
		steps []step
	}{
		{"filler", SignEFFiller, []step{{"00A4020C020001", "9000"}, {"00B0000004", "=FFFFFFFF9000"}}},
		{"absent", SignEFAbsent, []step{{"00A4020C020001", "6A82"}}},
		{"empty", SignEFEmpty, []step{{"00A4020C020001", "9000"}, {"00B0000004", "6B00"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := baseState(t)
			noSign(st)
			st.Quirks.NoSignCertEF = tc.ef
			c, err := newCard(st, Options{}, nil)
			require.NoError(t, err)
			runSteps(t, c, append([]step{{selJPKI, "9000"}, {selSignPIN, "9000"}, {verifySign, "9000"}}, tc.steps...))
		})
	}
}

func TestLockoutSurvivesReopen(t *testing.T) {
	path := newTestFile(t, nil)
	c, err := Open(path, Options{})
	require.NoError(t, err)
	runSteps(t, c, []step{{selJPKI, "9000"}, {selAuthPIN, "9000"}, {wrongAuth, "63C2"}, {wrongAuth, "63C1"}, {wrongAuth, "63C0"}})

	c2, err := Open(path, Options{})
	require.NoError(t, err)
	assert.Equal(t, 0, c2.TriesLeft(1))
	runSteps(t, c2, []step{{selJPKI, "9000"}, {selAuthPIN, "9000"}, {verifyAuth, "6984"}, {query, "63C0"}})

	require.NoError(t, c2.AdminReset())
	c3, err := Open(path, Options{})
	require.NoError(t, err)
	assert.Equal(t, AuthMaxTries, c3.TriesLeft(1))
	assert.Equal(t, SignMaxTries, c3.TriesLeft(2))
}

func TestPINChangePersists(t *testing.T) {
	path := newTestFile(t, nil)
	c, err := Open(path, Options{})
	require.NoError(t, err)
	runSteps(t, c, []step{{selJPKI, "9000"}, {selSignPIN, "9000"}, {verifySign, "9000"}, {"002401800A" + "4E45575041535331323334", "9000"}})
	c2, err := Open(path, Options{})
	require.NoError(t, err)
	runSteps(t, c2, []step{{selJPKI, "9000"}, {selSignPIN, "9000"}, {verifySign, "63C4"}, {"002000800A" + "4E45575041535331323334", "9000"}})
}

// Two Cards on one file behave like two processes sharing the state.
func TestReloadAcrossProcesses(t *testing.T) {
	path := newTestFile(t, nil)
	a, err := Open(path, Options{})
	require.NoError(t, err)
	b, err := Open(path, Options{})
	require.NoError(t, err)
	runSteps(t, a, []step{{selJPKI, "9000"}, {selSignPIN, "9000"}, {wrongSign, "63C4"}})
	assert.Equal(t, 4, b.TriesLeft(2))
	runSteps(t, b, []step{{selJPKI, "9000"}, {selSignPIN, "9000"}, {query, "63C4"}, {wrongSign, "63C3"}})
	runSteps(t, a, []step{{query, "63C3"}})

	// Concurrent wrong PINs from both never lose an update.
	var wg sync.WaitGroup
	for _, c := range []*Card{a, b} {
		wg.Add(1)
		go func(c *Card) {
			defer wg.Done()
			c.Process(h(wrongSign))
		}(c)
	}
	wg.Wait()
	assert.Equal(t, 1, a.TriesLeft(2))
	assert.Equal(t, 1, b.TriesLeft(2))

	// A quirk set by one process applies in the other.
	require.NoError(t, a.SetQuirks(Quirks{BlockedQuerySW: 0x6984}))
	assert.Equal(t, "63C0", tx(t, b, wrongSign))
	assert.Equal(t, "6984", tx(t, b, query))
}

func TestOpenRejectsBadFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte("{not json"), 0o600))
	_, err := Open(bad, Options{})
	assert.ErrorContains(t, err, "not valid JSON")

	old := filepath.Join(dir, "old.json")
	require.NoError(t, os.WriteFile(old, []byte(`{"version": 99}`), 0o600))
	_, err = Open(old, Options{})
	assert.ErrorContains(t, err, "myna-sim --init")
}

func TestCloneAndSaveAs(t *testing.T) {
	c := newTestCard(t, Quirks{})
	runSteps(t, c, []step{{selJPKI, "9000"}, {selAuthPIN, "9000"}, {wrongAuth, "63C2"}})
	cl, err := c.Clone()
	require.NoError(t, err)
	assert.Equal(t, 2, cl.TriesLeft(1))
	assert.Equal(t, "6A82", tx(t, cl, selAuthKey), "the clone is freshly powered on")

	path := filepath.Join(t.TempDir(), "saved.json")
	require.NoError(t, c.SaveAs(path))
	opened, err := Open(path, Options{})
	require.NoError(t, err)
	assert.Equal(t, 2, opened.TriesLeft(1))
	assert.Equal(t, c.Certificates(), opened.Certificates())
	assert.Equal(t, path, opened.Path())
	assert.Equal(t, "", c.Path())
}
