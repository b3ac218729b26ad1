package main

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/influxdata/telegraf/plugins/parsers/influx"
	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/internal/testkit"
)

// TestMain lets the tests run this binary's main as a child process, the way
// inputs.execd runs it.
func TestMain(m *testing.M) {
	if os.Getenv("QLIKSENSE_LICENSE_RUN_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

func writeConfig(t *testing.T, srv *emulator.Server, extra string) string {
	t.Helper()
	conf := srv.PluginConfig("demo", extra)
	path := filepath.Join(t.TempDir(), "qliksense-license.conf")
	require.NoError(t, os.WriteFile(path, []byte(conf), 0o600))
	return path
}

func startEmulator(t *testing.T) *emulator.Server {
	t.Helper()
	return testkit.StartEmulator(t, emulator.Generate(emulator.SiteSpec{Seed: 5, Users: 80, Now: testkit.Now}))
}

func parse(t *testing.T, lp []byte) map[string]int {
	t.Helper()
	p := &influx.Parser{}
	require.NoError(t, p.Init())
	ms, err := p.Parse(lp)
	require.NoError(t, err)
	counts := map[string]int{}
	for _, m := range ms {
		counts[m.Name()]++
	}
	return counts
}

// -once prints one gather as line protocol that Telegraf's own parser reads back.
func TestOnce(t *testing.T) {
	srv := startEmulator(t)
	var out, errOut bytes.Buffer
	code := run([]string{"-config", writeConfig(t, srv, ""), "-once"}, &out, &errOut)
	require.Equal(t, 0, code, errOut.String())
	require.Equal(t, map[string]int{
		"qlik_sense_license": 6, "qlik_sense_server_license": 1, "qlik_sense_license_inactivity": 2, "qlik_sense_license_gather": 1,
	}, parse(t, out.Bytes()))
	require.Empty(t, errOut.String())

	// A failing call: what succeeded is printed, the error goes to stderr as "E! …", exit 1.
	srv.Faults.Inject(emulator.FaultServerError, "GET", "/qrs/license", 100)
	out.Reset()
	code = run([]string{"-config", writeConfig(t, srv, "max_retries = 0"), "-once"}, &out, &errOut)
	require.Equal(t, 1, code)
	require.Contains(t, errOut.String(), "E! reading the access type overview: GET /qrs/license/accesstypeoverview: 500 Internal Server Error")
	require.Equal(t, 1, parse(t, out.Bytes())["qlik_sense_license_gather"])
}

func TestFlags(t *testing.T) {
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{"-version"}, &out, &errOut))
	require.Equal(t, "qliksense-license dev\n", out.String())
	out.Reset()
	require.Equal(t, 0, run([]string{"-sample-config"}, &out, &errOut))
	require.Contains(t, out.String(), "[[inputs.qliksense_license]]")
	require.Equal(t, 2, run(nil, &out, &errOut))
	require.Contains(t, errOut.String(), "E! -config is required")
	errOut.Reset()
	require.Equal(t, 1, run([]string{"-config", "/nonexistent.conf"}, &out, &errOut))
	require.Equal(t, "E! reading configuration: open /nonexistent.conf: no such file or directory\n", errOut.String())
}

// Run as execd runs it: a line on stdin asks for a gather, closing stdin stops the
// process; stderr lines carry Telegraf's level prefixes.
func TestExecdProtocol(t *testing.T) {
	srv := startEmulator(t)
	cmd := exec.Command(os.Args[0], "-config", writeConfig(t, srv, "insecure_skip_verify = true"), "-poll_interval_disabled")
	cmd.Env = append(os.Environ(), "QLIKSENSE_LICENSE_RUN_MAIN=1")
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())

	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	_, err = io.WriteString(stdin, "\n")
	require.NoError(t, err)
	var got []string
	deadline := time.After(30 * time.Second)
	for len(got) < 10 {
		select {
		case l := <-lines:
			got = append(got, l)
		case <-deadline:
			t.Fatalf("no metrics after a gather request; got %v, stderr %s", got, stderr.String())
		}
	}
	require.NoError(t, stdin.Close())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err, "closing stdin stops the plugin cleanly")
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("the plugin did not exit when stdin closed")
	}
	parse(t, []byte(strings.Join(got, "\n")+"\n"))
	for _, l := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		require.Regexp(t, `^[EWID]! `, l)
	}
	require.Contains(t, stderr.String(), "W! insecure_skip_verify is on")
}

// -test: the connection doctor, from the plugin's own binary.
func TestConnectionDoctor(t *testing.T) {
	srv := startEmulator(t)
	path := writeConfig(t, srv, "")
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{"-config", path, "-test"}, &out, &errOut), out.String()+errOut.String())
	require.Contains(t, out.String(), "ok    TLS ")
	require.Contains(t, out.String(), "ok    rights ")

	other := t.TempDir()
	require.NoError(t, emulator.CreateCertificates(other))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, []byte(strings.Replace(string(b), srv.Certs.Dir+"/root.pem", other+"/root.pem", 1)), 0o600))
	out.Reset()
	require.Equal(t, 1, run([]string{"-config", path, "-test"}, &out, &errOut))
	require.Contains(t, out.String(), "FAIL  TLS")
	require.Contains(t, out.String(), "fix: the server certificate is not signed by tls_ca")
}
