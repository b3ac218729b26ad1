package qrs_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
)

// startEmulator serves a small generated site with a proxy listener.
func startEmulator(t *testing.T, spec emulator.SiteSpec) *emulator.Server {
	t.Helper()
	if spec.Now.IsZero() {
		spec.Now = testkit.Now
	}
	return testkit.StartEmulator(t, emulator.Generate(spec), testkit.WithProxy)
}

func newClient(t *testing.T, cfg qrs.Config, files testkit.Files) *qrs.Client {
	t.Helper()
	tlsCfg, err := files.TLSConfig()
	require.NoError(t, err)
	cfg.TLS = tlsCfg
	if cfg.RetryBaseDelay == 0 {
		cfg.RetryBaseDelay = time.Millisecond
	}
	c, err := qrs.New(cfg)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

func certClient(t *testing.T, srv *emulator.Server) *qrs.Client {
	return newClient(t, qrs.Config{Server: srv.URL}, testkit.ClientFiles(srv))
}

func TestCertificateAuthentication(t *testing.T) {
	srv := startEmulator(t, emulator.SiteSpec{Seed: 1, Users: 50, CapacityMinutes: 600})
	c := certClient(t, srv)
	ctx := t.Context()

	about, err := c.About(ctx)
	require.NoError(t, err)
	require.Equal(t, "About", about.SchemaPath)
	require.NotEmpty(t, about.BuildVersion)

	ov, err := c.AccessTypeOverview(ctx)
	require.NoError(t, err)
	require.True(t, ov.ProfessionalAccess.Enabled)
	require.Positive(t, ov.ProfessionalAccess.Total)
	require.Equal(t, int64(600), ov.AnalyzerTimeAccess.AllocatedMinutes)
	require.False(t, ov.TokensEnabled)
	require.InDelta(t, 0.1, ov.LoginAccess.TokenCost, 1e-9)

	lic, err := c.License(ctx)
	require.NoError(t, err)
	require.Contains(t, lic.KeyDetails, "Valid To:")

	entries := srv.Log.Entries()
	require.Len(t, entries, 3)
	for _, e := range entries {
		require.Equal(t, `INTERNAL\sa_repository`, e.User)
		require.Equal(t, http.StatusOK, e.Status)
	}
}

func TestCustomQlikUser(t *testing.T) {
	srv := startEmulator(t, emulator.SiteSpec{Seed: 1, Users: 10})
	c := newClient(t, qrs.Config{Server: srv.URL, User: "UserDirectory= LAB; UserId= qs_admin_account "}, testkit.ClientFiles(srv))
	_, err := c.About(t.Context())
	require.NoError(t, err)
	require.Equal(t, `LAB\qs_admin_account`, srv.Log.Entries()[0].User)
}

func TestWrongClientCertificateIsRejectedWithoutRetry(t *testing.T) {
	srv := startEmulator(t, emulator.SiteSpec{Seed: 1, Users: 10})
	other := t.TempDir()
	require.NoError(t, emulator.CreateCertificates(other))
	files := testkit.CertFiles(other)
	files.CA = filepath.Join(srv.Certs.Dir, emulator.RootFile) // trust the server, present a foreign client cert
	c := newClient(t, qrs.Config{Server: srv.URL}, files)

	_, err := c.About(t.Context())
	require.Error(t, err)
	require.Contains(t, err.Error(), "GET /qrs/about: ")
	require.Contains(t, err.Error(), "tls")
	require.Equal(t, int64(1), c.Stats().Requests, "a rejected certificate must not be retried")
}

func TestServerCertificateIsVerified(t *testing.T) {
	srv := startEmulator(t, emulator.SiteSpec{Seed: 1, Users: 10})
	files := testkit.ClientFiles(srv)
	files.CA = ""
	c := newClient(t, qrs.Config{Server: srv.URL}, files)
	_, err := c.About(t.Context())
	require.ErrorContains(t, err, "certificate signed by unknown authority")
	require.Equal(t, int64(1), c.Stats().Requests)

	files.InsecureSkipVerify = true
	c = newClient(t, qrs.Config{Server: srv.URL}, files)
	_, err = c.About(t.Context())
	require.NoError(t, err)
}

func TestHeaderAuthenticationThroughVirtualProxy(t *testing.T) {
	srv := startEmulator(t, emulator.SiteSpec{Seed: 1, Users: 10})
	files := testkit.Files{CA: filepath.Join(srv.Certs.Dir, emulator.RootFile)}
	c := newClient(t, qrs.Config{
		Server: srv.ProxyURL, VirtualProxy: "hdr", Auth: qrs.AuthHeader,
		HeaderName: "X-Qlik-HeaderAuth", HeaderValue: "qs_admin_account",
	}, files)
	_, err := c.AccessTypeOverview(t.Context())
	require.NoError(t, err)
	e := srv.Log.Entries()[0]
	require.Equal(t, "/hdr/qrs/license/accesstypeoverview", e.Path)
	require.Equal(t, `CORP\qs_admin_account`, e.User)

	// The wrong header name is a 401, reported with the path and status.
	c = newClient(t, qrs.Config{
		Server: srv.ProxyURL, VirtualProxy: "hdr", Auth: qrs.AuthHeader, HeaderName: "X-Other", HeaderValue: "x",
	}, files)
	_, err = c.About(t.Context())
	require.EqualError(t, err, "GET /hdr/qrs/about: 401 Unauthorized: Unauthorized")
}

func TestJWTAuthenticationThroughVirtualProxy(t *testing.T) {
	srv := startEmulator(t, emulator.SiteSpec{Seed: 1, Users: 10})
	files := testkit.Files{CA: filepath.Join(srv.Certs.Dir, emulator.RootFile)}
	good, err := emulator.SignJWT(srv.Certs.JWTKey, map[string]any{
		"userId": "svc_license", "userDirectory": "CORP", "exp": testkit.Now.Add(time.Hour).Unix(),
	})
	require.NoError(t, err)
	c := newClient(t, qrs.Config{
		Server: srv.ProxyURL, VirtualProxy: "jwt", Auth: qrs.AuthJWT,
		Token: func() (string, error) { return good, nil },
	}, files)
	_, err = c.About(t.Context())
	require.NoError(t, err)
	require.Equal(t, `CORP\svc_license`, srv.Log.Entries()[0].User)

	expired, err := emulator.SignJWT(srv.Certs.JWTKey, map[string]any{
		"userId": "svc_license", "userDirectory": "CORP", "exp": testkit.Now.Add(-time.Minute).Unix(),
	})
	require.NoError(t, err)
	c = newClient(t, qrs.Config{
		Server: srv.ProxyURL, VirtualProxy: "jwt", Auth: qrs.AuthJWT,
		Token: func() (string, error) { return expired, nil },
	}, files)
	_, err = c.About(t.Context())
	require.ErrorContains(t, err, "GET /jwt/qrs/about: 401 Unauthorized: Unauthorized: token expired")
	require.NotContains(t, err.Error(), expired)
	require.NotContains(t, err.Error(), strings.Split(expired, ".")[2])
	require.Equal(t, int64(1), c.Stats().Requests, "a 401 is not retried")

	c = newClient(t, qrs.Config{
		Server: srv.ProxyURL, VirtualProxy: "jwt", Auth: qrs.AuthJWT,
		Token: func() (string, error) { return "", errors.New("open /etc/qlik/token: permission denied") },
	}, files)
	_, err = c.About(t.Context())
	require.EqualError(t, err, "GET /jwt/qrs/about: reading JWT: open /etc/qlik/token: permission denied")
}

// stripHeader drops a request header before sending, to provoke QRS's XSRF answer.
type stripHeader struct {
	name string
	rt   http.RoundTripper
}

func (s stripHeader) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Del(s.name)
	return s.rt.RoundTrip(r)
}

