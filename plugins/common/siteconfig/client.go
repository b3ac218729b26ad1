package siteconfig

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"runtime"
	"time"

	commontls "github.com/influxdata/telegraf/plugins/common/tls"
	"go.step.sm/crypto/pemutil"

	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
)

// Warnf receives the warnings of NewClient (a plugin's Log.Warnf, the sidecar's slog).
type Warnf func(format string, args ...any)

// NewClient builds the QRS client of a validated Config. It does not contact QRS. It warns
// when certificate verification is off and when the private key is readable by others.
func (c *Config) NewClient(warn Warnf) (*qrs.Client, error) {
	if c.IsTenant() {
		return nil, fmt.Errorf("tenant = %q is a Qlik Cloud tenant, which has no QRS: this command does not serve tenants yet", c.Tenant)
	}
	tlsCfg, err := c.TLSConfig()
	if err != nil {
		return nil, err
	}
	if warn == nil {
		warn = func(string, ...any) {}
	}
	if c.InsecureSkipVerify {
		warn("insecure_skip_verify is on: the certificate of %s is not verified", c.Server)
	}
	if c.TLSKey != "" && runtime.GOOS != "windows" {
		if fi, err := os.Stat(c.TLSKey); err == nil && fi.Mode().Perm()&0o077 != 0 {
			warn("private key %s is readable by other users (mode %s); restrict it to the service account", c.TLSKey, fi.Mode().Perm())
		}
	}
	cfg := qrs.Config{
		Server: c.Server, VirtualProxy: c.VirtualProxy, Auth: qrs.AuthMode(c.Auth), User: c.QlikUser,
		HeaderName: c.HeaderName, HeaderValue: c.HeaderUser, TLS: tlsCfg,
		Timeout: time.Duration(c.Timeout), MaxRetries: c.MaxRetries,
	}
	if c.MaxRetries == 0 {
		cfg.MaxRetries = -1
	}
	if c.Auth == string(qrs.AuthJWT) {
		cfg.Token = c.token
	}
	client, err := qrs.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating the QRS client: %w", err)
	}
	return client, nil
}

// TLSConfig is the TLS configuration towards QRS (see ClientTLS).
func (c *Config) TLSConfig() (*tls.Config, error) {
	cfg, err := ClientTLS(c.ClientConfig)
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

// ClientTLS is the one way every outgoing connection gets its TLS configuration — QRS,
// the SMTP server, InfluxDB: Telegraf's client TLS settings (tls_ca, tls_cert, tls_key,
// tls_key_pwd, tls_server_name, tls_min_version, ciphers, renegotiation,
// insecure_skip_verify) with the client certificate loaded here, so that its key may be
// encrypted with tls_key_pwd as PKCS#8 (what Telegraf reads) or as a legacy PEM block with
// a DEK-Info header (what OpenSSL's traditional format and older exports write, which
// Telegraf refuses). Without any setting: the system roots, TLS 1.2 at least. Errors name
// the key (without the table's prefix, which the caller adds).
func ClientTLS(cc commontls.ClientConfig) (*tls.Config, error) {
	if cc.Enable != nil && !*cc.Enable {
		// Telegraf would then drop tls_ca, tls_server_name and insecure_skip_verify
		// silently while the connection still used TLS.
		return nil, errors.New("tls_enable = false: leave it unset; the URL's scheme decides whether TLS is used (http:// for none)")
	}
	if cc.TLSCA != "" { // named as before Telegraf's settings, for a clear error
		if _, err := os.ReadFile(cc.TLSCA); err != nil {
			return nil, fmt.Errorf("reading CA certificate: %w", err)
		}
	}
	cert, key, pwd := cc.TLSCert, cc.TLSKey, cc.TLSKeyPwd
	cc.TLSCert, cc.TLSKey, cc.TLSKeyPwd = "", "", ""
	cfg, err := cc.TLSConfig()
	if err != nil {
		return nil, fmt.Errorf("TLS settings: %w", err)
	}
	if cfg == nil {
		// Nothing Telegraf counts (no CA, no server name, verification on): the system
		// roots, as for a proxy with a public certificate — with the least version and the
		// ciphers still honoured, which Telegraf would drop here.
		cfg = &tls.Config{MinVersion: commontls.TLSMinVersionDefault}
		if cc.TLSMinVersion != "" {
			if cfg.MinVersion, err = commontls.ParseTLSVersion(cc.TLSMinVersion); err != nil {
				return nil, fmt.Errorf("TLS settings: tls_min_version = %q: %w", cc.TLSMinVersion, err)
			}
		}
		if len(cc.TLSCipherSuites) > 0 {
			if cfg.CipherSuites, err = commontls.ParseCiphers(cc.TLSCipherSuites); err != nil {
				return nil, fmt.Errorf("TLS settings: tls_cipher_suites: %w", err)
			}
		}
	}
	switch {
	case cert != "" && key != "":
		pair, err := loadKeyPair(cert, key, pwd)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{pair}
	case cert != "" || key != "":
		return nil, errors.New("a client certificate needs both tls_cert and tls_key")
	}
	return cfg, nil
}

// loadKeyPair loads a certificate and its key, decrypting the key with pwd when it is
// encrypted. Errors name the file, never the password.
func loadKeyPair(certFile, keyFile, pwd string) (tls.Certificate, error) {
	failed := func(err error) (tls.Certificate, error) {
		return tls.Certificate{}, fmt.Errorf("loading client certificate %q with key %q: %w", certFile, keyFile, err)
	}
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return failed(err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return failed(err)
	}
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return tls.Certificate{}, fmt.Errorf("tls_key %q: no PEM block", keyFile)
	}
	encrypted := block.Type == "ENCRYPTED PRIVATE KEY" || block.Headers["Proc-Type"] == "4,ENCRYPTED"
	switch {
	case encrypted && pwd == "":
		return tls.Certificate{}, fmt.Errorf("tls_key %q is encrypted: set tls_key_pwd", keyFile)
	case block.Type == "ENCRYPTED PRIVATE KEY":
		der, err := pemutil.DecryptPKCS8PrivateKey(block.Bytes, []byte(pwd))
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("tls_key %q: tls_key_pwd does not decrypt this PKCS#8 key", keyFile)
		}
		keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	case encrypted:
		//lint:ignore SA1019 legacy encrypted PEM keys are what some exports are; decrypting is all we do
		der, err := x509.DecryptPEMBlock(block, []byte(pwd)) //nolint:staticcheck // see above
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("tls_key %q: tls_key_pwd does not decrypt this key", keyFile)
		}
		keyPEM = pem.EncodeToMemory(&pem.Block{Type: block.Type, Bytes: der})
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return failed(err)
	}
	return pair, nil
}
