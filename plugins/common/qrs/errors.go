package qrs

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// maxErrorBody is how much of a QRS error body is kept in an Error.
const maxErrorBody = 256

// Error is a failed QRS call: either an HTTP status QRS answered with, or a transport
// failure (Status 0, Err set). It never carries the xrfkey, headers or credentials.
type Error struct {
	Method string
	Path   string // the request path, without query parameters
	Status int    // 0 when no response was received
	Body   string // start of QRS's plain-text answer
	Err    error  // transport or decoding failure
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Method)
	b.WriteByte(' ')
	b.WriteString(e.Path)
	if e.Status != 0 {
		fmt.Fprintf(&b, ": %d %s", e.Status, http.StatusText(e.Status))
		if e.Body != "" {
			b.WriteString(": ")
			b.WriteString(e.Body)
		}
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// StatusCode returns the HTTP status of a QRS error anywhere in err's chain, or 0.
func StatusCode(err error) int {
	var qe *Error
	if errors.As(err, &qe) {
		return qe.Status
	}
	return 0
}

// IsNotFound reports whether err is a 404 from QRS.
func IsNotFound(err error) bool { return StatusCode(err) == http.StatusNotFound }

// cleanBody turns the start of an error body into one printable line.
func cleanBody(b []byte) string {
	s := strings.TrimSpace(strings.ToValidUTF8(string(b), "?"))
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxErrorBody {
		s = strings.ToValidUTF8(s[:maxErrorBody], "") + "…"
	}
	return s
}

// Definitive reports whether the answer to a change request (a DELETE or a POST) says for
// certain what QRS did: a 2xx (err is nil), or a 4xx that QRS itself sent (404 on a
// DELETE: the allocation is gone; 409 on a POST: the user holds it already; 400, 403: QRS
// refused and changed nothing). Every other answer is ambiguous and must be read back
// before anything is recorded: a 5xx, the gateway errors a proxy or load balancer in
// front of QRS sends (502, 503, 504) — often after QRS carried the request out —, a
// timeout, a reset connection, a lost or undecodable answer, and the 4xx that proxies
// and throttles send on their own (408 Request Timeout, 429 Too Many Requests, 499 Client
// Closed Request), which say nothing of what QRS did.
//
// This is the one rule for every change request of the sidecar (releases, moves, undos).
func Definitive(err error) bool {
	if err == nil {
		return true
	}
	switch s := StatusCode(err); {
	case s == http.StatusRequestTimeout, s == http.StatusTooManyRequests, s == 499:
		return false
	default:
		return s >= 400 && s < 500
	}
}

// ServiceFailed reports whether err is QRS's own failure: a 500 Internal Server Error
// with QRS's plain-text answer. Proxies and load balancers in front of QRS send 502, 503 or
// 504, or an HTML error page, so a 500 with a text body is QRS saying that the request
// failed there; a read that then shows the old state proves it was not carried out (see
// release/audit's truth rule).
func ServiceFailed(err error) bool {
	var qe *Error
	return errors.As(err, &qe) && qe.Status == http.StatusInternalServerError && qe.Body != "" && !strings.HasPrefix(qe.Body, "<")
}
