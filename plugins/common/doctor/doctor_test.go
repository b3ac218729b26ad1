package doctor_test

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
	"github.com/qliksense-license/qliksense-license/plugins/common/doctor"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
	"github.com/qliksense-license/qliksense-license/plugins/common/siteconfig"
)

func site() *emulator.Site {
	return emulator.Generate(emulator.SiteSpec{Seed: 91, Users: 60, Now: testkit.Now})
}

// certConfig is a certificate-authenticated configuration of srv; change adjusts it.
func check(t *testing.T, srv *emulator.Server, change func(*siteconfig.Config), needs doctor.Needs, now time.Time) (*doctor.Report, string) {
	t.Helper()
	c := siteconfig.Defaults()
	f := testkit.ClientFiles(srv)
	c.Server, c.TLSCA, c.TLSCert, c.TLSKey = srv.URL, f.CA, f.Cert, f.Key
	if change != nil {
		change(&c)
	}
	require.NoError(t, c.Validate())
	client, err := c.NewClient(nil)
	require.NoError(t, err)
	t.Cleanup(client.Close)
	r := doctor.Check(t.Context(), &c, client, needs, now)
	var out bytes.Buffer
	r.Print(&out)
	return r, out.String()
}

func step(t *testing.T, r *doctor.Report, name string) doctor.Step {
	t.Helper()
	for _, s := range r.Steps {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no step %q in %+v", name, r.Steps)
	return doctor.Step{}
}

func TestEverythingWorks(t *testing.T) {
	srv := testkit.StartEmulator(t, site())
	r, out := check(t, srv, nil, doctor.Needs{Delete: []qrs.AccessType{qrs.Professional, qrs.Analyzer}}, testkit.Now)
	require.True(t, r.OK(), out)
	var names []string
	for _, s := range r.Steps {
		names = append(names, s.Name)
	}
	require.Equal(t, []string{"configuration", "client certificate", "TCP", "TLS", "QRS", "license", "rights"}, names)
	require.Contains(t, step(t, r, "configuration").Detail, `certificate authentication as UserDirectory=INTERNAL; UserId=sa_repository`)
	require.Regexp(t, `expires \d{4}-\d\d-\d\d \(\d+ days left\)`, step(t, r, "client certificate").Detail)
	require.Contains(t, step(t, r, "TLS").Detail, "verified by tls_ca")
	require.Contains(t, step(t, r, "QRS").Detail, "/qrs/about: version ")
	require.Contains(t, step(t, r, "license").Detail, "user-based: ")
	require.Equal(t, "read users: yes; delete professional: yes; delete analyzer: yes", step(t, r, "rights").Detail)
	require.NotContains(t, out, "FAIL")
}

func TestWrongCA(t *testing.T) {
	srv := testkit.StartEmulator(t, site())
	other := t.TempDir()
	require.NoError(t, emulator.CreateCertificates(other))
	r, out := check(t, srv, func(c *siteconfig.Config) { c.TLSCA = testkit.CertFiles(other).CA }, doctor.Needs{}, testkit.Now)
	require.False(t, r.OK())
	s := step(t, r, "TLS")
	require.False(t, s.OK)
	require.Contains(t, s.Detail, "certificate signed by unknown authority")
	require.Contains(t, s.Detail, "the server presents certificate")
	require.Contains(t, s.Fix, "set tls_ca to root.pem exported from this site's QMC")
	require.Contains(t, out, "FAIL  TLS")
	require.NotContains(t, out, "QRS ", "no QRS step after a failed handshake")
}

// Certificates expire; the doctor says so before QRS refuses the handshake.
func TestExpiredClientCertificate(t *testing.T) {
	srv := testkit.StartEmulator(t, site())
	b, err := os.ReadFile(testkit.ClientFiles(srv).Cert)
	require.NoError(t, err)
	block, _ := pem.Decode(b)
	leaf, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)
	r, _ := check(t, srv, nil, doctor.Needs{}, leaf.NotAfter.Add(24*time.Hour))
	s := step(t, r, "client certificate")
	require.False(t, s.OK)
	require.Contains(t, s.Detail, "(expired 1 days ago)")
	require.Contains(t, s.Fix, "export a new client certificate from the QMC")
	require.Len(t, r.Steps, 2, "nothing is tried with an expired certificate")
}

