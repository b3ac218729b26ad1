// Command qlik-cloud-emulator serves an emulated Qlik Cloud tenant (the licenses and users
// APIs) with a generated or the known-answer tenant, over TLS with a test CA it writes
// into a folder (ca.pem: tls_ca for the plugin, NODE_EXTRA_CA_CERTS for @qlik/api).
package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/qliksense-license/qliksense-license/emulators/emucmd"
	qcloudemu "github.com/qliksense-license/qliksense-license/emulators/qcloud"
)

var version = "dev"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, nil)) }

// run serves until SIGINT/SIGTERM, or until stop is closed (tests).
func run(args []string, stdout, stderr io.Writer, stop <-chan struct{}) int {
	c := emucmd.New("qlik-cloud-emulator", "tenant", version, stdout, stderr)
	fs := c.Flags
	faults := c.FaultFlags("limit faults to this method, e.g. POST")
	var (
		addr      = fs.String("addr", "127.0.0.1:8443", "listener (TLS)")
		certDir   = fs.String("cert-dir", "qlik-cloud-emulator-certs", "folder receiving ca.pem, the test CA")
		known     = fs.Bool("known-answer", false, "serve the known-answer tenant instead of a generated one")
		seed      = fs.Uint64("seed", 1, "generator seed")
		users     = fs.Int("users", 500, "users to generate")
		apiKey    = fs.String("api-key", "emulator-api-key", "an API key the tenant accepts (the known-answer tenant also takes known-answer-key)")
		clientID  = fs.String("oauth-client-id", "", "an OAuth machine-to-machine client id the tenant accepts")
		clientSec = fs.String("oauth-client-secret", "", "its secret")
		tokenLife = fs.Duration("token-life", 6*time.Hour, "lifetime of OAuth access tokens")
		tier1     = fs.Int("tier1", 1000, "reads a minute before 429 (0: unlimited)")
		tier2     = fs.Int("tier2", 100, "assignment actions a minute before 429 (0: unlimited)")
		lateRate  = fs.Float64("late-effect-rate", 0, "fraction answered 504 at once and carried out two requests later")
	)
	if code, done := c.Parse(args); done {
		return code
	}
	now := c.Now()
	if (*clientID == "") != (*clientSec == "") {
		return c.Failf(2, "-oauth-client-id and -oauth-client-secret go together")
	}
	var tenant *qcloudemu.Tenant
	if *known {
		at := now
		if at.IsZero() {
			at = time.Now().UTC()
		}
		tenant = qcloudemu.KnownAnswer(at)
	} else {
		tenant = qcloudemu.Generate(qcloudemu.Spec{Seed: *seed, Users: *users, Now: now})
	}
	if now.IsZero() {
		tenant.SetClock(time.Now)
	}
	tenant.AddAPIKey(*apiKey)
	if *clientID != "" {
		tenant.AddOAuthClient(*clientID, *clientSec)
	}
	tenant.TokenLife = *tokenLife
	srv, err := qcloudemu.Start(qcloudemu.Options{Tenant: tenant, Addr: *addr, CertDir: *certDir, Hosts: c.Hosts(),
		Limits: qcloudemu.RateLimits{Tier1PerMinute: *tier1, Tier2PerMinute: *tier2}})
	if err != nil {
		return c.Failf(1, "%v", err)
	}
	defer func() { _ = srv.Close() }()
	srv.Faults.Configure(qcloudemu.FaultConfig{
		ErrorRate: *faults.ErrorRate, TooManyRate: *faults.TooManyRate, ResetRate: *faults.ResetRate, LoseAnswerRate: *faults.LoseAnswerRate,
		BadGatewayAfterRate: *faults.BadGatewayAfterRate, GatewayTimeoutAfterRate: *faults.GatewayTimeoutAfterRate, LateEffectRate: *lateRate,
		PathContains: *faults.PathContains, Method: *faults.Method, Seed: *seed,
	})
	abs, _ := filepath.Abs(srv.CAFile)
	fmt.Fprintf(stdout, "qlik-cloud-emulator %s: %d users, %d assignments, %d consumption events\n",
		version, len(tenant.Users()), len(tenant.Assignments()), len(tenant.Events()))
	fmt.Fprintf(stdout, "tenant %s (test CA in %s)\n", srv.URL, abs)
	fmt.Fprintf(stdout, "try: curl --cacert %s -H 'Authorization: Bearer <api key>' %s/api/v1/licenses/overview\n", abs, srv.URL)

	return c.Serve(stop, srv.Shutdown)
}
