package qliksense_license_test

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/influxdata/telegraf/testutil"
	"github.com/stretchr/testify/require"
	"go.step.sm/crypto/pemutil"

	"github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
	"github.com/qliksense-license/qliksense-license/plugins/inputs/qliksense_license"
)

func writeConf(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "p.conf")
	require.NoError(t, os.WriteFile(path, []byte("[[inputs.qliksense_license]]\n"+body+"\n"), 0o600))
	return path
}

func certConf(srv *emulator.Server, extra string) string {
	return `server = "` + srv.URL + `"
` + tlsKeys(testkit.ClientFiles(srv)) + extra
}

// tlsKeys is the tls_ca, tls_cert and tls_key lines for a set of certificate files.
func tlsKeys(f testkit.Files) string {
	return fmt.Sprintf("tls_ca = %q\ntls_cert = %q\ntls_key = %q\n", f.CA, f.Cert, f.Key)
}

// The fault matrix for the plugin: each fault gives a clear error naming what failed, no
// fabricated metric, no crash, and a full gather once QRS is well again.
func TestFaultMatrix(t *testing.T) {
	for _, tc := range []struct {
		name   string
		extra  string
		fault  func(*emulator.Server)
		errors []string // each error must contain one of these, in order
		// measurements that must be absent while the fault lasts
		absent []string
		// retried: the fault is absorbed by retries and the gather is whole
		retried bool
	}{
		{name: "5xx burst", extra: "max_retries = 3", fault: func(s *emulator.Server) {
			s.Faults.Inject(emulator.FaultServerError, "GET", "", 2)
			s.Faults.Inject(emulator.FaultUnavailable, "GET", "", 1)
		}, retried: true},
		{name: "429 with Retry-After", extra: "max_retries = 2", fault: func(s *emulator.Server) {
			s.Faults.Configure(emulator.FaultConfig{RetryAfter: time.Second})
			s.Faults.Inject(emulator.FaultTooMany, "GET", "accesstypeoverview", 1)
		}, retried: true},
		{name: "connection reset", extra: "max_retries = 2", fault: func(s *emulator.Server) {
			s.Faults.Inject(emulator.FaultReset, "GET", "analyzeraccesstype", 1)
		}, retried: true},
		{name: "timeout", extra: "max_retries = 0\ntimeout = \"1s\"", fault: func(s *emulator.Server) {
			s.Faults.Configure(emulator.FaultConfig{Latency: 1500 * time.Millisecond, PathContains: "/license/accesstypeoverview"})
		}, errors: []string{"reading the access type overview: GET /qrs/license/accesstypeoverview: "}, absent: []string{"qlik_sense_license"}},
		{name: "slow body", extra: "max_retries = 0\ntimeout = \"1s\"", fault: func(s *emulator.Server) {
			s.Faults.Configure(emulator.FaultConfig{SlowBody: 100 * time.Millisecond, PathContains: "professionalaccesstype/full"})
		}, errors: []string{"reading professional allocations: GET /qrs/license/professionalaccesstype/full: "}},
		{name: "truncated body", extra: "max_retries = 0", fault: func(s *emulator.Server) {
			s.Faults.Inject(emulator.FaultTruncate, "GET", "/license/accesstypeoverview", 1)
		}, errors: []string{"reading the access type overview: GET /qrs/license/accesstypeoverview: decoding response: unexpected EOF"}, absent: []string{"qlik_sense_license"}},
		{name: "malformed JSON", extra: "max_retries = 0", fault: func(s *emulator.Server) {
			s.Faults.Inject(emulator.FaultMalformed, "GET", "/qrs/license?", 0)
			s.Faults.Inject(emulator.FaultMalformed, "GET", "/qrs/license", 1)
		}, errors: []string{"GET /qrs/license"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := serve(t, siteOf(t, "user_model"))
			p := load(t, writeConf(t, certConf(srv, tc.extra)))
			tc.fault(srv)
			acc := gather(t, p)
			if tc.retried {
				require.Empty(t, acc.Errors)
				require.Len(t, byMeasurement(acc, "qlik_sense_license"), 6)
				require.Len(t, byMeasurement(acc, "qlik_sense_license_inactivity"), 2)
				faulted := 0
				for _, e := range srv.Log.Entries() {
					if e.Fault != emulator.FaultNone {
						faulted++
					}
				}
				require.Positive(t, faulted, "the fault happened and was absorbed")
			} else {
				require.Len(t, acc.Errors, len(tc.errors))
				for i, want := range tc.errors {
					require.ErrorContains(t, acc.Errors[i], want)
				}
				for _, m := range tc.absent {
					require.Empty(t, byMeasurement(acc, m), m)
				}
				g := byMeasurement(acc, "qlik_sense_license_gather")
				require.Len(t, g, 1, "gather health is always written")
				require.Equal(t, int64(len(tc.errors)), g[0].Fields()["errors"])
			}
			// QRS is well again: the next gather is whole.
			srv.Faults.Clear()
			acc = gather(t, p)
			require.Empty(t, acc.Errors)
			require.Len(t, byMeasurement(acc, "qlik_sense_license"), 6)
		})
	}
}

