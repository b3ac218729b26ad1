package emulator_test

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
)

func start(t *testing.T, site *emulator.Site) *emulator.Server {
	t.Helper()
	return testkit.StartEmulator(t, site, testkit.WithProxy)
}

// rawClient speaks to the QRS port with the exported client certificate and nothing else:
// tests add the xrfkey and headers themselves.
func rawClient(t *testing.T, srv *emulator.Server) *http.Client {
	t.Helper()
	dir := srv.Certs.Dir
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, emulator.ClientFile), filepath.Join(dir, emulator.ClientKeyFile))
	require.NoError(t, err)
	pem, err := os.ReadFile(filepath.Join(dir, emulator.RootFile))
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pem))
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

const key = "abcdefghij123456"

// get sends GET base+pathAndQuery with a matching xrfkey and returns status and body.
func get(t *testing.T, c *http.Client, url string, header ...string) (int, string) {
	t.Helper()
	return send(t, c, http.MethodGet, url, header...)
}

func send(t *testing.T, c *http.Client, method, url string, header ...string) (int, string) {
	t.Helper()
	return sendBody(t, c, method, url, "", header...)
}

// sendBody sends method url with a matching xrfkey and, when body is not empty, a JSON
// body; it returns status and body.
func sendBody(t *testing.T, c *http.Client, method, url, body string, header ...string) (int, string) {
	t.Helper()
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url+sep+"xrfkey="+key, rd)
	require.NoError(t, err)
	req.Header.Set("X-Qlik-Xrfkey", key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// post sends a JSON body with a matching xrfkey and returns status and body.
func post(t *testing.T, c *http.Client, url, body string) (int, string) {
	t.Helper()
	return sendBody(t, c, http.MethodPost, url, body)
}
