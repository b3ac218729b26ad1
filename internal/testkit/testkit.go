// Package testkit is the one test scaffold of the project: an emulator started with shared
// certificates, the test clock, the shared release policy, a goroutine leak check, and
// test doubles (a buffer safe for a child process's output copier, an InfluxDB write
// endpoint). Only tests, the benchmark and the end-to-end test import it.
package testkit

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
)

// SyncBuffer is a bytes.Buffer that one goroutine may write (a child's stderr copier)
// while another reads.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// InfluxWrites is an InfluxDB /api/v2/write endpoint that keeps what it is sent: each
// body (gunzipped), its query string and its Authorization header. While Down is set it
// answers 503, as an InfluxDB that is not there.
type InfluxWrites struct {
	Down atomic.Bool

	mu      sync.Mutex
	bodies  []string
	queries []string
	auth    []string
}

func (f *InfluxWrites) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.Down.Load() {
		http.Error(w, `{"code":"unavailable","message":"down"}`, http.StatusServiceUnavailable)
		return
	}
	if r.URL.Path != "/api/v2/write" {
		http.NotFound(w, r)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.bodies = append(f.bodies, string(b))
	f.queries = append(f.queries, r.URL.RawQuery)
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	f.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// Writes returns the bodies, query strings and Authorization headers received, in order.
func (f *InfluxWrites) Writes() (bodies, queries, auth []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.bodies...), append([]string(nil), f.queries...), append([]string(nil), f.auth...)
}

// Lines returns every line-protocol line received, in order.
func (f *InfluxWrites) Lines() []string {
	bodies, _, _ := f.Writes()
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(strings.Join(bodies, "\n")))
	for sc.Scan() {
		if sc.Text() != "" {
			lines = append(lines, sc.Text())
		}
	}
	return lines
}
