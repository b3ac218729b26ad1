package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/plugins/common/history"
	"github.com/qliksense-license/qliksense-license/tools/internal/procstat"
)

// queryCost is what the one history query costs on two years of one-minute history per
// type, in a real InfluxDB 1.8.
type queryCost struct {
	PointsPerType    int     `json:"points_per_type"`
	Days             int     `json:"days"`
	WriteSeconds     float64 `json:"write_seconds"`
	QuerySeconds     float64 `json:"query_seconds"`
	ResponseBytes    int64   `json:"response_bytes"`
	PluginPeakRSSMiB float64 `json:"plugin_peak_rss_mib"`
	PluginSeconds    float64 `json:"plugin_seconds"`
}

const costDays = 730

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func measureQuery(influxd, plugin string) (*queryCost, error) {
	dir, err := os.MkdirTemp("", "forecastbench")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	rpc, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(influxd, "run")
	cmd.Env = append(os.Environ(),
		fmt.Sprintf("INFLUXDB_HTTP_BIND_ADDRESS=127.0.0.1:%d", port), fmt.Sprintf("INFLUXDB_BIND_ADDRESS=127.0.0.1:%d", rpc),
		"INFLUXDB_META_DIR="+filepath.Join(dir, "meta"), "INFLUXDB_DATA_DIR="+filepath.Join(dir, "data"),
		"INFLUXDB_DATA_WAL_DIR="+filepath.Join(dir, "wal"), "INFLUXDB_REPORTING_DISABLED=true",
		"INFLUXDB_HTTP_LOG_ENABLED=false", "INFLUXDB_DATA_QUERY_LOG_ENABLED=false", "INFLUXDB_LOGGING_LEVEL=warn")
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(url + "/ping"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("influxd did not answer on %s", url)
		}
	}
	if _, err := http.Post(url+"/query?q=CREATE+DATABASE+qliksense", "", nil); err != nil {
		return nil, err
	}

	// Two years of one-minute points per seat type, as Telegraf writes them every minute.
	now := time.Now().UTC()
	start := now.Add(-costDays * 24 * time.Hour).Truncate(time.Minute)
	qc := &queryCost{Days: costDays}
	began := time.Now()
	var b strings.Builder
	lines := 0
	flush := func() error {
		if lines == 0 {
			return nil
		}
		resp, err := http.Post(url+"/write?db=qliksense&precision=s", "text/plain", strings.NewReader(b.String()))
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			return fmt.Errorf("writing the history: %s", resp.Status)
		}
		b.Reset()
		lines = 0
		return nil
	}
	for _, t := range history.Types {
		n := 0
		for at := start; at.Before(now); at = at.Add(time.Minute) {
			d := at.Sub(start).Hours() / 24
			fmt.Fprintf(&b, "qlik_sense_license,license_type=%s,site=bench allocated=%d,quarantined=%d,total=2000,available=%d %d\n",
				t, 800+int(d*0.6), int(d)%7, 1200-int(d*0.6), at.Unix())
			lines++
			n++
			if lines == 50000 {
				if err := flush(); err != nil {
					return nil, err
				}
			}
		}
		qc.PointsPerType = n
	}
	if err := flush(); err != nil {
		return nil, err
	}
	qc.WriteSeconds = time.Since(began).Seconds()
	fmt.Fprintf(os.Stderr, "wrote %d points per type in %.1f s\n", qc.PointsPerType, qc.WriteSeconds)

	c := &history.Client{URL: url, Database: "qliksense", Timeout: 5 * time.Minute}
	q := history.Query{SiteTag: "site", Site: "bench", Days: costDays, Now: now}
	if _, err := c.Read(context.Background(), q); err != nil { // the first read warms the caches
		return nil, err
	}
	began = time.Now()
	a, err := c.Read(context.Background(), q)
	if err != nil {
		return nil, err
	}
	qc.QuerySeconds, qc.ResponseBytes = time.Since(began).Seconds(), a.Bytes
	if plugin != "" {
		if err := pluginRSS(plugin, url, dir, qc); err != nil {
			return nil, err
		}
	}
	return qc, nil
}

// pluginRSS runs the plugin once (-once) on a small emulated site with the forecast on,
// reading the two years, and measures its peak RSS and wall time.
func pluginRSS(plugin, influx, dir string, qc *queryCost) error {
	site := emulator.Generate(emulator.SiteSpec{Seed: 5, Users: 200})
	srv, err := emulator.Start(emulator.Options{Site: site, CertDir: filepath.Join(dir, "certs")})
	if err != nil {
		return err
	}
	defer srv.Close()
	conf := filepath.Join(dir, "site.conf")
	body := srv.PluginConfig("bench", fmt.Sprintf("  [inputs.qliksense_license.forecast]\n    enabled = true\n    url = %q\n    database = \"qliksense\"\n    lookback_days = %d\n", influx, costDays))
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		return err
	}
	cmd := exec.Command(plugin, "-config", conf, "-once")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	began := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	peak := procstat.PollHWM(cmd.Process.Pid)
	err = cmd.Wait()
	qc.PluginPeakRSSMiB = float64(peak()) / 1024
	qc.PluginSeconds = time.Since(began).Seconds()
	if err != nil {
		return fmt.Errorf("the plugin: %w: %s", err, out.String())
	}
	if !strings.Contains(out.String(), "qlik_sense_license_forecast,") {
		return fmt.Errorf("the plugin wrote no forecast: %s", out.String())
	}
	return nil
}
