package qliksense_license

import (
	"time"

	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
)

// ParseValidTo finds the "Valid To:" line of a license's keyDetails and parses its date
// (qrs.ParseValidTo: the sidecar's license report reads the same date).
func ParseValidTo(keyDetails string) (raw string, t time.Time, ok bool) {
	return qrs.ParseValidTo(keyDetails)
}

// serverLicenseFields: Butler's qlik_sense_server_license fields. days_until_expiry goes
// negative after expiry; without a readable expiry only license_expired is written.
func serverLicenseFields(lic *qrs.License, now time.Time) map[string]any {
	f := map[string]any{"license_expired": lic.IsExpired}
	if raw, t, ok := ParseValidTo(lic.KeyDetails); ok {
		f["expiry_date"] = raw
		f["days_until_expiry"] = t.Sub(now).Hours() / 24
	}
	return f
}
