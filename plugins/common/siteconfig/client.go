package siteconfig

import (
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
)

// Warnf receives the warnings of NewClient (a plugin's Log.Warnf, the sidecar's slog).
type Warnf func(format string, args ...any)

// NewClient builds the QRS client of a validated Config. It does not contact QRS. It warns
// when certificate verification is off and when the private key is readable by others.
func (c *Config) NewClient(warn Warnf) (*qrs.Client, error) {
	tlsCfg, err := qrs.TLSFiles{
		CA: c.TLSCA, Cert: c.TLSCert, Key: c.TLSKey, ServerName: c.TLSServerName, InsecureSkipVerify: c.InsecureSkipVerify,
	}.Config()
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
