// Command bench measures the plugin's gather and the sidecar's plan and execution against
// the QRS emulator, beside two references measured in the same run on the same emulator:
// the raw transfer of the same QRS responses (the floor for a gather) and a naive
// Butler-style planner (one list request, then one GET /qrs/user/{id} per candidate).
// Then a Qlik Cloud tenant's first and next-day release runs against the physical minimum
// of their requests (tenant.go). It prints the tables and writes them as CSV and JSON. Run
// it with `make bench`.
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/release"
)

type row struct {
	Users              int     `json:"users"`
	Allocations        int     `json:"allocations"`
	LatencyMS          int     `json:"latency_ms"`
	FirstGatherSeconds float64 `json:"first_gather_seconds"`
	GatherSeconds      float64 `json:"gather_seconds"`
	GatherPeakRSSMiB   float64 `json:"gather_peak_rss_mib"`
	GatherRequests     int     `json:"gather_requests"`
	GatherBytes        int64   `json:"gather_bytes"`
	RawSeconds         float64 `json:"raw_transfer_seconds"`
	GatherVsRaw        float64 `json:"gather_vs_raw"`
	FirstGatherVsRaw   float64 `json:"first_gather_vs_raw"`
	PlanSeconds        float64 `json:"plan_seconds"`
	PlanRequests       int     `json:"plan_requests"`
	Candidates         int     `json:"candidates"`
	NaiveSeconds       float64 `json:"naive_plan_seconds"`
	NaiveRequests      int     `json:"naive_plan_requests"`
	NaiveExtrapolated  bool    `json:"naive_extrapolated"`
	PlanRequestsRatio  float64 `json:"plan_requests_naive_vs_ours"`
	PlanWallRatio      float64 `json:"plan_wall_naive_vs_ours"`
	Released           int     `json:"released"`
	ExecuteSeconds     float64 `json:"execute_seconds"`
	ExecuteIdealSecond float64 `json:"execute_ideal_seconds"`
	ExecuteVsIdeal     float64 `json:"execute_vs_ideal"`
	// A run's requests (plan and execution) and a Butler-style reference on the same site:
	// one GET /qrs/user/{id} and one DELETE per release, each on a new TCP+TLS connection
	// (TLS sessions resumed, as Node's agent does), one after another.
	RunRequests         int     `json:"run_requests"`
	RequestsPerRelease  float64 `json:"requests_per_release"`
	ButlerRequests      int     `json:"butler_requests"`
	ButlerSeconds       float64 `json:"butler_seconds"`
	ButlerRequestsRatio float64 `json:"requests_ours_vs_butler"`
	ButlerWallRatio     float64 `json:"wall_ours_vs_butler"`
}

// params are the settings of one benchmark run.
type params struct {
	binDir      string
	certs, work string // created by run
	sample      int
	releases    int
	runs        int
	pacing      time.Duration
	concurrency int
	rightsize   string // -rightsize cells
	// -tenant and -tenant-releases
	tenantUsers, tenantReleases int
}

