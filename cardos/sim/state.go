package sim

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
)

// stateVersion is the format version of the state file.
const stateVersion = 1

// state is the card's persistent (EEPROM) memory: what survives a power
// cycle and is stored in the state file.
type state struct {
	Version int     `json:"version"`
	Profile Profile `json:"profile"`
	Quirks  Quirks  `json:"quirks"`
	// PIN values and retry counters. A counter of 0 is a blocked PIN.
	AuthPIN   string `json:"auth_pin"`
	SignPIN   string `json:"sign_pin"`
	AuthTries int    `json:"auth_tries"`
	SignTries int    `json:"sign_tries"`
	// Keys are PKCS#8 DER, certificates DER. SignCert is empty on a card
	// without a signature certificate.
	AuthKey  []byte `json:"auth_key_pkcs8"`
	SignKey  []byte `json:"sign_key_pkcs8"`
	AuthCert []byte `json:"auth_cert"`
	AuthCA   []byte `json:"auth_ca_cert"`
	SignCert []byte `json:"sign_cert,omitempty"`
	SignCA   []byte `json:"sign_ca_cert"`
	// Other is the memory of the applets beside the JPKI AP (applets.go);
	// absent in files written before they were modelled.
	Other *otherState `json:"other_applets,omitempty"`
}

// keys holds the parsed private keys of a state.
type keys struct {
	auth, sign *rsa.PrivateKey
}

func (s *state) clone() *state {
	c := *s
	if s.Other != nil {
		c.Other = s.Other.clone()
	}
	return &c
}

func (s *state) validate() error {
	if s.Version != stateVersion {
		return fmt.Errorf("state version %d, this simulator reads version %d: re-create the file with myna-sim --init", s.Version, stateVersion)
	}
	if len(s.AuthKey) == 0 || len(s.SignKey) == 0 || len(s.AuthCert) == 0 || len(s.AuthCA) == 0 || len(s.SignCA) == 0 {
		return errors.New("state lacks keys or certificates: re-create the file with myna-sim --init")
	}
	if s.AuthTries < 0 || s.AuthTries > AuthMaxTries || s.SignTries < 0 || s.SignTries > s.Quirks.maxTries(2) {
		return fmt.Errorf("retry counters %d/%d out of range", s.AuthTries, s.SignTries)
	}
	return nil
}

func (s *state) parseKeys() (keys, error) {
	a, err := parseRSAKey(s.AuthKey)
	if err != nil {
		return keys{}, fmt.Errorf("auth key: %w", err)
	}
	g, err := parseRSAKey(s.SignKey)
	if err != nil {
		return keys{}, fmt.Errorf("sign key: %w", err)
	}
	return keys{auth: a, sign: g}, nil
}

func parseRSAKey(der []byte) (*rsa.PrivateKey, error) {
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("key is %T, want RSA", k)
	}
	return rk, nil
}

func marshalState(s *state) ([]byte, error) {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func unmarshalState(b []byte) (*state, error) {
	var s state
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("state file is not valid JSON: %w", err)
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	if s.Other == nil { // a file from before the other applets: same defaults as a new card
		cert, err := x509.ParseCertificate(s.AuthCert)
		if err != nil {
			return nil, fmt.Errorf("auth certificate: %w", err)
		}
		s.Other = defaultOther(s.AuthPIN, cert.NotAfter)
		s.resetOtherTries()
	}
	if s.Other.Tries == nil {
		s.Other.Tries = map[string]int{}
	}
	if err := s.validateOther(); err != nil {
		return nil, err
	}
	return &s, nil
}
