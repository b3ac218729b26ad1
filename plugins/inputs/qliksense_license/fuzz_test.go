package qliksense_license_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/influxdata/telegraf/testutil"

	"github.com/qliksense-license/qliksense-license/plugins/inputs/qliksense_license"
)

// Any configuration file is either refused with an error or initialised; never a panic.
func FuzzConfig(f *testing.F) {
	sample, err := os.ReadFile("sample.conf")
	if err != nil {
		f.Fatal(err)
	}
	full, err := os.ReadFile("testdata/full.conf")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sample)
	f.Add(full)
	f.Add([]byte("[[inputs.qliksense_license]]\nserver = \"https://q\"\nauth = \"header\"\nheader_name = \"X\"\nheader_user = \"u\"\n"))
	f.Add([]byte("[[inputs.qliksense_license]]\n[inputs.qliksense_license.release.professional]\nenabled = true\ninactive_days = -1\n"))
	f.Add([]byte("[[inputs.qliksense_license]]\ninactivity_buckets = [1, 1]\ntimeout = \"1h\"\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(dir, "fuzz.conf")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		p, err := qliksense_license.LoadConfig(path)
		if err != nil {
			return
		}
		p.Log = testutil.Logger{Quiet: true}
		_ = p.Init()
	})
}

// ParseValidTo never panics and never invents a date.
func FuzzParseValidTo(f *testing.F) {
	f.Add("Valid To: 2024-03-16  12:00:00 AM")
	f.Add("valid to:2026-01-31\r\nx")
	f.Add("Valid To:")
	f.Add(":::")
	f.Fuzz(func(t *testing.T, s string) {
		raw, when, ok := qliksense_license.ParseValidTo(s)
		if ok && (when.IsZero() || raw == "") {
			t.Fatalf("%q: ok without a date", s)
		}
	})
}
