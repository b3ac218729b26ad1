// Package siteconfig is the configuration of one Qlik Sense site: the
// [[inputs.qliksense_license]] table that the Telegraf plugin and the release sidecar both
// read from the same file, with its release sub-table. It owns the schema, the strict
// loader, validation with its exact messages, secrets, TLS files and the construction of
// the QRS client. It imports only the QRS client and Telegraf's configuration types; the
// plugin, the policy and the sidecar import it.
package siteconfig

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/influxdata/telegraf/config"
	commontls "github.com/influxdata/telegraf/plugins/common/tls"

	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
)

// PluginName is the plugin's name in [[inputs.NAME]].
const PluginName = "qliksense_license"

// DefaultInactivityBuckets are the default edges, in days, of the inactivity buckets.
var DefaultInactivityBuckets = []int{7, 14, 30, 60, 90, 180, 365}

// Config is one [[inputs.qliksense_license]] table: a site's connection, what the plugin
// reports and, optionally, its release policy and the sidecar's settings.
type Config struct {
	Site   string `toml:"site"`
	Server string `toml:"server"`
	// Tenant is a Qlik Cloud tenant, "https://NAME.REGION.qlikcloud.com", instead of a
	// site's server (see tenant.go for its keys).
	Tenant            string           `toml:"tenant"`
	APIKey            config.Secret    `toml:"api_key"`
	OAuthClientID     string           `toml:"oauth_client_id"`
	OAuthClientSecret config.Secret    `toml:"oauth_client_secret"`
	Auth              string           `toml:"auth"`
	QlikUser          string           `toml:"qlik_user"`
	VirtualProxy      string           `toml:"virtual_proxy"`
	HeaderName        string           `toml:"header_name"`
	HeaderUser        string           `toml:"header_user"`
	JWT               config.Secret    `toml:"jwt"`
	JWTFile           string           `toml:"jwt_file"`
	Timeout           config.Duration  `toml:"timeout"`
	MaxRetries        int              `toml:"max_retries"`
	InactivityBuckets []int            `toml:"inactivity_buckets"`
	AllocationDetails bool             `toml:"allocation_details"`
	Release           *ReleaseConfig   `toml:"release"`
	Rightsize         *RightsizeConfig `toml:"rightsize"`
	Forecast          *ForecastConfig  `toml:"forecast"`
	Report            *ReportConfig    `toml:"report"`

	// Telegraf's own TLS settings, with their keys and meaning: tls_ca, tls_cert, tls_key,
	// tls_key_pwd, tls_server_name, tls_min_version, tls_cipher_suites,
	// tls_renegotiation_method, insecure_skip_verify, tls_enable.
	commontls.ClientConfig
}

// Defaults returns a Config with the defaults of the keys that have one, before a file is
// decoded over it.
func Defaults() Config {
	return Config{
		Auth:       string(qrs.AuthCertificate),
		Timeout:    config.Duration(60 * time.Second),
		MaxRetries: 3,
	}
}

