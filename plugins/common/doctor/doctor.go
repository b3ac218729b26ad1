// Package doctor is the connection doctor: it contacts a site step by step — the client
// certificate, TCP, TLS, QRS, the license, the acting user's rights — and says what works
// and what does not, each failure with its fix, before the first gather or release run
// meets it. The plugin binary (-test) and the sidecar (check-config -connect) both run it.
package doctor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
	"github.com/qliksense-license/qliksense-license/plugins/common/siteconfig"
)

// Step is one check: what was found, and for a failure what to do.
type Step struct {
	Name   string
	OK     bool
	Detail string
	Fix    string
}

// Report is the steps of one site, in order.
type Report struct{ Steps []Step }

// OK reports whether every step passed.
func (r *Report) OK() bool {
	for _, s := range r.Steps {
		if !s.OK {
			return false
		}
	}
	return true
}

// Print writes one line a step, and the fix under each failure.
func (r *Report) Print(w io.Writer) {
	for _, s := range r.Steps {
		mark := "ok  "
		if !s.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %s  %-18s %s\n", mark, s.Name, s.Detail)
		if !s.OK && s.Fix != "" {
			fmt.Fprintf(w, "        fix: %s\n", s.Fix)
		}
	}
}

func (r *Report) add(s Step) bool {
	r.Steps = append(r.Steps, s)
	return s.OK
}

// Needs says what the configuration's actions need of the site: the allocation types it
// deletes (releases; with right-sizing moves also professional, and analyzer for undos)
// and creates (analyzer access, for moves). Those rights are then required, not only
// reported.
type Needs struct {
	Delete []qrs.AccessType
	Create []qrs.AccessType
}

// Check runs the steps for a validated configuration and its client, at now (the
// certificates' expiry is judged against it). A step that fails stops the ones that need
// it (no QRS step after a failed TLS handshake).
func Check(ctx context.Context, c *siteconfig.Config, client *qrs.Client, needs Needs, now time.Time) *Report {
	r := &Report{}
	cfg, err := c.TLSConfig()
	if !r.add(configStep(c, err)) {
		return r
	}
	if !r.add(clientCertStep(cfg, now)) {
		return r
	}
	u, _ := url.Parse(c.Server)
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "443")
	}
	if !r.add(tcpStep(ctx, addr)) || !r.add(tlsStep(ctx, addr, u.Hostname(), cfg, c, now)) {
		return r
	}
	about, err := client.About(ctx)
	if !r.add(qrsStep(c, about, err)) {
		return r
	}
	ov, err := client.AccessTypeOverview(ctx)
	if !r.add(licenseStep(ov, err)) {
		return r
	}
	r.add(rightsStep(ctx, client, ov, needs))
	return r
}

func configStep(c *siteconfig.Config, err error) Step {
	s := Step{Name: "configuration", OK: err == nil}
	who := c.QlikUser
	if who == "" {
		who = qrs.DefaultUser
	}
	switch qrs.AuthMode(c.Auth) {
	case qrs.AuthCertificate:
		s.Detail = fmt.Sprintf("site %s, %s, certificate authentication as %s", c.Site, c.Server, who)
	default:
		s.Detail = fmt.Sprintf("site %s, %s, %s authentication through virtual proxy %q", c.Site, c.Server, c.Auth, c.VirtualProxy)
	}
	if err != nil {
		s.Detail, s.Fix = err.Error(), "check tls_ca, tls_cert, tls_key and tls_key_pwd: the files the QMC exported, readable by this user"
	}
	return s
}

