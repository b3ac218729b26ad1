package emulator

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/qliksense-license/qliksense-license/emulators/internal/emukit"
)

// File names of a certificate folder, as the QMC exports them ("Export certificates",
// PEM format with the secret key), plus the emulator's own server and JWT keys.
const (
	RootFile      = "root.pem"
	RootKeyFile   = "root_key.pem"
	ClientFile    = "client.pem"
	ClientKeyFile = "client_key.pem"
	ServerFile    = "server.pem"
	ServerKeyFile = "server_key.pem"
	JWTKeyFile    = "jwt_key.pem"
	JWTPublicFile = "jwt_public.pem"
)

// Certificates is a site's certificate set.
type Certificates struct {
	Dir    string
	Roots  *x509.CertPool
	Server tls.Certificate
	JWTKey *rsa.PrivateKey
}

// LoadOrCreateCertificates loads the certificate folder dir, creating a new root CA,
// server, client and JWT keys there first if root.pem is missing. hosts are the server
// certificate's names (127.0.0.1 and localhost are always included).
func LoadOrCreateCertificates(dir string, hosts ...string) (*Certificates, error) {
	if _, err := os.Stat(filepath.Join(dir, RootFile)); errors.Is(err, os.ErrNotExist) {
		if err := CreateCertificates(dir, hosts...); err != nil {
			return nil, err
		}
	}
	return LoadCertificates(dir)
}

// LoadCertificates reads a folder written by CreateCertificates.
func LoadCertificates(dir string) (*Certificates, error) {
	rootPEM, err := os.ReadFile(filepath.Join(dir, RootFile))
	if err != nil {
		return nil, fmt.Errorf("reading root certificate: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(rootPEM) {
		return nil, fmt.Errorf("no certificate in %s", filepath.Join(dir, RootFile))
	}
	server, err := tls.LoadX509KeyPair(filepath.Join(dir, ServerFile), filepath.Join(dir, ServerKeyFile))
	if err != nil {
		return nil, fmt.Errorf("loading server certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, JWTKeyFile))
	if err != nil {
		return nil, fmt.Errorf("reading JWT key: %w", err)
	}
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return nil, fmt.Errorf("no PEM block in %s", filepath.Join(dir, JWTKeyFile))
	}
	jwtKey, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parsing JWT key: %w", err)
	}
	return &Certificates{Dir: dir, Roots: pool, Server: server, JWTKey: jwtKey}, nil
}

// CreateCertificates writes a new self-signed root CA and, signed by it, a server
// certificate and a client certificate (CN QlikClient, as the QMC issues), in Qlik's PEM
// layout: RSA keys in PKCS#1 ("BEGIN RSA PRIVATE KEY"). It also writes an RSA key pair for
// the JWT virtual proxy.
func CreateCertificates(dir string, hosts ...string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating certificate folder: %w", err)
	}
	now := time.Now()
	rootKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	rootTmpl := emukit.Template("qrs-emulator-CA", serial(), now)
	rootTmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
	rootDER, root, err := emukit.SelfSign(rootTmpl, rootKey)
	if err != nil {
		return fmt.Errorf("creating root certificate: %w", err)
	}

	issue := func(cn string, usage x509.ExtKeyUsage, names []string) ([]byte, *rsa.PrivateKey, error) {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, nil, err
		}
		tmpl := emukit.Template(cn, serial(), now)
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{usage}
		der, err := emukit.Issue(tmpl, names, root, rootKey, &key.PublicKey)
		return der, key, err
	}
	serverDER, serverKey, err := issue("localhost", x509.ExtKeyUsageServerAuth, emukit.ServerNames(hosts))
	if err != nil {
		return fmt.Errorf("creating server certificate: %w", err)
	}
	clientDER, clientKey, err := issue("QlikClient", x509.ExtKeyUsageClientAuth, nil)
	if err != nil {
		return fmt.Errorf("creating client certificate: %w", err)
	}
	jwtKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	jwtPub, err := x509.MarshalPKIXPublicKey(&jwtKey.PublicKey)
	if err != nil {
		return err
	}
	files := []struct {
		name, typ string
		der       []byte
		mode      os.FileMode
	}{
		{RootFile, "CERTIFICATE", rootDER, 0o644},
		{RootKeyFile, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rootKey), 0o600},
		{ServerFile, "CERTIFICATE", serverDER, 0o644},
		{ServerKeyFile, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(serverKey), 0o600},
		{ClientFile, "CERTIFICATE", clientDER, 0o644},
		{ClientKeyFile, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(clientKey), 0o600},
		{JWTKeyFile, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(jwtKey), 0o600},
		{JWTPublicFile, "PUBLIC KEY", jwtPub, 0o644},
	}
	for _, f := range files {
		if err := emukit.WritePEM(filepath.Join(dir, f.name), f.typ, f.der, f.mode); err != nil {
			return fmt.Errorf("writing %s: %w", f.name, err)
		}
	}
	return nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return n
}
