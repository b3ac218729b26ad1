package qcloudemu

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"

	"github.com/qliksense-license/qliksense-license/emulators/internal/emukit"
)

// Options configure a running emulator.
type Options struct {
	Tenant *Tenant // required
	// Addr is the listener (default 127.0.0.1:0).
	Addr string
	// CertDir receives ca.pem, the test CA (none written when "").
	CertDir string
	// Hosts are extra names for the server certificate.
	Hosts []string
	// Plain serves HTTP instead of HTTPS (unit tests of the wire only).
	Plain bool
	// Limits are the rate limits (none by default).
	Limits RateLimits
}

// Server is a running emulator.
type Server struct {
	Tenant *Tenant
	Faults *Faults
	Log    *RequestLog
	// URL is the tenant URL, https://127.0.0.1:PORT.
	URL string
	// CAPEM is the test CA that signed the server certificate; CAFile its path ("" when
	// CertDir was not given).
	CAPEM  []byte
	CAFile string

	h   *handler
	srv *http.Server
}

// Start serves the tenant.
func Start(opts Options) (*Server, error) {
	if opts.Tenant == nil {
		return nil, errors.New("qcloudemu: no tenant")
	}
	s := &Server{Tenant: opts.Tenant, Faults: NewFaults(), Log: &RequestLog{}}
	s.h = &handler{t: opts.Tenant, faults: s.Faults, log: s.Log, limits: opts.Limits}
	ln, err := net.Listen("tcp", cmp.Or(opts.Addr, "127.0.0.1:0"))
	if err != nil {
		return nil, fmt.Errorf("qcloudemu: listening: %w", err)
	}
	s.srv = emukit.HTTPServer(s.h, nil, 0)
	if opts.Plain {
		s.URL = "http://" + ln.Addr().String()
		go func() { _ = s.srv.Serve(ln) }()
		return s, nil
	}
	cfg, caPEM, err := newTLS(opts.CertDir, opts.Hosts)
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("qcloudemu: certificates: %w", err)
	}
	s.CAPEM = caPEM
	if opts.CertDir != "" {
		s.CAFile = filepath.Join(opts.CertDir, CAFile)
	}
	s.srv.TLSConfig = cfg
	s.URL = "https://" + ln.Addr().String()
	go func() { _ = s.srv.ServeTLS(ln, "", "") }()
	return s, nil
}

// SetLimits changes the rate limits.
func (s *Server) SetLimits(l RateLimits) {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	s.h.limits = l
}

// Settle carries out every late effect now.
func (s *Server) Settle() { s.h.settle() }

// Pending is the number of late effects not carried out yet.
func (s *Server) Pending() int {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	return len(s.h.pending)
}

// Close stops the server at once.
func (s *Server) Close() error { return s.srv.Close() }

// Shutdown stops the server, waiting for requests in flight until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }

// PluginConfig is the start of a qliksense_license configuration table pointing at this
// emulator as a tenant with apiKey and the test CA (Options.CertDir is needed), followed by
// rest (more keys and tables, as written).
func (s *Server) PluginConfig(site, apiKey, rest string) string {
	return fmt.Sprintf("[[inputs.qliksense_license]]\n  site = %q\n  tenant = %q\n  api_key = %q\n  tls_ca = %q\n%s\n",
		site, s.URL, apiKey, s.CAFile, rest)
}
