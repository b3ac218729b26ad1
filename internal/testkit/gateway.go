package testkit

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// GatewayAction is what a Gateway does with one request.
type GatewayAction int

// The actions of a Gateway.
const (
	// Forward passes the request and its answer.
	Forward GatewayAction = iota
	// FailBefore answers 503 without passing the request: nothing done.
	FailBefore
	// FailAfter passes the request, then answers 504 instead of its answer: done, and the
	// client cannot know.
	FailAfter
	// Slow passes the request and holds its answer for SlowFor: done, and the client waits.
	Slow
)

// SlowFor is how long a Slow answer is held.
const SlowFor = 3 * time.Second

// Gateway is a TLS reverse proxy in front of a test server, as a customer's gateway or
// load balancer is: Decide chooses, per request (counted from 1), whether it passes or
// fails before or after the server acted.
type Gateway struct {
	URL    string
	CAFile string // the gateway's certificate, for tls_ca

	mu     sync.Mutex
	n      int
	decide func(n int, r *http.Request) GatewayAction
	failed int
}

// StartGateway starts a gateway to target (an https URL whose certificate targetCA signs)
// until the test ends.
func StartGateway(t testing.TB, target string, targetCA []byte, decide func(n int, r *http.Request) GatewayAction) *Gateway {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(targetCA)
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	g := &Gateway{decide: decide}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.n++
		act := g.decide(g.n, r)
		if act == FailBefore || act == FailAfter {
			g.failed++
		}
		g.mu.Unlock()
		switch act {
		case FailBefore:
			http.Error(w, "service unavailable", http.StatusServiceUnavailable)
		case FailAfter:
			rec := httptest.NewRecorder()
			proxy.ServeHTTP(rec, r)
			http.Error(w, "gateway timeout", http.StatusGatewayTimeout)
		case Slow:
			rec := httptest.NewRecorder()
			proxy.ServeHTTP(rec, r)
			select {
			case <-time.After(SlowFor):
			case <-r.Context().Done():
				return
			}
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
		default:
			proxy.ServeHTTP(w, r)
		}
	}))
	srv.StartTLS()
	t.Cleanup(srv.Close)
	g.URL = srv.URL
	g.CAFile = filepath.Join(t.TempDir(), "gateway-ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(g.CAFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return g
}

// Failed is the number of requests the gateway failed.
func (g *Gateway) Failed() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.failed
}