func clientCertStep(cfg *tls.Config, now time.Time) Step {
	s := Step{Name: "client certificate", OK: true, Detail: "none (a virtual proxy authenticates)"}
	if len(cfg.Certificates) == 0 {
		return s
	}
	leaf, err := x509.ParseCertificate(cfg.Certificates[0].Certificate[0])
	if err != nil {
		return Step{Name: s.Name, Detail: err.Error(), Fix: "tls_cert must be client.pem exported from the QMC"}
	}
	left := leaf.NotAfter.Sub(now)
	s.Detail = fmt.Sprintf("%s, issued by %s, expires %s (%s)", leaf.Subject, leaf.Issuer, leaf.NotAfter.UTC().Format(time.DateOnly), days(left))
	if left <= 0 {
		s.OK = false
		s.Fix = "export a new client certificate from the QMC (Certificates > Export) and replace tls_cert and tls_key: QRS refuses an expired one"
	}
	return s
}

func days(d time.Duration) string {
	n := int(d.Hours() / 24)
	if d < 0 {
		return fmt.Sprintf("expired %d days ago", -n)
	}
	return fmt.Sprintf("%d days left", n)
}

func tcpStep(ctx context.Context, addr string) Step {
	d := net.Dialer{Timeout: 10 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return Step{Name: "TCP", Detail: fmt.Sprintf("%s: %v", addr, err),
			Fix: "is the server name right, QRS running, and the port open from this host (4242 for certificates, 443 for a virtual proxy)?"}
	}
	_ = conn.Close()
	return Step{Name: "TCP", OK: true, Detail: addr + ": connected"}
}

func tlsStep(ctx context.Context, addr, host string, cfg *tls.Config, c *siteconfig.Config, now time.Time) Step {
	s := Step{Name: "TLS"}
	cfg = cfg.Clone()
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	state, err := handshake(ctx, addr, cfg)
	if err != nil {
		s.Detail = err.Error()
		var unknown x509.UnknownAuthorityError
		var hostname x509.HostnameError
		var verr *tls.CertificateVerificationError
		switch {
		case errors.As(err, &hostname):
			s.Fix = fmt.Sprintf("the server certificate names %s: set tls_server_name to one of them", strings.Join(hostname.Certificate.DNSNames, ", "))
		case errors.As(err, &unknown), errors.As(err, &verr):
			s.Fix = "the server certificate is not signed by tls_ca: set tls_ca to root.pem exported from this site's QMC"
		case strings.Contains(err.Error(), "remote error"):
			s.Fix = "QRS refused the client certificate: export client.pem and client_key.pem from this site's QMC (not another site's), unexpired"
		default:
			s.Fix = "is it QRS (HTTPS) on this port?"
		}
		// Show what the server presents, unverified, to help with the fix.
		insecure := cfg.Clone()
		insecure.InsecureSkipVerify = true //nolint:gosec // only to describe the certificate
		if st, err := handshake(ctx, addr, insecure); err == nil && len(st.PeerCertificates) > 0 {
			s.Detail += "; the server presents " + describeCert(st.PeerCertificates[0], now)
		}
		return s
	}
	s.OK = true
	verified := "verified by the system's roots"
	switch {
	case c.InsecureSkipVerify:
		verified = "NOT verified (insecure_skip_verify)"
	case c.TLSCA != "":
		verified = "verified by tls_ca"
	}
	s.Detail = fmt.Sprintf("%s, %s", describeCert(state.PeerCertificates[0], now), verified)
	return s
}

func handshake(ctx context.Context, addr string, cfg *tls.Config) (tls.ConnectionState, error) {
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: cfg}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer conn.Close()
	tc := conn.(*tls.Conn)
	// TLS 1.3 reports a refused client certificate only with the first read.
	_ = tc.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := tc.Read(make([]byte, 1)); err != nil && !isTimeout(err) && !errors.Is(err, io.EOF) {
		return tls.ConnectionState{}, err
	}
	return tc.ConnectionState(), nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func describeCert(c *x509.Certificate, now time.Time) string {
	return fmt.Sprintf("certificate %s for %s, expires %s (%s)", c.Subject, strings.Join(c.DNSNames, ", "),
		c.NotAfter.UTC().Format(time.DateOnly), days(c.NotAfter.Sub(now)))
}

