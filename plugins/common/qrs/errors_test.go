package qrs_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
)

// The one rule for change requests: a 2xx and the 4xx QRS sends are definitive; 5xx,
// gateway errors, what proxies and throttles send, and every answer that never came are
// ambiguous and must be read back.
func TestDefinitive(t *testing.T) {
	status := func(s int) error {
		return fmt.Errorf("deleting: %w", &qrs.Error{Method: "DELETE", Path: "/qrs/x", Status: s})
	}
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"2xx", nil, true},
		{"400", status(400), true},
		{"403", status(403), true},
		{"404 on a DELETE: gone", status(404), true},
		{"409 on a POST: held already", status(409), true},
		{"408 from a proxy", status(408), false},
		{"429 from a throttle", status(429), false},
		{"499 client closed", status(499), false},
		{"500", status(500), false},
		{"502 after the effect", status(502), false},
		{"503", status(503), false},
		{"504", status(504), false},
		{"a redirect", status(307), false},
		{"reset", &qrs.Error{Method: "DELETE", Err: errors.New("connection reset by peer")}, false},
		{"timeout", &qrs.Error{Method: "POST", Err: context.DeadlineExceeded}, false},
		{"not a QRS error", errors.New("lost"), false},
	} {
		require.Equal(t, c.want, qrs.Definitive(c.err), c.name)
	}
}
