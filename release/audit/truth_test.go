package audit_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
	"github.com/qliksense-license/qliksense-license/release/audit"
)

// How a QRS answer to a change request is classified for the truth rule, and which ones
// may be sent again once a read proved them not done.
func TestAnswerOfQRS(t *testing.T) {
	qe := func(status int, body string) error {
		return &qrs.Error{Method: "DELETE", Path: "/qrs/x", Status: status, Body: body}
	}
	for _, c := range []struct {
		name      string
		err       error
		answer    audit.Answer
		retryable bool
	}{
		{"204", nil, audit.AnswerDone, false},
		{"403 from QRS", qe(403, "Forbidden"), audit.AnswerRefused, false},
		{"404 from QRS", qe(404, "Not Found"), audit.AnswerRefused, false},
		{"500 from QRS", qe(500, "Internal Server Error"), audit.AnswerFailed, true},
		{"500 without a body", qe(500, ""), audit.AnswerAmbiguous, true},
		{"500 page of a proxy", qe(500, "<html><body><h1>500 Internal Server Error</h1></body></html>"), audit.AnswerAmbiguous, true},
		{"502 gateway", qe(502, "Bad Gateway"), audit.AnswerAmbiguous, true},
		{"504 gateway", qe(504, "Gateway Timeout"), audit.AnswerAmbiguous, true},
		{"429", qe(429, "Too Many Requests"), audit.AnswerAmbiguous, true},
		{"408", qe(408, "Request Timeout"), audit.AnswerAmbiguous, false},
		{"reset", &qrs.Error{Method: "DELETE", Path: "/qrs/x", Err: errors.New("connection reset by peer")}, audit.AnswerAmbiguous, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.answer, audit.AnswerOfQRS(c.err))
			require.Equal(t, c.retryable, audit.Retryable(c.err))
		})
	}
}
