package testkit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The browser check sees what a page asks the network for, and only that: a page with an
// image and a style sheet from elsewhere is caught; the browser's own requests are not
// counted against a clean page.
func TestLoadPageSeesThePagesRequests(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.html")
	clean := filepath.Join(dir, "clean.html")
	if err := os.WriteFile(bad, []byte(`<!DOCTYPE html><html><body><p>x</p><img src="http://127.0.0.1:9/x.png"><link rel="stylesheet" href="http://127.0.0.1:9/a.css"></body></html>`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(clean, []byte(`<!DOCTYPE html><html><body><p class="k">clean</p></body></html>`), 0o600); err != nil {
		t.Fatal(err)
	}
	p := LoadPage(t, bad)
	if len(p.Requests) != 2 || !strings.Contains(strings.Join(p.Requests, " "), "127.0.0.1:9/x.png") {
		t.Fatalf("requests of the bad page: %v", p.Requests)
	}
	p = LoadPage(t, clean)
	if len(p.Requests) != 0 || len(p.Console) != 0 || !strings.Contains(p.DOM, `<p class="k">clean</p>`) {
		t.Fatalf("clean page: requests %v, console %v, DOM %s", p.Requests, p.Console, p.DOM)
	}
	// Under a policy that forbids it, the request is blocked before the network: the
	// console says so.
	csp := filepath.Join(dir, "csp.html")
	if err := os.WriteFile(csp, []byte(`<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="default-src 'none'"></head><body><img src="http://127.0.0.1:9/y.png"></body></html>`), 0o600); err != nil {
		t.Fatal(err)
	}
	p = LoadPage(t, csp)
	if len(p.Requests) != 0 || len(p.Console) != 1 || !strings.Contains(p.Console[0], "violates the following Content Security Policy directive") {
		t.Fatalf("page under CSP: requests %v, console %v", p.Requests, p.Console)
	}
}
