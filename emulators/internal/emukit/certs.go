package emukit

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"time"
)

// validYears is how long the emulators' test certificates last.
const validYears = 5

// Template starts a test certificate named cn: valid from an hour before now for five
// years. The caller adds its key usages (and IsCA for a CA).
func Template(cn string, serial *big.Int, now time.Time) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(validYears, 0, 0),
	}
}

// SelfSign makes tmpl a CA and signs it with key, returning the certificate's DER and
// the parsed certificate to issue others with.
func SelfSign(tmpl *x509.Certificate, key crypto.Signer) ([]byte, *x509.Certificate, error) {
	tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, err
	}
	ca, err := x509.ParseCertificate(der)
	return der, ca, err
}

// Issue signs tmpl for pub with the CA, naming it names: IP addresses as IP SANs, the
// rest as DNS names.
func Issue(tmpl *x509.Certificate, names []string, ca *x509.Certificate, caKey crypto.Signer, pub any) ([]byte, error) {
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	return x509.CreateCertificate(rand.Reader, tmpl, ca, pub, caKey)
}

// ServerNames are the names of a test server certificate: 127.0.0.1, ::1, localhost and
// hosts.
func ServerNames(hosts []string) []string {
	return append([]string{"127.0.0.1", "::1", "localhost"}, hosts...)
}

// WritePEM writes der as one PEM block of type typ to path.
func WritePEM(path, typ string, der []byte, mode os.FileMode) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode)
}
