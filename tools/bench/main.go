// Command bench measures the plugin's gather and the sidecar's plan and execution against
// the QRS emulator, beside two references measured in the same run on the same emulator:
// the raw transfer of the same QRS responses (the floor for a gather) and a naive
// Butler-style planner (one list request, then one GET /qrs/user/{id} per candidate).
// It prints one table and writes it as CSV and JSON. Run it with `make bench`.
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/qliksense-license/qliksense-license/internal/testkit"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs/emulator"
	"github.com/qliksense-license/qliksense-license/release"
	"github.com/qliksense-license/qliksense-license/release/audit"
	"github.com/qliksense-license/qliksense-license/release/plan"
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
}

func main() {
	var (
		sizes     = flag.String("sizes", "10000,100000", "users (and allocations) per site")
		latencies = flag.String("latencies", "0ms,20ms,50ms", "per-request latency of the emulator")
		out       = flag.String("out", "results", "folder for bench.csv and bench.json")
		rsize     = flag.String("rightsize", "100000:20000:1000000", "right-sizing cells USERS:APPS:APP_OBJECTS[,…] (empty: none), written to rightsize.json")
		rsOnly    = flag.Bool("rightsize-only", false, "measure only the right-sizing cells")
		p         params
	)
	flag.StringVar(&p.binDir, "bin", "bin", "folder with qliksense-license")
	flag.IntVar(&p.sample, "naive-sample", 200, "user look-ups the naive planner really makes; the rest are extrapolated")
	flag.IntVar(&p.releases, "releases", 100, "deletions executed per cell (max_releases_per_run of the benchmark's site)")
	flag.IntVar(&p.runs, "runs", 7, "gathers and raw transfers per cell after the first; the table shows the median")
	flag.DurationVar(&p.pacing, "pacing", 0, "release.pacing of the benchmark's site: least time between two DELETEs")
	flag.IntVar(&p.concurrency, "concurrency", 1, "release.concurrency of the benchmark's site: DELETEs in flight at once")
	flag.Parse()
	if *rsOnly {
		*sizes = ""
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
		print(os.Stdout, rows, p)
		if err := write(out, rows); err != nil {
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

// measureButler releases the plan's first releases the way Butler does, on a fresh copy of
// the same site: per release one GET /qrs/user/{id} and one DELETE, sequential, each on a
// new connection.
func measureButler(r *row, p *plan.Plan, n int, lat time.Duration, now time.Time, bp params) error {
	site := emulator.Generate(emulator.SiteSpec{Seed: 1, Users: n, Professional: n / 2, Analyzer: n / 2, Now: now})
	site.SetClock(func() time.Time { return now })
	srv, err := emulator.Start(emulator.Options{Site: site, CertDir: bp.certs, IdleTimeout: idleTimeout})
	if err != nil {
		return err
	}
	defer srv.Close()
	srv.Faults.Configure(emulator.FaultConfig{Latency: lat})
	cfg, err := testkit.CertFiles(bp.certs).TLSConfig()
	if err != nil {
		return err
	}
	cfg.ClientSessionCache = tls.NewLRUClientSessionCache(0)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}}
	releases := p.Releases()[:r.Released]
	start := time.Now()
	for _, it := range releases {
		if it.Allocation.User != nil {
			if err := rawGet(c, srv.URL+"/qrs/user/"+it.Allocation.User.ID); err != nil {
				return err
			}
		}
		if err := rawDelete(c, srv.URL+"/qrs"+it.Type.Endpoint()+"/"+it.Allocation.ID); err != nil {
			return err
		}
	}
	r.ButlerSeconds = time.Since(start).Seconds()
	r.ButlerRequests = len(srv.Log.Entries())
	if r.ButlerRequests > 0 {
		r.ButlerRequestsRatio = float64(r.RunRequests) / float64(r.ButlerRequests)
		r.ButlerWallRatio = (r.PlanSeconds + r.ExecuteSeconds) / r.ButlerSeconds
	}
	return nil
}

// idleTimeout is how long the emulator keeps an idle connection, as http.sys does (but
// shorter, so that the benchmark need not wait minutes between gathers).
const idleTimeout = 100 * time.Millisecond

// measureGathers runs the plugin's gathers as Telegraf's execd runs it: one long-lived
// process that gathers at each newline on stdin. The first gather starts cold (new
// process, full TLS handshakes); the later ones are what every interval costs in
// production: QRS (http.sys) has closed the idle connections meanwhile, so each opens new
// ones, resuming the TLS session. The raw transfer of the same responses is taken as many
// times, on a new connection each time (with a resumed session too, so the floor is as low
// as it gets). Gathers and raw transfers alternate, so that both see the same moments of a
// noisy machine; each figure is the median of its runs.
func measureGathers(r *row, srv *emulator.Server, conf string, bp params) error {
	srv.Log.Reset()
	sessions := tls.NewLRUClientSessionCache(0)
	var (
		raws    []float64
		entries []emulator.LoggedRequest
	)
	first, steady, hwm, err := gathers(bp.binDir, conf, bp.runs, 3*idleTimeout, func() error {
		if entries == nil {
			entries = srv.Log.Entries() // the first gather's requests
		}
		raw, err := rawTransfer(bp.certs, sessions, srv.URL, entries)
		raws = append(raws, raw)
		return err
	})
	if err != nil {
		return err
	}
	r.FirstGatherSeconds = first
	r.GatherSeconds = median(steady)
	r.GatherPeakRSSMiB = float64(hwm) / 1024
	r.GatherRequests = len(entries)
	for _, e := range entries {
		r.GatherBytes += e.Bytes
	}
	r.RawSeconds = median(raws[1:]) // the first one made the session to resume
	r.GatherVsRaw = r.GatherSeconds / r.RawSeconds
	r.FirstGatherVsRaw = r.FirstGatherSeconds / r.RawSeconds
	return nil
}

// measurePlan times the sidecar's plan and counts its requests.
func measurePlan(r *row, srv *emulator.Server, s *release.Site, now time.Time) (*plan.Plan, error) {
	srv.Log.Reset()
	start := time.Now()
	p, err := plan.Make(context.Background(), s.Client, s.Policy, s.Name, now, nil)
	if err != nil {
		return nil, err
	}
	r.PlanSeconds = time.Since(start).Seconds()
	r.PlanRequests = len(srv.Log.Entries())
	for _, t := range p.Totals {
		r.Candidates += t.Release + t.Deferred
	}
	return p, nil
}

// measureNaive runs the naive planner (Butler's list with lastUsed le cutoff, then one
// user at a time) and compares the plan with it.
func measureNaive(r *row, srv *emulator.Server, now time.Time, bp params) error {
	hc, err := rawClient(bp.certs)
	if err != nil {
		return err
	}
	defer hc.CloseIdleConnections()
	srv.Log.Reset()
	r.NaiveSeconds, r.NaiveRequests, r.NaiveExtrapolated, err = naive(hc, srv.URL, now, bp.sample)
	if err != nil {
		return err
	}
	r.PlanRequestsRatio = float64(r.NaiveRequests) / float64(r.PlanRequests)
	r.PlanWallRatio = r.NaiveSeconds / r.PlanSeconds
	return nil
}

// measureExecution executes the plan's releases at the site's pacing and concurrency.
// Ideally each costs a round trip shared by the DELETEs in flight, or the pacing if that
// is longer.
func measureExecution(r *row, s *release.Site, p *plan.Plan, lat time.Duration, now time.Time) {
	st := s.Settings
	ex := &release.Executor{Client: s.Client, Policy: s.Policy, Site: s.Name, Now: func() time.Time { return now },
		Pacing: st.Pacing, Concurrency: st.Concurrency, Recorder: nopRecorder{}, Log: slog.New(slog.DiscardHandler)}
	start := time.Now()
	sum := ex.Run(context.Background(), nil, p)
	r.ExecuteSeconds = time.Since(start).Seconds()
	r.Released = sum.Released + sum.Quarantined
	r.ExecuteIdealSecond = float64(r.Released) * max(lat.Seconds()/float64(st.Concurrency), st.Pacing.Seconds())
	if r.ExecuteIdealSecond > 0 {
		r.ExecuteVsIdeal = r.ExecuteSeconds / r.ExecuteIdealSecond
	}
}

// gathers runs the plugin in execd mode and signals runs+1 gathers, calling between after
// each, and pausing longer than the server keeps idle connections before the next. It returns the first gather's wall time
// and the later ones' (as the plugin measures them), and the process's peak RSS in KiB:
// VmHWM of its own memory map, polled until it exits (the rusage of a child would count
// this big benchmark process, forked before exec).
func gathers(binDir, conf string, runs int, pause time.Duration, between func() error) (float64, []float64, int64, error) {
	cmd := exec.Command(filepath.Join(binDir, "qliksense-license"), "-config", conf, "-poll_interval_disabled")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return 0, nil, 0, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, nil, 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, nil, 0, fmt.Errorf("gather: %w", err)
	}
	peak := pollHWM(cmd.Process.Pid)
	lines := bufio.NewScanner(stdout)
	lines.Buffer(make([]byte, 1<<20), 1<<20)
	var walls []float64
	for i := range runs + 1 {
		if i > 0 {
			time.Sleep(pause)
		}
		if _, err := io.WriteString(stdin, "\n"); err != nil {
			return 0, nil, 0, fmt.Errorf("gather: signalling: %w", err)
		}
		for lines.Scan() {
			if d, ok := gatherSeconds(lines.Text()); ok {
				walls = append(walls, d)
				break
			}
		}
		if err := between(); err != nil {
			_ = cmd.Process.Kill()
			return 0, nil, 0, err
		}
	}
	_ = stdin.Close()
	waitErr := cmd.Wait()
	hwm := peak()
	if len(walls) != runs+1 {
		return 0, nil, 0, fmt.Errorf("gather: %d of %d gathers reported (%v)", len(walls), runs+1, waitErr)
	}
	return walls[0], walls[1:], hwm, nil
}

