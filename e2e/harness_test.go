//go:build e2e

package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/internal/testkit"
)

// bin is where the Makefile puts the project's binaries and the real Telegraf and influxd.
func bin(name string) string {
	dir := os.Getenv("E2E_BIN")
	if dir == "" {
		dir = "../bin"
	}
	p, _ := filepath.Abs(filepath.Join(dir, name))
	return p
}

// freePort asks the kernel for a free loopback port.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// process is a started binary; it is stopped by PID when the test ends, pass or fail.
type process struct {
	name string
	cmd  *exec.Cmd
	log  *testkit.SyncBuffer
	done chan struct{}
}

func start(t *testing.T, name string, env []string, args ...string) *process {
	t.Helper()
	p := &process{name: name, cmd: exec.Command(bin(name), args...), log: &testkit.SyncBuffer{}, done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	require.NoError(t, p.cmd.Start(), name)
	t.Logf("started %s (pid %d)", name, p.cmd.Process.Pid)
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("--- %s output (last 3000 bytes):\n%s", name, tail(p.log.String(), 3000))
		}
	})
	return p
}

// stop sends SIGTERM, then SIGKILL after 10 seconds.
func (p *process) stop(t *testing.T) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	t.Logf("stopped %s (pid %d)", p.name, p.cmd.Process.Pid)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// runCmd runs a binary to completion and returns its stdout and stderr.
func runCmd(t *testing.T, name string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin(name), args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return out.String(), errOut.String(), code
}

func eventually(t *testing.T, what string, timeout time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if ok() {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", timeout, what)
}

// influx is a real influxd 1.8 on loopback ports with its data in a temporary folder.
type influx struct {
	port int
	url  string
	dir  string
	rpc  int
	proc *process
}

func startInflux(t *testing.T, dir string, port, rpc int) *influx {
	t.Helper()
	i := &influx{port: port, rpc: rpc, url: fmt.Sprintf("http://127.0.0.1:%d", port), dir: dir}
	i.proc = start(t, "influxd", []string{
		"INFLUXDB_HTTP_BIND_ADDRESS=127.0.0.1:" + fmt.Sprint(port),
		"INFLUXDB_BIND_ADDRESS=127.0.0.1:" + fmt.Sprint(rpc),
		"INFLUXDB_META_DIR=" + filepath.Join(dir, "meta"),
		"INFLUXDB_DATA_DIR=" + filepath.Join(dir, "data"),
		"INFLUXDB_DATA_WAL_DIR=" + filepath.Join(dir, "wal"),
		"INFLUXDB_REPORTING_DISABLED=true",
		"INFLUXDB_DATA_QUERY_LOG_ENABLED=false",
		"INFLUXDB_HTTP_LOG_ENABLED=false",
		"INFLUXDB_LOGGING_LEVEL=warn",
	}, "run")
	eventually(t, "influxd to answer /ping", 60*time.Second, func() bool {
		resp, err := http.Get(i.url + "/ping")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusNoContent
	})
	return i
}

// query runs InfluxQL and returns the rows of the first series of the first result as
// column→value maps (all series concatenated).
func (i *influx) query(t *testing.T, db, q string) []map[string]any {
	t.Helper()
	resp, err := http.PostForm(i.url+"/query", url.Values{"db": {db}, "q": {q}, "epoch": {"ns"}})
	require.NoError(t, err)
	defer resp.Body.Close()
	var body struct {
		Results []struct {
			Error  string `json:"error"`
			Series []struct {
				Tags    map[string]string `json:"tags"`
				Columns []string          `json:"columns"`
				Values  [][]any           `json:"values"`
			} `json:"series"`
		} `json:"results"`
		Error string `json:"error"`
	}
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	require.NoError(t, dec.Decode(&body))
	require.Empty(t, body.Error, q)
	var rows []map[string]any
	for _, r := range body.Results {
		require.Empty(t, r.Error, q)
		for _, s := range r.Series {
			for _, v := range s.Values {
				row := map[string]any{}
				for k, tv := range s.Tags {
					row[k] = tv
				}
				for c, col := range s.Columns {
					row[col] = v[c]
				}
				rows = append(rows, row)
			}
		}
	}
	return rows
}

// exec runs an InfluxQL statement that may be run again (CREATE DATABASE), until InfluxDB
// answers it without an error: a 200 alone says nothing (the statement's error is in the
// body), and a database created while influxd still opens its services may not be there
// for the first write.
func (i *influx) exec(t *testing.T, q string) {
	t.Helper()
	var last string
	ran := func() bool {
		resp, err := http.PostForm(i.url+"/query", url.Values{"q": {q}})
		if err != nil {
			last = err.Error()
			return false
		}
		defer resp.Body.Close()
		var body struct {
			Results []struct {
				Error string `json:"error"`
			} `json:"results"`
			Error string `json:"error"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK || body.Error != "" {
			last = fmt.Sprintf("%d %s %v", resp.StatusCode, body.Error, err)
			return false
		}
		for _, r := range body.Results {
			if r.Error != "" {
				last = r.Error
				return false
			}
		}
		return true
	}
	for deadline := time.Now().Add(30 * time.Second); !ran(); time.Sleep(250 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("InfluxDB did not run %s within 30s; its last answer: %s", q, last)
		}
	}
	if db, ok := strings.CutPrefix(q, "CREATE DATABASE "); ok {
		eventually(t, "database "+db+" to be listed", 30*time.Second, func() bool {
			for _, row := range i.query(t, "", "SHOW DATABASES") {
				if row["name"] == db {
					return true
				}
			}
			return false
		})
	}
}

func num(t *testing.T, v any) float64 {
	t.Helper()
	n, ok := v.(json.Number)
	require.True(t, ok, "%v (%T) is not a number", v, v)
	f, err := n.Float64()
	require.NoError(t, err)
	return f
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// fromExample derives Telegraf's configuration from telegraf.conf.example: the same
// [[inputs.execd]] block with this test's paths and a short interval, plus an output to
// the test's InfluxDB and the influxdb_v2_listener.
func fromExample(t *testing.T, pluginConf string, influxURL string, listenerPort int) string {
	t.Helper()
	b, err := os.ReadFile("../telegraf.conf.example")
	require.NoError(t, err)
	example := string(b)
	for old, repl := range map[string]string{
		`"/usr/bin/qliksense-license"`:                    fmt.Sprintf("%q", bin("qliksense-license")),
		`"/etc/qliksense-license/qliksense-license.conf"`: fmt.Sprintf("%q", pluginConf),
		`interval = "5m"`:                                 `interval = "2s"`,
	} {
		require.Contains(t, example, old, "telegraf.conf.example changed: update the e2e derivation")
		example = strings.Replace(example, old, repl, 1)
	}
	return fmt.Sprintf(`[agent]
  interval = "2s"
  flush_interval = "1s"
  omit_hostname = false
  hostname = "e2e"

%s

[[inputs.influxdb_v2_listener]]
  service_address = "127.0.0.1:%d"

[[outputs.influxdb]]
  urls = [%q]
  database = "qliksense"
`, example, listenerPort, influxURL)
}
