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
	if len(p.Requests) != 0 || !strings.Contains(p.DOM, `<p class="k">clean</p>`) {
		t.Fatalf("clean page: requests %v, DOM %s", p.Requests, p.DOM)
	}
}
