package siteconfig

import (
	"errors"
	"fmt"
	"github.com/qliksense-license/qliksense-license/internal/redact"
	"strings"
	"time"

	"github.com/influxdata/telegraf/config"

	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/plugins/common/qcloud"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
)

// A Qlik Cloud tenant is configured in the same [[inputs.qliksense_license]] table as a
// site, with tenant instead of server:
//
//	tenant              = "https://NAME.REGION.qlikcloud.com"
//	api_key             = "@{secretstore:qlik_api_key}"   # or:
//	oauth_client_id     = "…"
//	oauth_client_secret = "@{secretstore:qlik_oauth}"
//
// Telegraf's TLS keys apply (tls_ca for a proxy or a test tenant). The keys of a site's
// connection have no meaning for a tenant and are refused by name.

// IsTenant reports whether the table is a Qlik Cloud tenant (tenant, api_key or an OAuth
// client is set) rather than a Qlik Sense site.
func (c *Config) IsTenant() bool {
	return c.Tenant != "" || !c.APIKey.Empty() || c.OAuthClientID != "" || !c.OAuthClientSecret.Empty()
}

// TenantAuth is how a tenant is authenticated.
type TenantAuth string

// The authentication modes of a tenant.
const (
	TenantAPIKey TenantAuth = "api_key" // Authorization: Bearer <api_key>
	TenantOAuth  TenantAuth = "oauth"   // client credentials at /oauth/token
)

// TenantAuthMode is the authentication mode of a validated tenant.
func (c *Config) TenantAuthMode() TenantAuth {
	if c.OAuthClientID != "" {
		return TenantOAuth
	}
	return TenantAPIKey
}

// validateTenant checks the table of a tenant. Errors name the key and what is expected.
func (c *Config) validateTenant() error {
	if c.Tenant == "" {
		return errors.New(`"tenant" is required with api_key or oauth_client_id, e.g. "https://NAME.REGION.qlikcloud.com"`)
	}
	if c.Server != "" {
		return errors.New(`"server" and "tenant" are both set: a table is a Qlik Sense site (server) or a Qlik Cloud tenant (tenant); give each its own [[inputs.qliksense_license]] table`)
	}
	const expected = `"https://NAME.REGION.qlikcloud.com" without a path`
	u, err := checkURL("tenant", c.Tenant, expected, tenantCredentials, "https")
	if err != nil {
		return err
	}
	if u.Path != "" && u.Path != "/" {
		return fmt.Errorf("tenant = %q: expected %s", redact.URL(c.Tenant), expected)
	}
	c.Tenant = strings.TrimSuffix(c.Tenant, "/")
	if c.Site == "" {
		c.Site = u.Hostname()
	}
	switch {
	case c.APIKey.Empty() && c.OAuthClientID == "" && c.OAuthClientSecret.Empty():
		return errors.New(`tenant needs api_key (an API key of a user who may manage licenses) or oauth_client_id and oauth_client_secret (an OAuth machine-to-machine client)`)
	case !c.APIKey.Empty() && (c.OAuthClientID != "" || !c.OAuthClientSecret.Empty()):
		return errors.New(`api_key and oauth_client_id/oauth_client_secret are both set: give one way to authenticate`)
	case c.OAuthClientID != "" && c.OAuthClientSecret.Empty():
		return errors.New(`oauth_client_id needs oauth_client_secret`)
	case c.OAuthClientID == "" && !c.OAuthClientSecret.Empty():
		return errors.New(`oauth_client_secret needs oauth_client_id`)
	}
	for _, k := range []struct {
		key string
		set bool
	}{
		{"auth", c.Auth != "" && c.Auth != string(qrs.AuthCertificate)},
		{"qlik_user", c.QlikUser != ""},
		{"virtual_proxy", c.VirtualProxy != ""},
		{"header_name", c.HeaderName != ""},
		{"header_user", c.HeaderUser != ""},
		{"jwt", !c.JWT.Empty()},
		{"jwt_file", c.JWTFile != ""},
		{"allocation_details", c.AllocationDetails},
		{"rightsize", c.Rightsize != nil},
	} {
		if k.set {
			return fmt.Errorf("%s has no meaning for a Qlik Cloud tenant (tenant = %q): remove it", k.key, c.Tenant)
		}
	}
	if c.Enable != nil && !*c.Enable {
		return errors.New("tls_enable = false: Qlik Cloud answers over HTTPS only")
	}
	if c.TLSKeyPwd != "" && c.TLSKey == "" {
		return errors.New("tls_key_pwd is set without tls_key")
	}
	if c.Release != nil {
		if _, err := policy.CompileTenant(&c.Release.Config); err != nil {
			return err
		}
	}
	return c.validateCommon()
}

// CompilePolicy compiles the release table's policy for what the table is: a site's
// (policy.Compile) or a tenant's (policy.CompileTenant). Nil without a release table.
func (c *Config) CompilePolicy() (*policy.Policy, error) {
	if c.Release == nil {
		return nil, nil
	}
	if c.IsTenant() {
		return policy.CompileTenant(&c.Release.Config)
	}
	return policy.Compile(&c.Release.Config)
}

// NewTenantClient builds the Qlik Cloud client of a validated tenant table. It does not
// contact the tenant. The API key or the OAuth client secret is read from its secret store
// here, once; it never reaches a log or an error.
func (c *Config) NewTenantClient(warn Warnf) (*qcloud.Client, error) {
	tlsCfg, err := c.TLSConfig()
	if err != nil {
		return nil, err
	}
	if warn != nil && c.InsecureSkipVerify {
		warn("insecure_skip_verify is on: the certificate of %s is not verified", c.Tenant)
	}
	cfg := qcloud.Config{Tenant: c.Tenant, TLS: tlsCfg, Timeout: time.Duration(c.Timeout), Retries: c.MaxRetries}
	if c.MaxRetries == 0 {
		cfg.Retries = -1
	}
	read := func(key string, s config.Secret) (string, error) {
		buf, err := s.Get()
		if err != nil {
			return "", fmt.Errorf("reading %s: %w", key, err)
		}
		defer buf.Destroy()
		return strings.TrimSpace(buf.String()), nil
	}
	if c.TenantAuthMode() == TenantOAuth {
		cfg.OAuthClientID = c.OAuthClientID
		if cfg.OAuthClientSecret, err = read("oauth_client_secret", c.OAuthClientSecret); err != nil {
			return nil, err
		}
	} else if cfg.APIKey, err = read("api_key", c.APIKey); err != nil {
		return nil, err
	}
	client, err := qcloud.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating the Qlik Cloud client: %w", err)
	}
	return client, nil
}