func qrsStep(c *siteconfig.Config, about *qrs.About, err error) Step {
	if err == nil {
		return Step{Name: "QRS", OK: true, Detail: fmt.Sprintf("/qrs/about: version %s", about.BuildVersion)}
	}
	s := Step{Name: "QRS", Detail: err.Error()}
	switch qrs.StatusCode(err) {
	case 401:
		s.Fix = "the virtual proxy did not accept the credentials: check header_name and header_user, or the JWT (signature, expiry, the proxy's attribute names)"
	case 403:
		s.Fix = "QRS refused the acting user: with certificates, qlik_user must name a user with access (default INTERNAL\\sa_repository)"
	case 404:
		s.Fix = "no QRS at this address: check server and virtual_proxy (the proxy's prefix)"
	default:
		if qrs.AuthMode(c.Auth) == qrs.AuthCertificate {
			s.Fix = "QRS answers on port 4242 of the central node, with the QMC's certificates"
		}
	}
	return s
}

func licenseStep(ov *qrs.AccessTypeOverview, err error) Step {
	if err != nil {
		return Step{Name: "license", Detail: err.Error(), Fix: "the acting user must be able to read the license (/qrs/license/accesstypeoverview)"}
	}
	if ov.TokensEnabled {
		return Step{Name: "license", OK: true, Detail: fmt.Sprintf("token model: %d tokens, %d user passes allocated, login passes %s",
			ov.TotalTokens, ov.UserAccess.AllocatedTokens, onOff(ov.LoginAccess.Enabled))}
	}
	return Step{Name: "license", OK: true, Detail: fmt.Sprintf("user-based: %d of %d professional and %d of %d analyzer seats allocated, analyzer capacity %s",
		ov.ProfessionalAccess.Allocated, ov.ProfessionalAccess.Total, ov.AnalyzerAccess.Allocated, ov.AnalyzerAccess.Total, onOff(ov.AnalyzerTimeAccess.Enabled))}
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// rightsStep reads the acting user's privileges from QRS itself: on a user, and on an
// allocation of each type the site has. A right the configuration needs and lacks fails.
func rightsStep(ctx context.Context, client *qrs.Client, ov *qrs.AccessTypeOverview, needs Needs) Step {
	s := Step{Name: "rights", OK: true}
	var parts, missing []string
	privs, found, err := client.Privileges(ctx, "/user")
	switch {
	case err != nil:
		return Step{Name: "rights", Detail: "reading users: " + err.Error(), Fix: "the acting user must be able to read users (security rule on User)"}
	case found && !slices.Contains(privs, "read"):
		s.OK = false
		missing = append(missing, "read users")
	case found:
		parts = append(parts, "read users: yes")
	}
	for _, t := range qrs.AccessTypes {
		if !ov.Enabled(t) {
			continue
		}
		privs, found, err := client.Privileges(ctx, t.Endpoint())
		if err != nil {
			return Step{Name: "rights", Detail: fmt.Sprintf("reading %s allocations: %v", t, err), Fix: "the acting user must be able to read license allocations"}
		}
		if !found {
			parts = append(parts, fmt.Sprintf("delete %s: no allocation to tell", t))
			continue
		}
		for _, right := range []struct {
			name   string
			needed []qrs.AccessType
			always bool // reported even when not needed
		}{{"delete", needs.Delete, true}, {"create", needs.Create, false}} {
			can, need := slices.Contains(privs, right.name), slices.Contains(right.needed, t)
			if !right.always && !need {
				continue
			}
			parts = append(parts, fmt.Sprintf("%s %s: %s", right.name, t, yesNo(can)))
			if !can && need {
				s.OK = false
				missing = append(missing, right.name+" "+t.Name()+" allocations")
			}
		}
	}
	s.Detail = strings.Join(parts, "; ")
	if !s.OK {
		s.Fix = "the configured actions (releases, right-sizing moves) need the acting user to " + strings.Join(missing, " and ") +
			": use a user with that right (qlik_user, default INTERNAL\\sa_repository) or grant it in the QMC's security rules"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "NO"
}
