package qcloudemu

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/qliksense-license/qliksense-license/emulators/internal/emukit"
)

// CAFile is the test CA a client trusts (tls_ca, NODE_EXTRA_CA_CERTS), written into the
// certificate folder.
const CAFile = "ca.pem"

// newTLS creates a test CA and a server certificate for 127.0.0.1, localhost and hosts,
// writes the CA to dir/ca.pem (when dir is not "") and returns the server's TLS
// configuration and the CA's PEM.
func newTLS(dir string, hosts []string) (*tls.Config, []byte, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	ca := emukit.Template("qlik-cloud-emulator test CA", big.NewInt(1), now)
	ca.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	caDER, caCert, err := emukit.SelfSign(ca, caKey)
	if err != nil {
		return nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	leaf := emukit.Template("qlik-cloud-emulator", big.NewInt(2), now)
	leaf.KeyUsage, leaf.ExtKeyUsage = x509.KeyUsageDigitalSignature, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	leafDER, err := emukit.Issue(leaf, emukit.ServerNames(hosts), caCert, caKey, &key.PublicKey)
	if err != nil {
		return nil, nil, err
	}
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, nil, err
		}
		if err := emukit.WritePEM(filepath.Join(dir, CAFile), "CERTIFICATE", caDER, 0o644); err != nil {
			return nil, nil, fmt.Errorf("writing the test CA: %w", err)
		}
	}
	cert := tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: key}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, caPEM, nil
}