// The acting user may read but not delete: stated before the first real run, and a failure
// only when the policy releases that type.
func TestMissingDeleteRight(t *testing.T) {
	st := site()
	st.SetRights(`INTERNAL\sa_repository`, []string{"read"})
	srv := testkit.StartEmulator(t, st)
	r, _ := check(t, srv, nil, doctor.Needs{Delete: []qrs.AccessType{qrs.Professional}}, testkit.Now)
	s := step(t, r, "rights")
	require.False(t, s.OK)
	require.Equal(t, "read users: yes; delete professional: NO; delete analyzer: NO", s.Detail)
	require.Contains(t, s.Fix, "delete professional allocations")
	require.NotContains(t, s.Fix, "analyzer", "analyzer is not released by this policy")

	r, _ = check(t, srv, nil, doctor.Needs{}, testkit.Now)
	require.True(t, r.OK(), "a policy that releases nothing needs no delete right")

	// And QRS holds to it: a DELETE without the right is refused.
	c := siteconfig.Defaults()
	f := testkit.ClientFiles(srv)
	c.Server, c.TLSCA, c.TLSCert, c.TLSKey = srv.URL, f.CA, f.Cert, f.Key
	require.NoError(t, c.Validate())
	client, err := c.NewClient(nil)
	require.NoError(t, err)
	defer client.Close()
	err = client.DeleteAllocation(t.Context(), qrs.Professional, st.Allocations(emulator.KindProfessional)[0].ID)
	require.Equal(t, 403, qrs.StatusCode(err))
}

// A virtual proxy that does not get its credentials answers 401: the doctor names the
// settings to check. With them, the proxy's user is the acting user.
func TestProxyWithoutCredentials(t *testing.T) {
	srv := testkit.StartEmulator(t, site(), testkit.WithProxy)
	proxy := func(header string) func(*siteconfig.Config) {
		return func(c *siteconfig.Config) {
			c.Server, c.Auth, c.VirtualProxy = srv.ProxyURL, "header", "hdr"
			c.TLSCert, c.TLSKey = "", ""
			c.HeaderName, c.HeaderUser = header, "svc_license"
		}
	}
	r, out := check(t, srv, proxy("X-Wrong-Header"), doctor.Needs{}, testkit.Now)
	s := step(t, r, "QRS")
	require.False(t, s.OK, out)
	require.Contains(t, s.Detail, "401")
	require.Contains(t, s.Fix, "check header_name and header_user")
	require.Equal(t, "none (a virtual proxy authenticates)", step(t, r, "client certificate").Detail)

	r, out = check(t, srv, proxy("X-Qlik-HeaderAuth"), doctor.Needs{}, testkit.Now)
	require.True(t, r.OK(), out)
	require.Contains(t, step(t, r, "configuration").Detail, `header authentication through virtual proxy "hdr"`)
}

func TestJWT(t *testing.T) {
	srv := testkit.StartEmulator(t, site(), testkit.WithProxy)
	tok, err := emulator.SignJWT(srv.Certs.JWTKey, map[string]any{"userId": "svc", "userDirectory": "CORP", "exp": time.Now().Add(time.Hour).Unix()})
	require.NoError(t, err)
	path := t.TempDir() + "/jwt.txt"
	require.NoError(t, os.WriteFile(path, []byte(tok), 0o600))
	r, out := check(t, srv, func(c *siteconfig.Config) {
		c.Server, c.Auth, c.VirtualProxy, c.JWTFile = srv.ProxyURL, "jwt", "jwt", path
		c.TLSCert, c.TLSKey = "", ""
	}, doctor.Needs{}, testkit.Now)
	require.True(t, r.OK(), out)
	require.False(t, strings.Contains(out, tok), "the token is never printed")
}
