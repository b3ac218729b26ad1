package emukit

import (
	"crypto/tls"
	"io"
	"log"
	"net/http"
	"time"
)

// HTTPServer is an emulator's listener settings: HTTP/1.1 only (as QRS behind http.sys and
// so that faults can hang up a connection), a 10s limit on request headers, idle
// keep-alive connections closed after idle (0: never), and no log of the handshake
// failures that tests cause on purpose (a wrong client certificate).
func HTTPServer(h http.Handler, cfg *tls.Config, idle time.Duration) *http.Server {
	return &http.Server{
		Handler:           h,
		TLSConfig:         cfg,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       idle,
		TLSNextProto:      map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ErrorLog:          log.New(io.Discard, "", 0),
	}
}