// rawTransfer GETs the distinct requests of a gather one after the other, on a new
// client, into io.Discard: the floor for a gather.
func rawTransfer(certs string, sessions tls.ClientSessionCache, base string, entries []emulator.LoggedRequest) (float64, error) {
	seen := map[string]bool{}
	var ordered []string
	for _, e := range entries {
		p := e.Path + "?" + e.Query
		if !seen[p] {
			seen[p] = true
			ordered = append(ordered, p)
		}
	}
	hc, err := rawClient(certs)
	if err != nil {
		return 0, err
	}
	hc.Transport.(*http.Transport).TLSClientConfig.ClientSessionCache = sessions
	defer hc.CloseIdleConnections()
	start := time.Now()
	for _, p := range ordered {
		if err := rawGet(hc, base+p); err != nil {
			return 0, err
		}
	}
	return time.Since(start).Seconds(), nil
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// pollHWM polls a process's VmHWM every 2 ms until the returned function is called (once
// the process has exited), which returns the peak in KiB.
func pollHWM(pid int) func() int64 {
	var hwm atomic.Int64
	stop := make(chan struct{})
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		for {
			if kb := vmHWM(pid); kb > hwm.Load() {
				hwm.Store(kb)
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	return func() int64 {
		close(stop)
		<-polled
		return hwm.Load()
	}
}

// vmHWM reads the peak resident set size, in KiB, of a running process (Linux).
func vmHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

func releaseTable(work string, p params) string {
	return fmt.Sprintf(`  [inputs.qliksense_license.release]
    dry_run = false
    max_releases_per_run = %d
    pacing = %q
    concurrency = %d
    state_dir = %q
%s`, p.releases, p.pacing.String(), p.concurrency, filepath.Join(work, "state"), testkit.PolicyTables)
}

// gatherSeconds reads duration_seconds from a qlik_sense_license_gather line.
func gatherSeconds(line string) (float64, bool) {
	if !strings.HasPrefix(line, "qlik_sense_license_gather") {
		return 0, false
	}
	for _, f := range strings.Split(strings.Fields(line)[1], ",") {
		if v, ok := strings.CutPrefix(f, "duration_seconds="); ok {
			d, err := strconv.ParseFloat(v, 64)
			return d, err == nil
		}
	}
	return 0, false
}

func rawClient(certs string) (*http.Client, error) {
	cfg, err := testkit.CertFiles(certs).TLSConfig()
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}}, nil
}

const key = "abcdefghij123456"

func rawGet(c *http.Client, u string) error { return rawDo(c, http.MethodGet, u, http.StatusOK) }

func rawDelete(c *http.Client, u string) error {
	return rawDo(c, http.MethodDelete, u, http.StatusNoContent)
}

// rawDo sends one request with a matching xrfkey, reads the body and checks the status.
func rawDo(c *http.Client, method, u string, want int) error {
	if strings.Contains(u, "?") {
		u += "&"
	} else {
		u += "?"
	}
	req, err := http.NewRequest(method, u+"xrfkey="+key, nil)
	if err != nil {
		return err
	}
	req.Header.Set("X-Qlik-Xrfkey", key)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %s", method, u, resp.Status)
	}
	return nil
}

