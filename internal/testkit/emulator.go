package testkit

import (
	"crypto/tls"
	_ "embed"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	commontls "github.com/influxdata/telegraf/plugins/common/tls"

	"github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/plugins/common/siteconfig"
)

// Now is the one clock of the tests: generated sites and policies are evaluated at this
// instant, never at the wall clock (a test that needs the real clock says so).
var Now = time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)

// PolicyTables is the release policy the tests, the benchmark, the demo and the
// end-to-end test share (testdata/policy.toml): professional after 30 days, analyzer after
// 60, two protected users and a protected tag. It is the sub-tables of
// [inputs.qliksense_license.release], to append after that table's own keys.
//
//go:embed testdata/policy.toml
var PolicyTables string

// TenantPolicyTables is the release policy of the Qlik Cloud emulator's known-answer
// tenant (qcloudemu.KnownAnswer), which its known answers assume: 30 days for both types,
// TenantAdmin protected. Like PolicyTables, the sub-tables of
// [inputs.qliksense_license.release].
const TenantPolicyTables = `
    [inputs.qliksense_license.release.professional]
      enabled = true
      inactive_days = 30
    [inputs.qliksense_license.release.analyzer]
      enabled = true
      inactive_days = 30
    [inputs.qliksense_license.release.protect]
      roles = ["TenantAdmin"]`

// sharedCerts is one certificate folder for the test process: making RSA keys is the
// slowest part of starting an emulator.
var sharedCerts = sync.OnceValues(func() (string, error) {
	d, err := os.MkdirTemp("", "qliksense-license-test-certs")
	if err != nil {
		return "", err
	}
	return d, emulator.CreateCertificates(d)
})

// StartEmulator serves site with the test process's shared certificates until the test
// ends. opts may change any option (a proxy listener, an address, a certificate folder of
// the test's own).
func StartEmulator(t testing.TB, site *emulator.Site, opts ...func(*emulator.Options)) *emulator.Server {
	t.Helper()
	dir, err := sharedCerts()
	if err != nil {
		t.Fatalf("creating the test certificates: %v", err)
	}
	o := emulator.Options{Site: site, CertDir: dir}
	for _, f := range opts {
		f(&o)
	}
	srv, err := emulator.Start(o)
	if err != nil {
		t.Fatalf("starting the emulator: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// WithProxy adds the proxy listener (virtual proxies hdr and jwt).
func WithProxy(o *emulator.Options) { o.ProxyAddr = "127.0.0.1:0" }

// Files names the certificate files the QMC exports: root.pem (the site's CA), client.pem
// and client_key.pem (the client certificate and its key).
type Files struct {
	CA, Cert, Key      string
	InsecureSkipVerify bool
}

// TLSConfig is what a client configured with the files uses (siteconfig.ClientTLS, the
// one way the project builds TLS).
func (f Files) TLSConfig() (*tls.Config, error) {
	return siteconfig.ClientTLS(commontls.ClientConfig{TLSCA: f.CA, TLSCert: f.Cert, TLSKey: f.Key, InsecureSkipVerify: f.InsecureSkipVerify})
}

// ClientFiles names srv's certificate files as a client uses them: the QMC's export names.
func ClientFiles(srv *emulator.Server) Files {
	return CertFiles(srv.Certs.Dir)
}

// CertFiles names the QMC-exported files of a certificate folder.
func CertFiles(dir string) Files {
	return Files{
		CA:   filepath.Join(dir, emulator.RootFile),
		Cert: filepath.Join(dir, emulator.ClientFile),
		Key:  filepath.Join(dir, emulator.ClientKeyFile),
	}
}

// RemoveSharedCerts removes the shared certificate folder, if this process made one: for
// a package's TestMain, after m.Run.
func RemoveSharedCerts() {
	if dir, err := sharedCerts(); err == nil {
		_ = os.RemoveAll(dir)
	}
}

// QRSGet reads path (with its query, without /qrs) from srv's QRS port as a bare client:
// the exported client certificate, a matching xrfkey, nothing of the project's client. It
// returns the body of a 200.
func QRSGet(t testing.TB, srv *emulator.Server, path string) []byte {
	t.Helper()
	tlsCfg, err := ClientFiles(srv).TLSConfig()
	if err != nil {
		t.Fatalf("client certificate: %v", err)
	}
	tr := &http.Transport{TLSClientConfig: tlsCfg}
	defer tr.CloseIdleConnections()
	const key = "abcdefghij123456"
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/qrs"+path+sep+"xrfkey="+key, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Qlik-Xrfkey", key)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s %v", path, resp.StatusCode, b, err)
	}
	return b
}