func main() {
	var (
		sizes     = flag.String("sizes", "10000,100000", "users (and allocations) per site")
		latencies = flag.String("latencies", "0ms,20ms,50ms", "per-request latency of the emulator")
		out       = flag.String("out", "results", "folder for bench.csv and bench.json")
		rsize     = flag.String("rightsize", "100000:20000:1000000", "right-sizing cells USERS:APPS:APP_OBJECTS[,…] (empty: none), written to rightsize.json")
		rsOnly    = flag.Bool("rightsize-only", false, "measure only the right-sizing cells")
		tOnly     = flag.Bool("tenant-only", false, "measure only the Qlik Cloud tenant's release runs")
		p         params
	)
	flag.StringVar(&p.binDir, "bin", "bin", "folder with qliksense-license")
	flag.IntVar(&p.sample, "naive-sample", 200, "user look-ups the naive planner really makes; the rest are extrapolated")
	flag.IntVar(&p.releases, "releases", 100, "deletions executed per cell (max_releases_per_run of the benchmark's site)")
	flag.IntVar(&p.runs, "runs", 7, "gathers and raw transfers per cell after the first; the table shows the median")
	flag.DurationVar(&p.pacing, "pacing", 0, "release.pacing of the benchmark's site: least time between two DELETEs")
	flag.IntVar(&p.concurrency, "concurrency", 1, "release.concurrency of the benchmark's site: DELETEs in flight at once")
	flag.IntVar(&p.tenantUsers, "tenant", 10000, "users of the generated Qlik Cloud tenant whose first and next-day release runs are measured (0: none), written to bench-tenant.json")
	flag.IntVar(&p.tenantReleases, "tenant-releases", 200, "max_releases_per_run of the tenant's release runs")
	flag.Parse()
	if *rsOnly {
		*sizes = ""
	}
	if *tOnly {
		*sizes, *rsize = "", ""
	}
	p.rightsize = *rsize
	if err := run(*sizes, *latencies, *out, p); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(sizes, latencies, out string, p params) error {
	var rows []row
	work, err := os.MkdirTemp("", "qliksense-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	p.work, p.certs = work, filepath.Join(work, "certs")
	if err := emulator.CreateCertificates(p.certs); err != nil {
		return err
	}
	now := time.Now().UTC().Truncate(time.Second)
	for _, s := range strings.Split(sizes, ",") {
		if strings.TrimSpace(s) == "" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("-sizes: %w", err)
		}
		for _, l := range strings.Split(latencies, ",") {
			lat, err := time.ParseDuration(strings.TrimSpace(l))
			if err != nil {
				return fmt.Errorf("-latencies: %w", err)
			}
			fmt.Fprintf(os.Stderr, "measuring %d users at %s latency…\n", n, lat)
			r, err := cell(n, lat, now, p)
			if err != nil {
				return err
			}
			rows = append(rows, r)
		}
	}
	if len(rows) > 0 {
		printTable(os.Stdout, rows, p)
		if err := write(out, rows); err != nil {
			return err
		}
	}
	if p.tenantUsers > 0 {
		fmt.Fprintf(os.Stderr, "measuring the release runs of a %d-user tenant…\n", p.tenantUsers)
		ts, err := measureTenant(work, p.tenantUsers, p.tenantReleases, now)
		if err != nil {
			return err
		}
		printTenant(os.Stdout, ts, p.tenantReleases)
		if err := writeTenant(out, ts); err != nil {
			return err
		}
	}
	cells, err := parseRightsize(p.rightsize)
	if err != nil {
		return err
	}
	var rs []rightsizeRow
	for _, c := range cells {
		fmt.Fprintf(os.Stderr, "measuring right-sizing at %d users, %d apps, %d app objects…\n", c[0], c[1], c[2])
		r, err := measureRightsize(p.binDir, work, p.certs, c[0], c[1], c[2], now)
		if err != nil {
			return err
		}
		rs = append(rs, r)
	}
	if len(rs) == 0 {
		return nil
	}
	printRightsize(os.Stdout, rs)
	return writeRightsize(out, rs)
}

// cell measures one site size at one latency: the plugin's gathers against raw transfers,
// the sidecar's plan against the naive planner, and the execution of the plan.
func cell(n int, lat time.Duration, now time.Time, bp params) (row, error) {
	site := emulator.Generate(emulator.SiteSpec{Seed: 1, Users: n, Professional: n / 2, Analyzer: n / 2, Now: now})
	site.SetClock(func() time.Time { return now })
	srv, err := emulator.Start(emulator.Options{Site: site, CertDir: bp.certs, IdleTimeout: idleTimeout})
	if err != nil {
		return row{}, err
	}
	defer srv.Close()
	srv.Faults.Configure(emulator.FaultConfig{Latency: lat})
	r := row{Users: n, Allocations: len(site.Allocations(emulator.KindProfessional)) + len(site.Allocations(emulator.KindAnalyzer)), LatencyMS: int(lat / time.Millisecond)}

	conf := filepath.Join(bp.work, "site.conf")
	if err := os.WriteFile(conf, []byte(srv.PluginConfig("bench", releaseTable(bp.work, bp))), 0o600); err != nil {
		return r, err
	}
	if err := measureGathers(&r, srv, conf, bp); err != nil {
		return r, err
	}
	s, err := release.LoadSite(conf, slog.New(slog.DiscardHandler))
	if err != nil {
		return r, err
	}
	defer s.Client.Close()
	p, err := measurePlan(&r, srv, s, now)
	if err != nil {
		return r, err
	}
	if err := measureNaive(&r, srv, now, bp); err != nil {
		return r, err
	}
	srv.Log.Reset()
	measureExecution(&r, s, p, lat, now)
	r.RunRequests = r.PlanRequests + len(srv.Log.Entries())
	if r.Released > 0 {
		r.RequestsPerRelease = float64(r.RunRequests) / float64(r.Released)
	}
	if err := measureButler(&r, p, n, lat, now, bp); err != nil {
		return r, err
	}
	return r, nil
}

// idleTimeout is how long the emulator keeps an idle connection, as http.sys does (but
// shorter, so that the benchmark need not wait minutes between gathers).
const idleTimeout = 100 * time.Millisecond
