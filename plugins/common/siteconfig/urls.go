package siteconfig

import (
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"

	"github.com/qliksense-license/qliksense-license/internal/redact"
)

// Where each URL's credentials belong instead of the URL, which is printed in logs, errors
// and the reload records (a user name or password in it reached Telegraf's log, the
// forecast command's output and the audit log).
const (
	serverCredentials = `QRS takes none in the URL: it authenticates with auth = "certificate" (tls_cert, tls_key), ` +
		`"header" (header_name, header_user) or "jwt" (jwt or jwt_file, a secret)`
	forecastCredentials = `put them in forecast.username and forecast.password, or forecast.token: secrets ("${ENV}" or "@{store:key}")`
	outputCredentials   = `put them in release.output.token ("user:password" for InfluxDB 1.8, the token for 2.x): ` +
		`a secret ("${ENV}" or "@{store:key}")`
	tenantCredentials = `Qlik Cloud takes them in api_key, or oauth_client_id and oauth_client_secret: secrets ("${ENV}" or "@{store:key}")`
	mailCredentials   = `put them in release.mail.username and release.mail.password (a secret: "${ENV}" or "@{store:key}")`
)

// checkURL validates the URL of key: one of schemes, a host, no user name or password (they
// belong in the keys credentials names) and no query string or fragment (a secret would
// hide there as well, and nothing reads them). Errors name the key and show the URL with
// anything secret masked, never as given.
func checkURL(key, raw, expected, credentials string, schemes ...string) (*url.URL, error) {
	shown := redact.URL(raw)
	if redact.HasCredentials(raw) {
		return nil, fmt.Errorf("%s = %q: a user name or password in the URL would reach logs and errors; %s", key, shown, credentials)
	}
	u, err := url.Parse(raw)
	if err != nil || !slices.Contains(schemes, u.Scheme) || u.Host == "" || u.Opaque != "" {
		return nil, fmt.Errorf("%s = %q: expected %s", key, shown, expected)
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return nil, fmt.Errorf("%s = %q: expected %s, without a query string or fragment (credentials: %s)", key, shown, expected, credentials)
	}
	return u, nil
}

// checkHost validates the host name of key (release.mail.host): no user name or password,
// no scheme, path or port; an IPv6 address in brackets ("[2001:db8::25]").
func checkHost(key, host, credentials string) error {
	shown := redact.URL(host)
	if redact.HasCredentials(host) {
		return fmt.Errorf("%s = %q: a user name or password here would reach logs and errors; %s", key, shown, credentials)
	}
	onlyHost := fmt.Errorf("%s = %q: expected a host name or address only (the port goes in release.mail.port, the TLS mode in release.mail.tls)", key, shown)
	if strings.ContainsAny(host, "/?#@ \t") {
		return onlyHost
	}
	// The SMTP client joins host and port as host + ":" + port: an IPv6 address needs its
	// brackets, and anything else with a colon holds a port.
	if inner, ok := strings.CutPrefix(host, "["); ok {
		inner, ok = strings.CutSuffix(inner, "]")
		if a, err := netip.ParseAddr(inner); !ok || err != nil || !a.Is6() {
			return onlyHost
		}
		return nil
	}
	if strings.Contains(host, ":") {
		if a, err := netip.ParseAddr(host); err == nil && a.Is6() {
			return fmt.Errorf("%s = %q: an IPv6 address goes in brackets: %q", key, shown, "["+host+"]")
		}
		return onlyHost
	}
	return nil
}
