package qcloud_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	qcloudemu "github.com/qliksense-license/qliksense-license/emulators/qcloud"
	"github.com/qliksense-license/qliksense-license/plugins/common/qcloud"
)

// Any subject, quoted by Quote, is matched by the emulator's SCIM parser exactly (up to
// case, as the users API compares), and another subject is not.
func FuzzQuoteRoundTrip(f *testing.F) {
	for _, s := range []string{`CORP\o"brien\x`, "CORP\\jürgen.ñ 東京", "a\x01b", `\"`, "auth0|5f8e", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		filter := qcloud.SubjectFilters([]string{s})[0]
		ok, err := qcloudemu.Matches(filter, map[string][]string{"subject": {s}})
		if err != nil || !ok {
			t.Fatalf("%s does not match %q: %v", filter, s, err)
		}
		other := s + "x"
		if ok, _ := qcloudemu.Matches(filter, map[string][]string{"subject": {other}}); ok && !strings.EqualFold(other, s) {
			t.Fatalf("%s matches %q", filter, other)
		}
	})
}
