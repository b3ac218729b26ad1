package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
)

// The report: the table on standard output, and the same rows as CSV and JSON.

func printTable(w io.Writer, rows []row, p params) {
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
	return writeResults(dir, "bench", rows, []string{"users", "allocations", "latency_ms", "first_gather_seconds", "first_gather_vs_raw", "gather_seconds", "gather_peak_rss_mib", "gather_requests", "gather_bytes",
		"raw_transfer_seconds", "gather_vs_raw", "plan_seconds", "plan_requests", "candidates", "naive_plan_seconds",
		"naive_plan_requests", "naive_extrapolated", "plan_requests_naive_vs_ours", "plan_wall_naive_vs_ours", "released",
		"execute_seconds", "execute_ideal_seconds", "execute_vs_ideal", "run_requests", "requests_per_release",
		"butler_requests", "butler_seconds", "requests_ours_vs_butler", "wall_ours_vs_butler"})
}

// writeResults writes rows to dir as name.json and, with the columns of header (the rows'
// JSON field names), name.csv.
func writeResults[T any](dir, name string, rows []T, header []string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(rows, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, name+".json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, name+".csv"))
	if err != nil {
		return err
	}
	defer f.Close()
	cw := csv.NewWriter(f)
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