// QRS unreachable: every call fails with the reason, only gather health is written, and
// a later gather works once QRS is there.
func TestQRSUnreachable(t *testing.T) {
	srv := serve(t, siteOf(t, "user_model"))
	conf := writeConf(t, certConf(srv, "max_retries = 0"))
	p := load(t, conf)
	require.NoError(t, srv.Close())
	acc := gather(t, p)
	require.NotEmpty(t, acc.Errors)
	// The connection itself fails: refused, or (when a parallel test briefly had the freed
	// port) reset while connecting or writing. Either way the error says which address
	// could not be reached.
	addr := regexp.QuoteMeta(strings.TrimPrefix(srv.URL, "https://"))
	for _, err := range acc.Errors {
		require.Regexp(t, "(dial tcp "+addr+": connect: connection (refused|reset by peer)|write tcp [0-9.:]+->"+addr+": write: connection reset by peer)", err.Error())
	}
	for _, m := range acc.GetTelegrafMetrics() {
		require.Equal(t, "qlik_sense_license_gather", m.Name(), "nothing but gather health")
	}
}

func TestWrongClientCertificate(t *testing.T) {
	srv := serve(t, siteOf(t, "details"))
	other := t.TempDir()
	require.NoError(t, emulator.CreateCertificates(other))
	files := testkit.CertFiles(other)
	files.CA = testkit.ClientFiles(srv).CA
	p := load(t, writeConf(t, `server = "`+srv.URL+`"
`+tlsKeys(files)))
	acc := gather(t, p)
	require.NotEmpty(t, acc.Errors)
	require.ErrorContains(t, acc.Errors[0], "reading the access type overview: GET /qrs/license/accesstypeoverview: remote error: tls:")
	require.Zero(t, byMeasurement(acc, "qlik_sense_license_gather")[0].Fields()["qrs_retries"], "a rejected certificate is not retried")
}

// A JWT never reaches an error, a log line or a metric.
func TestJWTStaysSecret(t *testing.T) {
	site := siteOf(t, "details")
	srv := testkit.StartEmulator(t, site, testkit.WithProxy)
	expired, err := emulator.SignJWT(srv.Certs.JWTKey, map[string]any{"userId": "svc", "userDirectory": "CORP", "exp": testkit.Now.Add(-time.Hour).Unix()})
	require.NoError(t, err)
	t.Setenv("TEST_QLIK_JWT", expired)
	p, err := qliksense_license.LoadConfig(writeConf(t, `server = "`+srv.ProxyURL+`"
auth = "jwt"
virtual_proxy = "jwt"
jwt = "${TEST_QLIK_JWT}"
tls_ca = "`+testkit.ClientFiles(srv).CA+`"`))
	require.NoError(t, err)
	logs := &captureLogger{}
	p.Log = logs
	p.SetNow(func() time.Time { return testkit.Now })
	require.NoError(t, p.Init())
	acc := gather(t, p)
	require.NotEmpty(t, acc.Errors)
	require.ErrorContains(t, acc.Errors[0], "401 Unauthorized: Unauthorized: token expired")
	var everything strings.Builder
	for _, err := range acc.Errors {
		everything.WriteString(err.Error())
	}
	for _, m := range acc.GetTelegrafMetrics() {
		everything.WriteString(fmt.Sprint(m.Tags(), m.Fields()))
	}
	everything.WriteString(logs.String())
	sig := expired[strings.LastIndex(expired, ".")+1:]
	require.NotContains(t, everything.String(), sig)
	require.NotContains(t, everything.String(), expired[:40])
}