func TestMissingXrfkeyHeaderIsA403(t *testing.T) {
	srv := startEmulator(t, emulator.SiteSpec{Seed: 1, Users: 10})
	tlsCfg, err := testkit.ClientFiles(srv).TLSConfig()
	require.NoError(t, err)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsCfg
	c, err := qrs.New(qrs.Config{Server: srv.URL, Transport: stripHeader{"X-Qlik-Xrfkey", tr}})
	require.NoError(t, err)
	_, err = c.About(t.Context())
	require.EqualError(t, err, "GET /qrs/about: 403 Forbidden: XSRF prevention check failed. Possible XSRF discovered.")
	require.Equal(t, http.StatusForbidden, qrs.StatusCode(err))
	require.Equal(t, int64(1), c.Stats().Requests, "a 403 is not retried")
}

func TestNotFound(t *testing.T) {
	srv := startEmulator(t, emulator.SiteSpec{Seed: 1, Users: 10})
	c := certClient(t, srv)
	const id = "00000000-0000-4000-8000-000000000000"
	_, err := c.Allocation(t.Context(), qrs.Professional, id)
	require.EqualError(t, err, "GET /qrs/license/professionalaccesstype/"+id+": 404 Not Found: Not Found")
	require.True(t, qrs.IsNotFound(err))
	_, err = c.User(t.Context(), id)
	require.True(t, qrs.IsNotFound(err))
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  qrs.Config
		want string
	}{
		{qrs.Config{Server: "qlik:4242"}, `server URL "qlik:4242" must start with https:// (or http:// for a virtual proxy served without TLS)`},
		{qrs.Config{Server: "https://"}, `server URL "https://" has no host`},
		{qrs.Config{Server: "https://qlik/hdr"}, `server URL "https://qlik/hdr" must be scheme://host[:port] only; put a virtual proxy prefix in virtual_proxy`},
		{qrs.Config{Server: "https://qlik", VirtualProxy: "a/b"}, `virtual proxy prefix "a/b" must be a single path segment`},
		{qrs.Config{Server: "https://qlik", Auth: qrs.AuthHeader}, "header authentication needs a header name and a user"},
		{qrs.Config{Server: "https://qlik", Auth: qrs.AuthJWT}, "JWT authentication needs a token"},
		{qrs.Config{Server: "https://qlik", Auth: "ntlm"}, `unknown authentication mode "ntlm"`},
	} {
		_, err := qrs.New(tc.cfg)
		require.EqualError(t, err, tc.want)
	}
	c, err := qrs.New(qrs.Config{Server: "https://qlik.example.com:4242", VirtualProxy: "/hdr/"})
	require.NoError(t, err)
	require.Equal(t, "https://qlik.example.com:4242/hdr/qrs", c.BaseURL())
}

