package qrs

import "fmt"

// AccessType is a kind of per-user license allocation that can be listed and released.
// Its value is QRS's own: the prefix of the collection's path (/qrs/license/<value>accesstype).
// The same concept has three spellings outside QRS, each written only here:
//
//   - Name: this project's name, in configuration tables, plans, audit lines and logs
//     (professional, analyzer, user_pass);
//   - LicenseType: Butler's license_type tag in metrics (professional, analyzer, token_user);
//   - the value: the QRS path (professional, analyzer, user).
//
// ParseAccessType and UnmarshalText accept all three.
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

// Name is the type's name in configuration, plans and audit lines.
func (t AccessType) Name() string {
	if t == UserPass {
		return "user_pass"
	}
	return string(t)
}

// LicenseType is the type's license_type tag in metrics, as Butler names it.
func (t AccessType) LicenseType() string {
	if t == UserPass {
		return "token_user"
	}
	return string(t)
}

// String is Name.
func (t AccessType) String() string { return t.Name() }

// ParseAccessType accepts the configuration's name, the metrics' license_type and QRS's
// value of a type.
func ParseAccessType(s string) (AccessType, error) {
	for _, t := range AccessTypes {
		if s == t.Name() || s == t.LicenseType() || s == string(t) {
			return t, nil
		}
	}
	return "", fmt.Errorf("unknown access type %q: expected %q, %q or %q", s, Professional.Name(), Analyzer.Name(), UserPass.Name())
}

// MarshalText writes Name.
func (t AccessType) MarshalText() ([]byte, error) { return []byte(t.Name()), nil }

// UnmarshalText reads any of the spellings ParseAccessType accepts.
func (t *AccessType) UnmarshalText(b []byte) error {
	v, err := ParseAccessType(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// Endpoint is the QRS collection path for the type, without the /qrs prefix.
func (t AccessType) Endpoint() string {
	return "/license/" + string(t) + "accesstype"
}
