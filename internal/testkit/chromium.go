package testkit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var chromiumOnce struct {
	sync.Once
	path string
	err  string
}

// Chromium is Debian's chromium, the real browser the license report is checked in;
// scripts/chromium.sh installs it when it is missing (as root, as CI runs).
func Chromium(t testing.TB) string {
	t.Helper()
	chromiumOnce.Do(func() {
		if p, err := exec.LookPath("chromium"); err == nil {
			chromiumOnce.path = p
			return
		}
		_, file, _, _ := runtime.Caller(0)
		script := filepath.Join(filepath.Dir(file), "..", "..", "scripts", "chromium.sh")
		out, err := exec.Command("bash", script).CombinedOutput()
		if err != nil {
			chromiumOnce.err = "installing chromium: " + err.Error() + ": " + string(out)
			return
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		chromiumOnce.path = lines[len(lines)-1]
	})
	if chromiumOnce.err != "" {
		t.Fatal(chromiumOnce.err)
	}
	return chromiumOnce.path
}

// Page is what the browser made of a page: its DOM after loading, the URLs the page
// itself asked the network for (from Chromium's net log; the browser's own background
// requests, which have no initiating page, are not the page's), and its console messages
// (a request its Content-Security-Policy blocked never reaches the net log: it is here).
type Page struct {
	DOM      string
	Requests []string
	Console  []string
}

// chromiumFlags: headless, no sandbox (root in CI), no /dev/shm (a container's 64 MB
// crashes a renderer), and none of the browser's own network features.
var chromiumFlags = []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"}

// chromiumTimeout bounds one browser run: a hung browser fails its test with what it
// wrote, instead of hanging the package until go test's own timeout.
const chromiumTimeout = 2 * time.Minute

func chromium(t testing.TB, args ...string) (stdout []byte, stderr string) {
	t.Helper()
	dir := t.TempDir()
	args = append(append(append([]string{}, chromiumFlags...), "--user-data-dir="+filepath.Join(dir, "profile")), args...)
	out, errOut, err := runBrowser(Chromium(t), dir, chromiumTimeout, args...)
	if err != nil {
		t.Fatalf("chromium %v: %v: %s", args, err, errOut)
	}
	return out, errOut
}

// runBrowser runs a browser in its own process group, its output in files (a helper
// process that keeps a pipe open cannot hold Wait), for at most timeout; when it ends, or
// the time is up, every process of the group is killed: no renderer or zygote outlives
// the test.
func runBrowser(path, dir string, timeout time.Duration, args ...string) (stdout []byte, stderr string, err error) {
	outF, err := os.CreateTemp(dir, "stdout")
	if err != nil {
		return nil, "", err
	}
	defer outF.Close()
	errF, err := os.CreateTemp(dir, "stderr")
	if err != nil {
		return nil, "", err
	}
	defer errF.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdout, cmd.Stderr = outF, errF
	ownGroup(cmd)
	err = cmd.Run()
	killGroup(cmd)
	if ctx.Err() != nil {
		err = fmt.Errorf("no answer within %s, killed (%v)", timeout, err)
	}
	o, rerr := os.ReadFile(outF.Name())
	e, _ := os.ReadFile(errF.Name())
	return o, string(e), errors.Join(err, rerr)
}

// LoadPage loads the HTML file in Chromium and returns its DOM and the requests it made.
func LoadPage(t testing.TB, htmlFile string) Page {
	t.Helper()
	abs, err := filepath.Abs(htmlFile)
	if err != nil {
		t.Fatal(err)
	}
	netlog := filepath.Join(t.TempDir(), "netlog.json")
	dom, logs := chromium(t, "--enable-logging=stderr", "--v=0", "--log-net-log="+netlog, "--dump-dom", "file://"+abs)
	p := Page{DOM: string(dom), Requests: pageRequests(t, netlog)}
	for _, line := range strings.Split(logs, "\n") {
		if _, msg, ok := strings.Cut(line, ":CONSOLE"); ok {
			p.Console = append(p.Console, msg)
		}
	}
	return p
}

// Screenshot renders the HTML file to a PNG of the given window size.
func Screenshot(t testing.TB, htmlFile, png string, width, height int) {
	t.Helper()
	abs, err := filepath.Abs(htmlFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(png), 0o755); err != nil {
		t.Fatal(err)
	}
	pngAbs, _ := filepath.Abs(png)
	_, _ = chromium(t, "--window-size="+strconv.Itoa(width)+","+strconv.Itoa(height), "--screenshot="+pngAbs, "file://"+abs)
	if st, err := os.Stat(pngAbs); err != nil || st.Size() == 0 {
		t.Fatalf("chromium wrote no screenshot to %s: %v", png, err)
	}
}

// pageRequests reads a net log: the URL of each request job started on behalf of a page
// (an initiator other than "not an origin", which marks the browser's own).
func pageRequests(t testing.TB, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading chromium's net log: %v", err)
	}
	// A net log cut short (the browser exits as it writes) lacks its closing "]}".
	var log struct {
		Constants struct {
			LogEventTypes map[string]int `json:"logEventTypes"`
		} `json:"constants"`
		Events []struct {
			Type   int            `json:"type"`
			Params map[string]any `json:"params"`
		} `json:"events"`
	}
	if err := json.Unmarshal(b, &log); err != nil {
		if err := json.Unmarshal([]byte(strings.TrimRight(string(b), "\n ,")+"]}"), &log); err != nil {
			t.Fatalf("decoding chromium's net log: %v", err)
		}
	}
	start, ok := log.Constants.LogEventTypes["URL_REQUEST_START_JOB"]
	if !ok {
		t.Fatal("chromium's net log names no URL_REQUEST_START_JOB event")
	}
	var urls []string
	for _, e := range log.Events {
		if e.Type != start {
			continue
		}
		u, _ := e.Params["url"].(string)
		if init, _ := e.Params["initiator"].(string); u != "" && init != "not an origin" {
			urls = append(urls, u)
		}
	}
	return urls
}
