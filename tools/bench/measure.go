package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
	"github.com/qliksense-license/qliksense-license/release"
	"github.com/qliksense-license/qliksense-license/release/audit"
	"github.com/qliksense-license/qliksense-license/release/plan"
	"github.com/qliksense-license/qliksense-license/tools/internal/procstat"
)

// The measurements of one cell of the table: gathers, plan, execution, Butler.

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
		if it.Holder.User != "" {
			if err := rawGet(c, srv.URL+"/qrs/user/"+it.Holder.User); err != nil {
				return err
			}
		}
		if err := rawDelete(c, srv.URL+"/qrs"+it.Type.Endpoint()+"/"+it.Holder.ID); err != nil {
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
	ex := &release.Executor{Source: s.Source, Policy: s.Policy, Site: s.Name, Now: func() time.Time { return now },
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
	peak := procstat.PollHWM(cmd.Process.Pid)
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

type nopRecorder struct{}

func (nopRecorder) Intent(audit.Outcome) error { return nil }

func (nopRecorder) Outcome(audit.Outcome) error { return nil }

func (nopRecorder) Summary(audit.Summary) error { return nil }