func TestReadableKeyIsWarned(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes")
	}
	srv := serve(t, siteOf(t, "details"))
	files := testkit.ClientFiles(srv)
	key := filepath.Join(t.TempDir(), emulator.ClientKeyFile)
	b, err := os.ReadFile(files.Key)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(key, b, 0o644))
	files.Key = key
	p, err := qliksense_license.LoadConfig(writeConf(t, `server = "`+srv.URL+`"
`+tlsKeys(files)+`insecure_skip_verify = true`))
	require.NoError(t, err)
	logs := &captureLogger{}
	p.Log = logs
	require.NoError(t, p.Init())
	require.Contains(t, logs.String(), "W! private key "+key+" is readable by other users (mode -rw-r--r--)")
	require.Contains(t, logs.String(), "W! insecure_skip_verify is on: the certificate of "+srv.URL+" is not verified")
}

// A gather leaves no goroutine behind once the client's idle connections are closed.
func TestNoGoroutineLeak(t *testing.T) {
	testkit.NoGoroutineLeaks(t)
	srv := serve(t, siteOf(t, "user_model"))
	p := load(t, writeConf(t, certConf(srv, "")))
	for range 3 {
		gather(t, p)
	}
	p.Client().Close()
}

// captureLogger records log lines with Telegraf's level prefixes.
type captureLogger struct {
	testutil.CaptureLogger
}

func (c *captureLogger) String() string {
	var b strings.Builder
	for _, m := range c.CaptureLogger.Messages() {
		b.WriteString(string(m.Level) + "! " + m.Text + "\n")
	}
	return b.String()
}

// The QMC's certificate export can protect the key with a password: tls_key_pwd opens an
// encrypted PKCS#8 key and a legacy encrypted PEM key (DEK-Info), and a wrong or missing
// password is an error naming the file, never the password.
func TestEncryptedClientKey(t *testing.T) {
	srv := serve(t, siteOf(t, "details"))
	files := testkit.ClientFiles(srv)
	keyPEM, err := os.ReadFile(files.Key)
	require.NoError(t, err)
	block, _ := pem.Decode(keyPEM)
	require.NotNil(t, block)
	key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	require.NoError(t, err)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	const pwd = "s3cret-Pa55"
	encPKCS8, err := pemutil.EncryptPKCS8PrivateKey(rand.Reader, pkcs8, []byte(pwd), x509.PEMCipherAES256)
	require.NoError(t, err)
	//lint:ignore SA1019 the legacy format is what is tested
	encLegacy, err := x509.EncryptPEMBlock(rand.Reader, "RSA PRIVATE KEY", block.Bytes, []byte(pwd), x509.PEMCipherAES256) //nolint:staticcheck // see above
	require.NoError(t, err)
	require.Equal(t, "4,ENCRYPTED", encLegacy.Headers["Proc-Type"])

	for name, b := range map[string]*pem.Block{"pkcs8": encPKCS8, "legacy": encLegacy} {
		t.Run(name, func(t *testing.T) {
			enc := filepath.Join(t.TempDir(), "client_key.pem")
			require.NoError(t, os.WriteFile(enc, pem.EncodeToMemory(b), 0o600))
			f := files
			f.Key = enc
			conf := func(pwdLine string) string {
				return writeConf(t, `server = "`+srv.URL+`"
`+tlsKeys(f)+pwdLine)
			}
			acc := gather(t, load(t, conf(`tls_key_pwd = "`+pwd+`"`)))
			require.Empty(t, acc.Errors)
			require.NotEmpty(t, byMeasurement(acc, "qlik_sense_license"))

			for pwdLine, want := range map[string]string{
				`tls_key_pwd = "wrong"`: "tls_key " + strconv.Quote(enc) + ": tls_key_pwd does not decrypt",
				``:                      "tls_key " + strconv.Quote(enc) + " is encrypted: set tls_key_pwd",
			} {
				p, err := qliksense_license.LoadConfig(conf(pwdLine))
				require.NoError(t, err)
				err = p.Init()
				require.ErrorContains(t, err, want)
				require.NotContains(t, err.Error(), pwd)
			}
		})
	}
}
