// Command qrs-emulator serves an emulated Qlik Sense Repository Service (QRS) with a
// generated site, for demos, end-to-end tests and benchmarks. It listens with mutual TLS
// like a real QRS on 4242 and writes the certificates a client needs (root.pem, client.pem,
// client_key.pem, the QMC's export names) into a folder.
package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/qliksense-license/qliksense-license/emulators/emucmd"
	"github.com/qliksense-license/qliksense-license/emulators/qrs"
)

var version = "dev"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	c := emucmd.New("qrs-emulator", "site", version, stdout, stderr)
	fs := c.Flags
	faults := c.FaultFlags("limit faults (and latencies) to requests with this method, e.g. DELETE")
	var (
		addr          = fs.String("addr", "127.0.0.1:4242", "QRS listener (mutual TLS)")
		proxyAddr     = fs.String("proxy-addr", "", "virtual proxy listener, e.g. 127.0.0.1:4443 (prefixes hdr and jwt); empty: none")
		certDir       = fs.String("cert-dir", "qrs-emulator-certs", "certificate folder: reused when it has root.pem, created otherwise")
		seed          = fs.Uint64("seed", 1, "site generator seed")
		users         = fs.Int("users", 500, "users to generate")
		professional  = fs.Int("professional", 0, "professional allocations (default 30% of users)")
		analyzer      = fs.Int("analyzer", 0, "analyzer allocations (default 50% of users)")
		userPasses    = fs.Int("user-passes", 0, "token model: user pass allocations (default 60% of users)")
		tokenModel    = fs.Bool("token-model", false, "generate a token-licensed site instead of a professional/analyzer one")
		capacity      = fs.Int("capacity-minutes", 0, "analyzer capacity minutes (0: not licensed)")
		apps          = fs.Int("apps", 0, "apps to generate, with authoring activity (right-sizing)")
		appObjects    = fs.Int("app-objects", 0, "app objects (sheets, stories, bookmarks, master objects) to generate in the apps")
		quarantine    = fs.Int("quarantine-days", 7, "a DELETE quarantines allocations used within this many days (0: never)")
		neverAsCreate = fs.Bool("never-used-as-created", false, "write createdDate as lastUsed of never-used allocations instead of the 1753 sentinel")
		latency       = fs.Duration("latency", 0, "added to every request before it is carried out")
		answerLatency = fs.Duration("answer-latency", 0, "added to every request after it is carried out, before its answer")
		idleTimeout   = fs.Duration("idle-timeout", 2*time.Minute, "close keep-alive connections idle this long (http.sys's default in front of QRS)")
		slowBody      = fs.Duration("slow-body", 0, "pause after every 4 KiB of a body")
		truncateRate  = fs.Float64("truncate-rate", 0, "fraction of bodies cut in half")
		malformedRate = fs.Float64("malformed-rate", 0, "fraction of bodies replaced by an HTML page")
	)
	if code, done := c.Parse(args); done {
		return code
	}
	spec := emulator.SiteSpec{
		Seed: *seed, Users: *users, Professional: *professional, Analyzer: *analyzer, UserPasses: *userPasses,
		TokenModel: *tokenModel, CapacityMinutes: *capacity, Apps: *apps, AppObjects: *appObjects,
		Behaviour: emulator.Behaviour{QuarantineDays: *quarantine, NeverUsedAsCreated: *neverAsCreate},
	}
	if *quarantine == 0 {
		spec.Behaviour.QuarantineDays = -1
	}
	spec.Now = c.Now()
	realClock := spec.Now.IsZero()
	start := time.Now()
	site := emulator.Generate(spec)
	generated := time.Since(start)
	if realClock {
		site.SetClock(time.Now)
	}
	srv, err := emulator.Start(emulator.Options{Site: site, CertDir: *certDir, Hosts: c.Hosts(), Addr: *addr, ProxyAddr: *proxyAddr, IdleTimeout: *idleTimeout})
	if err != nil {
		return c.Failf(1, "%v", err)
	}
	defer func() { _ = srv.Close() }()
	srv.Faults.Configure(emulator.FaultConfig{
		Latency: *latency, AnswerLatency: *answerLatency, SlowBody: *slowBody, ErrorRate: *faults.ErrorRate, TooManyRate: *faults.TooManyRate,
		ResetRate: *faults.ResetRate, TruncateRate: *truncateRate, MalformedRate: *malformedRate, LoseAnswerRate: *faults.LoseAnswerRate,
		BadGatewayAfterRate: *faults.BadGatewayAfterRate, GatewayTimeoutAfterRate: *faults.GatewayTimeoutAfterRate,
		PathContains: *faults.PathContains, Method: *faults.Method, Seed: *seed,
	})

	abs, _ := filepath.Abs(*certDir)
	fmt.Fprintf(stdout, "qrs-emulator %s: %d users, %d professional, %d analyzer, %d user-pass allocations generated in %s\n",
		version, len(site.UserIDs()), len(site.Allocations(emulator.KindProfessional)), len(site.Allocations(emulator.KindAnalyzer)),
		len(site.Allocations(emulator.KindUser)), generated.Round(time.Millisecond))
	fmt.Fprintf(stdout, "QRS (mutual TLS) on %s/qrs; certificates in %s\n", srv.URL, abs)
	if srv.ProxyURL != "" {
		token, err := emulator.SignJWT(srv.Certs.JWTKey, map[string]any{
			"userId": "svc_license", "userDirectory": "CORP", "exp": time.Now().Add(365 * 24 * time.Hour).Unix(),
		})
		if err == nil {
			err = os.WriteFile(filepath.Join(*certDir, "jwt_token.txt"), []byte(token+"\n"), 0o600)
		}
		if err != nil {
			return c.Failf(1, "writing a demo JWT: %v", err)
		}
		fmt.Fprintf(stdout, "virtual proxies on %s: /hdr (header X-Qlik-HeaderAuth, directory CORP), /jwt (token in %s)\n",
			srv.ProxyURL, filepath.Join(abs, "jwt_token.txt"))
	}
	fmt.Fprintf(stdout, "try: curl --cert %[1]s/client.pem --key %[1]s/client_key.pem --cacert %[1]s/root.pem -H 'X-Qlik-Xrfkey: abcdefghij123456' '%[2]s/qrs/license/accesstypeoverview?xrfkey=abcdefghij123456'\n", abs, srv.URL)

	return c.Serve(nil, srv.Shutdown)
}
