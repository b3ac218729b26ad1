package qrs

import "fmt"

// AccessType names a kind of per-user license allocation that can be listed and released.
type AccessType string

const (
	// Professional is a professional access allocation (user-based licensing).
	Professional AccessType = "professional"
	// Analyzer is an analyzer access allocation (user-based licensing).
	Analyzer AccessType = "analyzer"
	// UserPass is a user access pass of the token model.
	UserPass AccessType = "user"
)

// AccessTypes lists every AccessType in a fixed order.
var AccessTypes = []AccessType{Professional, Analyzer, UserPass}

// ParseAccessType accepts the names used in configuration and metrics.
func ParseAccessType(s string) (AccessType, error) {
	for _, t := range AccessTypes {
		if string(t) == s {
			return t, nil
		}
	}
	return "", fmt.Errorf("unknown access type %q: expected %q, %q or %q", s, Professional, Analyzer, UserPass)
}

// Endpoint is the QRS collection path for the type, without the /qrs prefix.
func (t AccessType) Endpoint() string {
	return "/license/" + string(t) + "accesstype"
}