// Validate checks every setting of the table (the release policy is checked by
// policy.Compile, the sidecar's keys by Sidecar) and fills in the derived defaults: site
// from the server's host name, the inactivity buckets. Errors name the key and what is
// expected.
func (c *Config) Validate() error {
	if c.IsTenant() {
		return c.validateTenant()
	}
	if c.Server == "" {
		return errors.New(`"server" (a Qlik Sense site) or "tenant" (a Qlik Cloud tenant) is required, e.g. "https://qlik.example.com:4242"`)
	}
	const expected = `"https://HOST[:PORT]" without a path (put a virtual proxy prefix in virtual_proxy)`
	u, err := checkURL("server", c.Server, expected, serverCredentials, "https")
	if err != nil {
		return err
	}
	if u.Path != "" && u.Path != "/" {
		return fmt.Errorf("server = %q: expected %s", c.Server, expected)
	}
	if c.Site == "" {
		c.Site = u.Hostname()
	}
	switch qrs.AuthMode(c.Auth) {
	case qrs.AuthCertificate:
		if c.TLSCert == "" || c.TLSKey == "" {
			return errors.New(`auth = "certificate" needs tls_cert and tls_key: client.pem and client_key.pem exported from the QMC`)
		}
	case qrs.AuthHeader:
		if c.HeaderName == "" || c.HeaderUser == "" {
			return errors.New(`auth = "header" needs header_name and header_user`)
		}
	case qrs.AuthJWT:
		if c.JWT.Empty() == (c.JWTFile == "") {
			return errors.New(`auth = "jwt" needs exactly one of jwt and jwt_file`)
		}
	default:
		return fmt.Errorf(`auth = %q: expected "certificate", "header" or "jwt"`, c.Auth)
	}
	if c.Auth != string(qrs.AuthCertificate) && c.QlikUser != "" {
		return fmt.Errorf(`qlik_user applies to auth = "certificate" only; through a virtual proxy the proxy names the user`)
	}
	if c.Auth != string(qrs.AuthHeader) && (c.HeaderName != "" || c.HeaderUser != "") {
		return errors.New(`header_name and header_user apply to auth = "header" only`)
	}
	if c.Auth != string(qrs.AuthJWT) && (!c.JWT.Empty() || c.JWTFile != "") {
		return errors.New(`jwt and jwt_file apply to auth = "jwt" only`)
	}
	if c.Enable != nil && !*c.Enable {
		return errors.New("tls_enable = false: QRS and its virtual proxies answer over HTTPS only")
	}
	if c.TLSKeyPwd != "" && c.TLSKey == "" {
		return errors.New("tls_key_pwd is set without tls_key")
	}
	if c.Auth == string(qrs.AuthCertificate) && c.VirtualProxy != "" {
		return errors.New(`virtual_proxy applies to auth = "header" or "jwt"; certificates go straight to QRS on port 4242`)
	}
	if c.QlikUser != "" && !strings.Contains(strings.ToLower(c.QlikUser), "userdirectory=") {
		return fmt.Errorf(`qlik_user = %q: expected "UserDirectory=DIRECTORY; UserId=USER"`, c.QlikUser)
	}
	return c.validateCommon()
}

// validateCommon checks the keys a site and a tenant share.
func (c *Config) validateCommon() error {
	if t := time.Duration(c.Timeout); t < time.Second || t > 10*time.Minute {
		return fmt.Errorf("timeout = %q: expected a duration from 1s to 10m", t)
	}
	if c.MaxRetries < 0 || c.MaxRetries > 10 {
		return fmt.Errorf("max_retries = %d: expected 0 to 10", c.MaxRetries)
	}
	if c.InactivityBuckets == nil {
		c.InactivityBuckets = slices.Clone(DefaultInactivityBuckets)
	}
	if len(c.InactivityBuckets) == 0 {
		return errors.New("inactivity_buckets is empty: give at least one edge in days, e.g. [30]")
	}
	for i, e := range c.InactivityBuckets {
		if e < 1 || (i > 0 && e <= c.InactivityBuckets[i-1]) {
			return fmt.Errorf("inactivity_buckets = %v: expected increasing day counts from 1", c.InactivityBuckets)
		}
	}
	if _, err := c.RightsizeSettings(); err != nil {
		return err
	}
	if _, err := c.ReportSettings(); err != nil {
		return err
	}
	return nil
}

// token returns the JWT for one request, from the secret or the file.
func (c *Config) token() (string, error) {
	if c.JWTFile != "" {
		b, err := os.ReadFile(c.JWTFile)
		if err != nil {
			return "", fmt.Errorf("reading jwt_file: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	buf, err := c.JWT.Get()
	if err != nil {
		return "", fmt.Errorf("reading jwt: %w", err)
	}
	defer buf.Destroy()
	return strings.TrimSpace(buf.String()), nil
}