func TestContextCancelStopsRetries(t *testing.T) {
	srv := startEmulator(t, emulator.SiteSpec{Seed: 1, Users: 10})
	srv.Faults.Inject(emulator.FaultServerError, "", "", 100)
	c := newClient(t, qrs.Config{Server: srv.URL, RetryBaseDelay: time.Hour, RetryMaxDelay: time.Hour}, testkit.ClientFiles(srv))
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, err := c.About(ctx)
	require.ErrorContains(t, err, "500 Internal Server Error")
	require.Equal(t, int64(1), c.Stats().Requests, "no retry fits before the deadline")
}

// A new connection resumes the TLS session of an earlier one (no certificate signing on
// either side), so a gather after the idle connections closed costs less on both hosts.
// The caller's tls.Config is left as it was.
func TestNewConnectionsResumeTheTLSSession(t *testing.T) {
	var resumed []bool
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resumed = append(resumed, r.TLS.DidResume)
		_, _ = w.Write([]byte(`{"buildVersion":"38.22.0"}`))
	}))
	srv.StartTLS()
	t.Cleanup(srv.Close)
	tlsCfg := srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	c, err := qrs.New(qrs.Config{Server: srv.URL, TLS: tlsCfg})
	require.NoError(t, err)
	for range 2 {
		_, err := c.About(t.Context())
		require.NoError(t, err)
		c.Close() // the next call opens a new connection
	}
	require.Equal(t, []bool{false, true}, resumed)
	require.Nil(t, tlsCfg.ClientSessionCache)
}
