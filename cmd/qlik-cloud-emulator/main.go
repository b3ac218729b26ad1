// Command qlik-cloud-emulator serves an emulated Qlik Cloud tenant (the licenses and users
// APIs) with a generated or the known-answer tenant, over TLS with a test CA it writes
// into a folder (ca.pem: tls_ca for the plugin, NODE_EXTRA_CA_CERTS for @qlik/api).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	qcloudemu "github.com/qliksense-license/qliksense-license/emulators/qcloud"
)

var version = "dev"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, nil)) }

// run serves until SIGINT/SIGTERM, or until stop is closed (tests).
func run(args []string, stdout, stderr io.Writer, stop <-chan struct{}) int {
	fs := flag.NewFlagSet("qlik-cloud-emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		addr        = fs.String("addr", "127.0.0.1:8443", "listener (TLS)")
		certDir     = fs.String("cert-dir", "qlik-cloud-emulator-certs", "folder receiving ca.pem, the test CA")
		hosts       = fs.String("hosts", "", "extra comma-separated names for the server certificate")
		known       = fs.Bool("known-answer", false, "serve the known-answer tenant instead of a generated one")
		seed        = fs.Uint64("seed", 1, "generator seed")
		users       = fs.Int("users", 500, "users to generate")
		apiKey      = fs.String("api-key", "emulator-api-key", "an API key the tenant accepts (the known-answer tenant also takes known-answer-key)")
		clientID    = fs.String("oauth-client-id", "", "an OAuth machine-to-machine client id the tenant accepts")
		clientSec   = fs.String("oauth-client-secret", "", "its secret")
		tokenLife   = fs.Duration("token-life", 6*time.Hour, "lifetime of OAuth access tokens")
		nowFlag     = fs.String("now", "", "the tenant's fixed clock, RFC 3339 (default: the real clock)")
		tier1       = fs.Int("tier1", 1000, "reads a minute before 429 (0: unlimited)")
		tier2       = fs.Int("tier2", 100, "assignment actions a minute before 429 (0: unlimited)")
		errorRate   = fs.Float64("error-rate", 0, "fraction of requests answered 500")
		tooMany     = fs.Float64("429-rate", 0, "fraction of requests answered 429 with Retry-After")
		resetRate   = fs.Float64("reset-rate", 0, "fraction of connections reset before answering")
		loseRate    = fs.Float64("lose-answer-rate", 0, "fraction of requests carried out whose answer is lost")
		badGateway  = fs.Float64("bad-gateway-after-rate", 0, "fraction carried out, then answered 502")
		gwTimeout   = fs.Float64("gateway-timeout-after-rate", 0, "fraction carried out, then answered 504")
		lateRate    = fs.Float64("late-effect-rate", 0, "fraction answered 504 at once and carried out two requests later")
		faultPath   = fs.String("fault-path", "", "limit faults to paths containing this")
		faultMethod = fs.String("fault-method", "", "limit faults to this method, e.g. POST")
		showVersion = fs.Bool("version", false, "print the version and exit")
	)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *showVersion {
		fmt.Fprintln(stdout, "qlik-cloud-emulator", version)
		return 0
	}
	var now time.Time
	if *nowFlag != "" {
		t, err := time.Parse(time.RFC3339, *nowFlag)
		if err != nil {
			fmt.Fprintf(stderr, "qlik-cloud-emulator: -now %q: expected RFC 3339 such as 2026-05-04T10:00:00Z\n", *nowFlag)
			return 2
		}
		now = t
	}
	if (*clientID == "") != (*clientSec == "") {
		fmt.Fprintln(stderr, "qlik-cloud-emulator: -oauth-client-id and -oauth-client-secret go together")
		return 2
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
	var hostList []string
	for _, h := range strings.Split(*hosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			hostList = append(hostList, h)
		}
	}
	srv, err := qcloudemu.Start(qcloudemu.Options{Tenant: tenant, Addr: *addr, CertDir: *certDir, Hosts: hostList,
		Limits: qcloudemu.RateLimits{Tier1PerMinute: *tier1, Tier2PerMinute: *tier2}})
	if err != nil {
		fmt.Fprintf(stderr, "qlik-cloud-emulator: %v\n", err)
		return 1
	}
	defer func() { _ = srv.Close() }()
	srv.Faults.Configure(qcloudemu.FaultConfig{
		ErrorRate: *errorRate, TooManyRate: *tooMany, ResetRate: *resetRate, LoseAnswerRate: *loseRate,
		BadGatewayAfterRate: *badGateway, GatewayTimeoutAfterRate: *gwTimeout, LateEffectRate: *lateRate,
		PathContains: *faultPath, Method: *faultMethod, Seed: *seed,
	})
	abs, _ := filepath.Abs(srv.CAFile)
	fmt.Fprintf(stdout, "qlik-cloud-emulator %s: %d users, %d assignments, %d consumption events\n",
		version, len(tenant.Users()), len(tenant.Assignments()), len(tenant.Events()))
	fmt.Fprintf(stdout, "tenant %s (test CA in %s)\n", srv.URL, abs)
	fmt.Fprintf(stdout, "try: curl --cacert %s -H 'Authorization: Bearer <api key>' %s/api/v1/licenses/overview\n", abs, srv.URL)

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	select {
	case <-ctx.Done():
	case <-stop:
	}
	fmt.Fprintln(stdout, "qlik-cloud-emulator: stopping")
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	_ = srv.Shutdown(sctx)
	return 0
}
