package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/tools/internal/procstat"
)

// rightsizeRow is one right-sizing measurement: the sidecar's rightsize command, a
// separate process, against a site of that size.
type rightsizeRow struct {
	Users               int     `json:"users"`
	Apps                int     `json:"apps"`
	AppObjects          int     `json:"app_objects"`
	ProfessionalHolders int     `json:"professional_holders"`
	AnalyzerCandidates  int     `json:"analyzer_candidates"`
	Requests            int     `json:"qrs_requests"`
	Seconds             float64 `json:"seconds"`
	PeakRSSMiB          float64 `json:"peak_rss_mib"`
	SheetsRead          int     `json:"sheets_read"`
}

// parseRightsize reads -rightsize "USERS:APPS:OBJECTS[,…]".
func parseRightsize(spec string) ([][3]int, error) {
	var out [][3]int
	for _, cell := range strings.Split(spec, ",") {
		if strings.TrimSpace(cell) == "" {
			continue
		}
		parts := strings.Split(strings.TrimSpace(cell), ":")
		if len(parts) != 3 {
			return nil, fmt.Errorf("-rightsize %q: expected USERS:APPS:OBJECTS", cell)
		}
		var v [3]int
		for i, p := range parts {
			n, err := strconv.Atoi(p)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("-rightsize %q: expected positive numbers", cell)
			}
			v[i] = n
		}
		out = append(out, v)
	}
	return out, nil
}

// measureRightsize runs `qliksense-license-release rightsize` once against a generated
// site and reads its wall time, its QRS requests (from the emulator's log) and its peak
// RSS (VmHWM, polled until it exits).
func measureRightsize(binDir, work, certs string, users, apps, objects int, now time.Time) (rightsizeRow, error) {
	r := rightsizeRow{Users: users, Apps: apps, AppObjects: objects}
	site := emulator.Generate(emulator.SiteSpec{Seed: 3, Users: users, Apps: apps, AppObjects: objects, Now: now})
	site.SetClock(func() time.Time { return now })
	srv, err := emulator.Start(emulator.Options{Site: site, CertDir: certs, IdleTimeout: idleTimeout})
	if err != nil {
		return r, err
	}
	defer srv.Close()
	conf := filepath.Join(work, "rightsize.conf")
	if err := os.WriteFile(conf, []byte(srv.PluginConfig("bench", "")), 0o600); err != nil {
		return r, err
	}
	var out bytes.Buffer
	cmd := exec.Command(filepath.Join(binDir, "qliksense-license-release"), "rightsize", "-config", conf, "-format", "json")
	cmd.Stdout, cmd.Stderr = &out, io.Discard
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return r, fmt.Errorf("rightsize: %w", err)
	}
	peak := procstat.PollHWM(cmd.Process.Pid)
	err = cmd.Wait()
	r.Seconds = time.Since(start).Seconds()
	hwm := peak()
	if err != nil {
		return r, fmt.Errorf("rightsize: %w", err)
	}
	var rep struct {
		Totals      map[string]int `json:"totals"`
		QRSRequests int            `json:"qrs_requests"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		return r, fmt.Errorf("rightsize: reading its report: %w", err)
	}
	r.ProfessionalHolders, r.AnalyzerCandidates = rep.Totals["professional_holders"], rep.Totals["analyzer_candidates"]
	r.Requests = len(srv.Log.Entries())
	r.PeakRSSMiB = float64(hwm) / 1024
	since := now.Add(-90 * 24 * time.Hour)
	for _, o := range site.AppObjects() {
		if o.ObjectType == "sheet" && !o.Modified.Before(since) {
			r.SheetsRead++
		}
	}
	return r, nil
}

func printRightsize(w io.Writer, rows []rightsizeRow) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "users\tapps\tapp objects\tsheets in window\tholders\tcandidates\treq\twall s\tpeak RSS MiB\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\t%d\t%d\t%.2f\t%.1f\t\n", r.Users, r.Apps, r.AppObjects, r.SheetsRead,
			r.ProfessionalHolders, r.AnalyzerCandidates, r.Requests, r.Seconds, r.PeakRSSMiB)
	}
	_ = tw.Flush()
}

func writeRightsize(dir string, rows []rightsizeRow) error {
	b, err := json.MarshalIndent(rows, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "rightsize.json"), append(b, '\n'), 0o644)
}