// naive plans like Butler: per type, GET …/full?filter=lastUsed le '<cutoff>', then one
// GET /qrs/user/{id} per candidate. Look-ups beyond sample are extrapolated from the mean
// of those made (each costs one round trip; the emulator's latency dominates).
func naive(c *http.Client, base string, now time.Time, sample int) (seconds float64, requests int, extrapolated bool, err error) {
	cutoff := now.Add(-30 * 24 * time.Hour).Format("2006-01-02T15:04:05.000Z")
	var userIDs []string
	start := time.Now()
	for _, t := range []string{"professional", "analyzer"} {
		q := url.Values{"filter": {"lastUsed le '" + cutoff + "'"}}
		resp, err := get(c, base+"/qrs/license/"+t+"accesstype/full?"+q.Encode())
		if err != nil {
			return 0, 0, false, err
		}
		var rows []struct {
			Quarantined bool `json:"quarantined"`
			User        *struct {
				ID string `json:"id"`
			} `json:"user"`
		}
		err = json.NewDecoder(resp.Body).Decode(&rows)
		resp.Body.Close()
		if err != nil {
			return 0, 0, false, err
		}
		requests++
		for _, r := range rows {
			if !r.Quarantined && r.User != nil {
				userIDs = append(userIDs, r.User.ID)
			}
		}
	}
	listTime := time.Since(start)
	made := min(sample, len(userIDs))
	start = time.Now()
	for _, id := range userIDs[:made] {
		if err := rawGet(c, base+"/qrs/user/"+id); err != nil {
			return 0, 0, false, err
		}
	}
	lookups := time.Since(start)
	requests += len(userIDs)
	total := listTime
	if made > 0 {
		total += time.Duration(float64(lookups) / float64(made) * float64(len(userIDs)))
	}
	return total.Seconds(), requests, made < len(userIDs), nil
}

