package qcloud

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// APIError is a whole call the tenant answered with an error status of its own (a 400,
// 401, 403, 404 …, a 429 of an action, or of a read after the retries): definitive, nothing was changed by it. It
// carries the first error's code and title from the ErrorResponse, never the body.
type APIError struct {
	Call   string // what was being done, e.g. "deleting license assignments"
	Status int
	Code   string // e.g. LICENSES-011
	Title  string
	// RetryAfter is a 429's Retry-After (capped at MaxRetryAfter; 0 for other answers).
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "qcloud: %s: %d %s", e.Call, e.Status, http.StatusText(e.Status))
	if e.Code != "" {
		b.WriteString(": " + e.Code)
	}
	if e.Title != "" {
		b.WriteString(" " + e.Title)
	}
	switch e.Status {
	case http.StatusUnauthorized:
		b.WriteString(" (the API key or OAuth client is not accepted by the tenant)")
	case http.StatusForbidden:
		b.WriteString(" (the key's user or the OAuth client lacks the permission for this call)")
	}
	return b.String()
}

// StatusCode is the HTTP status of an APIError anywhere in err's chain, or 0.
func StatusCode(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// AmbiguousError is an assignment action whose outcome is unknown: a 5xx, a gateway
// error (502, 503, 504, often sent after the tenant carried the call out), a timeout, a
// reset connection, a lost or undecodable answer, or a 207 that left items out. The
// caller reads the assignments back (AssignmentsOf) before recording anything; "not
// changed yet" right after it proves nothing.
type AmbiguousError struct {
	Call string
	// Keys are the assignments in doubt: the whole batch, or the items a 207 left out.
	Keys   []Key
	Status int   // the HTTP status, 0 when there was no answer
	Err    error // the transport failure, if any
}

func (e *AmbiguousError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "qcloud: %s: outcome unknown for %d assignment(s)", e.Call, len(e.Keys))
	if e.Status != 0 {
		fmt.Fprintf(&b, ": %d %s", e.Status, http.StatusText(e.Status))
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	b.WriteString(" (read the assignments back)")
	return b.String()
}

func (e *AmbiguousError) Unwrap() error { return e.Err }

// IsAmbiguous reports whether err is an AmbiguousError.
func IsAmbiguous(err error) bool {
	var ae *AmbiguousError
	return errors.As(err, &ae)
}

// errorBody is the ErrorResponse of the licenses API and the Errors of the users API.
type errorBody struct {
	Errors []struct {
		Code  json.RawMessage `json:"code"` // a string (licenses, users) or a number (older users errors)
		Title string          `json:"title"`
	} `json:"errors"`
}

func apiError(callName string, r *response) *APIError {
	e := &APIError{Call: callName, Status: r.status}
	var eb errorBody
	if json.Unmarshal(r.body, &eb) == nil && len(eb.Errors) > 0 {
		var code string
		if json.Unmarshal(eb.Errors[0].Code, &code) != nil {
			code = strings.Trim(string(eb.Errors[0].Code), `"`)
		}
		e.Code = printable(code, 40)
		e.Title = printable(eb.Errors[0].Title, 200)
	}
	return e
}

// printable keeps a field of an answer as one short line.
func printable(s string, n int) string {
	s = strings.Join(strings.Fields(strings.ToValidUTF8(s, "?")), " ")
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "") + "…"
	}
	return s
}
