package qliksense_license_test

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/influxdata/telegraf/config"
	"github.com/influxdata/telegraf/plugins/common/shim"
	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/emulators/qrs"
	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/plugins/inputs/qliksense_license"
)

// settings is what a loaded plugin was configured with, secrets read out, runtime
// state left aside: comparable across loaders.
func settings(t *testing.T, p *qliksense_license.QlikSenseLicense) map[string]any {
	t.Helper()
	out := map[string]any{}
	v := reflect.ValueOf(&p.Config).Elem()
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if f.Name == "Release" {
			continue // below, by value
		}
		if s, ok := v.Field(i).Interface().(config.Secret); ok {
			buf, err := s.Get()
			require.NoError(t, err)
			out[f.Name] = buf.String()
			buf.Destroy()
			continue
		}
		out[f.Name] = v.Field(i).Interface()
	}
	if p.Release != nil {
		r := *p.Release
		buf, err := r.Output.Token.Get()
		require.NoError(t, err)
		out["Release.Output.Token"] = buf.String()
		buf.Destroy()
		r.Output.Token = config.Secret{}
		out["Release"] = r
	}
	return out
}

// shimLoad reads the file with the execd shim's own loader.
func shimLoad(t *testing.T, path string) *qliksense_license.QlikSenseLicense {
	t.Helper()
	loaded, err := shim.LoadConfig(&path)
	require.NoError(t, err)
	p, ok := loaded.Input.(*qliksense_license.QlikSenseLicense)
	require.True(t, ok)
	return p
}

func telegrafLoad(t *testing.T, path string) *qliksense_license.QlikSenseLicense {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	c := config.NewConfig()
	require.NoError(t, c.LoadConfigData(data, path))
	require.Len(t, c.Inputs, 1)
	p, ok := c.Inputs[0].Input.(*qliksense_license.QlikSenseLicense)
	require.True(t, ok)
	return p
}

// sample.conf and a file with every setting are read identically by LoadConfig (the
// strict loader both binaries use), by the execd shim's own loader and by Telegraf's.
func TestConfigLoadsTheSameInShimAndTelegraf(t *testing.T) {
	// Telegraf's loader reads the TLS files: point the configurations at real ones.
	certs := t.TempDir()
	require.NoError(t, emulator.CreateCertificates(certs))
	for _, orig := range []string{"sample.conf", "testdata/full.conf"} {
		b, err := os.ReadFile(orig)
		require.NoError(t, err)
		path := filepath.Join(t.TempDir(), filepath.Base(orig))
		require.NoError(t, os.WriteFile(path, []byte(strings.ReplaceAll(string(b), "/etc/qliksense-license/", certs+"/")), 0o600))
		ours, err := qliksense_license.LoadConfig(path)
		require.NoError(t, err, path)
		require.Equal(t, settings(t, ours), settings(t, shimLoad(t, path)), path)
		require.Equal(t, settings(t, ours), settings(t, telegrafLoad(t, path)), path)
	}
	full, err := qliksense_license.LoadConfig("testdata/full.conf")
	require.NoError(t, err)
	require.Equal(t, "TLS13", full.TLSMinVersion)
	require.Equal(t, "qlik.internal", full.ServerName)
	require.Equal(t, []int{30, 90, 365}, full.InactivityBuckets)
	require.Equal(t, []string{`INTERNAL\sa_repository`, `CORP\O'Brien`}, full.Release.Protect.Users)
	require.False(t, *full.Release.DryRun)
	require.Equal(t, policy.TypeConfig{Enabled: true, InactiveDays: 60}, full.Release.Analyzer)
	require.Equal(t, "0 3 * * *", full.Release.Schedule)
	require.Equal(t, map[string]string{"env": "production"}, full.Release.Output.Tags)
}

// Every setting of the plugin and of its release policy is documented in sample.conf.
func TestSampleConfigDocumentsEverySetting(t *testing.T) {
	sample := qliksense_license.New().SampleConfig()
	var keys []string
	var walk func(prefix string, typ reflect.Type)
	walk = func(prefix string, typ reflect.Type) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			name := f.Tag.Get("toml")
			if f.Anonymous {
				walk(prefix, f.Type)
				continue
			}
			if name == "" || name == "-" {
				continue
			}
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && ft.PkgPath() != "github.com/influxdata/telegraf/config" {
				walk(prefix+name+".", ft)
				continue
			}
			keys = append(keys, prefix+name)
		}
	}
	walk("", reflect.TypeOf(qliksense_license.QlikSenseLicense{}))
	require.Greater(t, len(keys), 30)
	for _, k := range keys {
		parts := strings.Split(k, ".")
		leaf := parts[len(parts)-1]
		require.Regexp(t, regexp.MustCompile(`(?m)^\s*#?\s*`+regexp.QuoteMeta(leaf)+` = `), sample, "%s is not documented in sample.conf", k)
		for _, table := range parts[:len(parts)-1] {
			require.Contains(t, sample, "."+table+"]", "table of %s", k)
		}
	}
}