func get(c *http.Client, u string) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodGet, u+"&xrfkey="+key, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Qlik-Xrfkey", key)
	return c.Do(req)
}

type nopRecorder struct{}

func (nopRecorder) Intent(audit.Outcome) error  { return nil }
func (nopRecorder) Outcome(audit.Outcome) error { return nil }
func (nopRecorder) Summary(audit.Summary) error { return nil }

func print(w io.Writer, rows []row, p params) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "users\tlatency\tfirst s\tfirst/raw\tgather s\traw s\tgather/raw\tpeak RSS MiB\treq\tMB\tplan s\tplan req\tcandidates\tnaive s\tnaive req\treq ratio\twall ratio\treleased\texec s\tideal s\texec/ideal\trun req\treq/release\tbutler req\tbutler s\treq ours/butler\twall ours/butler\t")
	for _, r := range rows {
		naiveS := fmt.Sprintf("%.2f", r.NaiveSeconds)
		if r.NaiveExtrapolated {
			naiveS += "*"
		}
		execRatio := "-" // no latency: no ideal to compare with
		if r.ExecuteIdealSecond > 0 {
			execRatio = fmt.Sprintf("%.2f", r.ExecuteVsIdeal)
		}
		fmt.Fprintf(tw, "%d\t%dms\t%.3f\t%.2f\t%.3f\t%.3f\t%.2f\t%.1f\t%d\t%.1f\t%.3f\t%d\t%d\t%s\t%d\t%.0f\t%.0f\t%d\t%.2f\t%.2f\t%s\t%d\t%.2f\t%d\t%.2f\t%.2f\t%.2f\t\n",
			r.Users, r.LatencyMS, r.FirstGatherSeconds, r.FirstGatherVsRaw, r.GatherSeconds, r.RawSeconds, r.GatherVsRaw, r.GatherPeakRSSMiB, r.GatherRequests, float64(r.GatherBytes)/1e6,
			r.PlanSeconds, r.PlanRequests, r.Candidates, naiveS, r.NaiveRequests, r.PlanRequestsRatio, r.PlanWallRatio,
			r.Released, r.ExecuteSeconds, r.ExecuteIdealSecond, execRatio,
			r.RunRequests, r.RequestsPerRelease, r.ButlerRequests, r.ButlerSeconds, r.ButlerRequestsRatio, r.ButlerWallRatio)
	}
	tw.Flush()
	fmt.Fprintln(w, "first = the first gather of the plugin's process; gather = the median of the later ones (new connections, resumed TLS)")
	fmt.Fprintln(w, "* extrapolated from the look-ups actually made (-naive-sample); each is one round trip")
	fmt.Fprintf(w, "exec: %d releases at pacing %s, concurrency %d; ideal = released × max(latency / concurrency, pacing)\n", p.releases, p.pacing, p.concurrency)
	fmt.Fprintln(w, "run req = the plan's and the execution's requests; butler = one user GET and one DELETE per release, a new connection each, sequential, on the same site")
	fmt.Fprintln(w, "targets: gather/raw ≤ 1.3; peak RSS ≤ 64 MiB at 100k; ≤ 6 requests per gather; req and wall ratio ≥ 20 at 50ms; exec/ideal ≤ 1.1; run req ≤ N + 3⌈N/k⌉ + 3 (req ours/butler ≈ 0.5)")
}

func write(dir string, rows []row) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(rows, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "bench.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "bench.csv"))
	if err != nil {
		return err
	}
	defer f.Close()
	cw := csv.NewWriter(f)
	header := []string{"users", "allocations", "latency_ms", "first_gather_seconds", "first_gather_vs_raw", "gather_seconds", "gather_peak_rss_mib", "gather_requests", "gather_bytes",
		"raw_transfer_seconds", "gather_vs_raw", "plan_seconds", "plan_requests", "candidates", "naive_plan_seconds",
		"naive_plan_requests", "naive_extrapolated", "plan_requests_naive_vs_ours", "plan_wall_naive_vs_ours", "released",
		"execute_seconds", "execute_ideal_seconds", "execute_vs_ideal", "run_requests", "requests_per_release",
		"butler_requests", "butler_seconds", "requests_ours_vs_butler", "wall_ours_vs_butler"}
	var m []map[string]any
	_ = json.Unmarshal(b, &m)
	_ = cw.Write(header)
	for _, r := range m {
		var rec []string
		for _, k := range header {
			rec = append(rec, fmt.Sprint(r[k]))
		}
		_ = cw.Write(rec)
	}
	cw.Flush()
	return cw.Error()
}
