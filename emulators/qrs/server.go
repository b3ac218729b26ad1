package emulator

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/qliksense-license/qliksense-license/emulators/internal/emukit"
)

// Options configure a running emulator.
type Options struct {
	// Site is the repository to serve (required).
	Site *Site
	// CertDir holds (or receives) root.pem, client.pem, client_key.pem … (required).
	CertDir string
	// Hosts are extra names for the server certificate.
	Hosts []string
	// Addr is the QRS listener (default 127.0.0.1:0; a real site uses :4242).
	Addr string
	// ProxyAddr, when set, starts a proxy listener with the virtual proxies below.
	ProxyAddr string
	// Proxies default to "hdr" (header X-Qlik-HeaderAuth, directory CORP) and "jwt" (RS256
	// with the certificate folder's JWT key, claims userId and userDirectory).
	Proxies []VirtualProxy
	// IdleTimeout is how long a keep-alive connection may stay idle before the server
	// closes it (default 2 minutes, http.sys's connection timeout in front of QRS).
	IdleTimeout time.Duration
}

// Server is a running emulator: the QRS port with mutual TLS and, optionally, a proxy port.
type Server struct {
	Site   *Site
	Faults *Faults
	Log    *RequestLog
	Certs  *Certificates
	// URL is https://127.0.0.1:PORT, the QRS port; ProxyURL the proxy port ("" when off).
	URL      string
	ProxyURL string
	Proxies  []VirtualProxy

	servers []*http.Server
}

// Start creates (or loads) the certificates and starts serving.
func Start(opts Options) (*Server, error) {
	if opts.Site == nil {
		return nil, errors.New("emulator: no site")
	}
	if opts.CertDir == "" {
		return nil, errors.New("emulator: no certificate folder")
	}
	certs, err := LoadOrCreateCertificates(opts.CertDir, opts.Hosts...)
	if err != nil {
		return nil, err
	}
	s := &Server{Site: opts.Site, Faults: NewFaults(), Log: &RequestLog{}, Certs: certs}
	qrsTLS := &tls.Config{
		Certificates: []tls.Certificate{certs.Server},
		ClientCAs:    certs.Roots,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
	}
	idle := cmp.Or(opts.IdleTimeout, 2*time.Minute)
	s.URL, err = s.serve(cmp.Or(opts.Addr, "127.0.0.1:0"), idle, qrsTLS, &handler{site: s.Site, faults: s.Faults, log: s.Log})
	if err != nil {
		return nil, err
	}
	if opts.ProxyAddr != "" {
		s.Proxies = opts.Proxies
		if s.Proxies == nil {
			s.Proxies = []VirtualProxy{
				{Prefix: "hdr", HeaderName: "X-Qlik-HeaderAuth", UserDirectory: "CORP"},
				{Prefix: "jwt", JWTKey: &certs.JWTKey.PublicKey},
			}
		}
		proxyTLS := &tls.Config{Certificates: []tls.Certificate{certs.Server}, MinVersion: tls.VersionTLS12}
		s.ProxyURL, err = s.serve(opts.ProxyAddr, idle, proxyTLS, &handler{site: s.Site, faults: s.Faults, log: s.Log, proxies: s.Proxies})
		if err != nil {
			_ = s.Close()
			return nil, err
		}
	}
	return s, nil
}

func (s *Server) serve(addr string, idle time.Duration, cfg *tls.Config, h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("emulator: listening on %s: %w", addr, err)
	}
	srv := emukit.HTTPServer(h, cfg, idle)
	s.servers = append(s.servers, srv)
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	return "https://" + ln.Addr().String(), nil
}

// Close stops the listeners and closes every connection at once.
func (s *Server) Close() error {
	var errs []error
	for _, srv := range s.servers {
		errs = append(errs, srv.Close())
	}
	return errors.Join(errs...)
}

// Shutdown stops the listeners and waits for requests in flight, until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	var errs []error
	for _, srv := range s.servers {
		if err := srv.Shutdown(ctx); err != nil {
			errs = append(errs, err, srv.Close())
		}
	}
	return errors.Join(errs...)
}

// PluginConfig is the start of a qliksense_license configuration file pointing at this
// emulator with its certificates, followed by rest (more keys and tables, as written).
// Tests, the end-to-end test and the benchmarks build their site files with it.
func (s *Server) PluginConfig(site, rest string) string {
	d := s.Certs.Dir
	return fmt.Sprintf("[[inputs.qliksense_license]]\n  site = %q\n  server = %q\n  tls_ca = %q\n  tls_cert = %q\n  tls_key = %q\n%s\n",
		site, s.URL, filepath.Join(d, RootFile), filepath.Join(d, ClientFile), filepath.Join(d, ClientKeyFile), rest)
}
