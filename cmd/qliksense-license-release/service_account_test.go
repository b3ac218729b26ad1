package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/plugins/common/siteconfig"
	"github.com/qliksense-license/qliksense-license/release"
)

func TestServiceAccount(t *testing.T) {
	for _, c := range []struct {
		account  string
		password bool
		current  string // the account the installed service runs as
		want     string
		keep     bool // the service manager keeps the password it has
		err      string
	}{
		{account: "", want: "LocalSystem"},
		{account: `NT AUTHORITY\SYSTEM`, want: "LocalSystem"},
		{account: "localsystem", want: "LocalSystem"},
		{account: `NT AUTHORITY\Local Service`, want: `NT AUTHORITY\LocalService`},
		{account: "NetworkService", want: `NT AUTHORITY\NetworkService`},
		{account: `nt service\QLIKSENSE-LICENSE-RELEASE`, want: `NT SERVICE\qliksense-license-release`},
		{account: `CORP\qsl-gmsa$`, want: `CORP\qsl-gmsa$`},
		{account: `CORP\svc-qlik`, password: true, want: `CORP\svc-qlik`},
		{account: `.\svc-qlik`, password: true, want: `.\svc-qlik`},
		{account: `svc-qlik@corp.example`, password: true, want: `svc-qlik@corp.example`},
		{account: `CORP\svc-qlik`, err: `-account "CORP\\svc-qlik" is a user account: give its password on standard input with -password-stdin`},
		{account: "svc-qlik", password: true, err: `expected DOMAIN\user, .\user for a local account`},
		{account: `NT SERVICE\telegraf`, err: `a virtual account is the service's own: expected NT SERVICE\qliksense-license-release`},
		{account: `NT SERVICE\qliksense-license-release`, password: true, err: "takes no password"},
		{account: `NT AUTHORITY\SYSTEM`, password: true, err: "takes no password"},
		{account: `CORP\qsl-gmsa$`, password: true, err: "takes no password"},
		// Installed again as the user account it runs as: its password is kept; as another
		// one, or with a password, it is given.
		{account: `corp\svc-qlik`, current: `CORP\svc-qlik`, want: `CORP\svc-qlik`, keep: true},
		{account: `CORP\svc-qlik`, password: true, current: `CORP\svc-qlik`, want: `CORP\svc-qlik`},
		{account: `CORP\svc-other`, current: `CORP\svc-qlik`, err: "is a user account: give its password"},
		{account: `.\svc-qlik`, current: "LocalSystem", err: "install.ps1: -ServicePassword"},
		{account: "LocalSystem", current: `CORP\svc-qlik`, want: "LocalSystem"},
	} {
		got, keep, err := serviceAccount(c.account, c.password, c.current)
		if c.err != "" {
			require.ErrorContains(t, err, c.err, c.account)
			continue
		}
		require.NoError(t, err, c.account)
		require.Equal(t, c.want, got, c.account)
		require.Equal(t, c.keep, keep, c.account)
	}
}

func TestCheckDataDir(t *testing.T) {
	data := t.TempDir()
	site := func(name, state, lock, audit string) *release.Site {
		return &release.Site{Name: name, Path: name + ".conf", Settings: &siteconfig.Sidecar{StateDir: state, LockFile: lock, AuditLog: audit}}
	}
	in := site("in", data, filepath.Join(data, "in.lock"), filepath.Join(data, "sub", "in-audit.jsonl"))
	stdout := site("stdout", data, filepath.Join(data, "s.lock"), "stdout")
	require.NoError(t, checkDataDir(data, []*release.Site{in, stdout}))

	other := filepath.Join(filepath.Dir(data), "other")
	for _, s := range []*release.Site{
		site("state", other, filepath.Join(data, "a.lock"), filepath.Join(data, "a.jsonl")),
		site("lock", data, filepath.Join(other, "a.lock"), filepath.Join(data, "a.jsonl")),
		site("audit", data, filepath.Join(data, "a.lock"), filepath.Join(other, "a.jsonl")),
		site("sibling", data+"-old", filepath.Join(data, "a.lock"), filepath.Join(data, "a.jsonl")),
		site("parent", filepath.Join(data, ".."), filepath.Join(data, "a.lock"), filepath.Join(data, "a.jsonl")),
	} {
		err := checkDataDir(data, []*release.Site{in, s})
		require.ErrorContains(t, err, "site "+s.Name+" ("+s.Name+".conf): release.", s.Name)
		require.ErrorContains(t, err, "outside -data-dir "+data+": set state_dir = '"+data+"' in the file")
		require.NotContains(t, err.Error(), "site in ")
	}
}

func TestServiceLogFile(t *testing.T) {
	sites := []*release.Site{{Settings: &siteconfig.Sidecar{StateDir: "/var/lib/a"}}, {Settings: &siteconfig.Sidecar{StateDir: "/var/lib/b"}}}
	got, err := serviceLogFile("", "", sites)
	require.NoError(t, err)
	require.Equal(t, filepath.Join("/var/lib/a", "qliksense-license-release.log"), got)
	got, err = serviceLogFile("", "/data", sites)
	require.NoError(t, err)
	require.Equal(t, filepath.Join("/data", "qliksense-license-release.log"), got)
	// A relative log file is made absolute at install: the service manager's working
	// folder is System32.
	got, err = serviceLogFile(filepath.Join("logs", "svc.log"), "/data", sites)
	require.NoError(t, err)
	wd, _ := filepath.Abs(".")
	require.Equal(t, filepath.Join(wd, "logs", "svc.log"), got)
}

func TestExitMeaning(t *testing.T) {
	for code, want := range map[uint32]string{exitConfig: "the configuration does not load", exitLog: "the log file cannot be opened", exitServe: "the sites could not start", 9: "unknown"} {
		require.Equal(t, want, exitMeaning(code))
	}
}

// install.ps1 writes state_dir = -DataDir into a first install's configuration by
// replacing the example's commented state_dir line: the example must keep that line.
func TestInstallScriptSetsStateDir(t *testing.T) {
	script, err := os.ReadFile(filepath.Join("..", "..", "packaging", "windows", "install.ps1"))
	require.NoError(t, err)
	const pattern = `(?m)^(\s*)# state_dir = ""`
	require.Contains(t, string(script), "-replace '"+pattern+"'")
	example, err := os.ReadFile(filepath.Join("..", "..", "plugins", "inputs", "qliksense_license", "sample.conf"))
	require.NoError(t, err)
	require.Len(t, regexp.MustCompile(pattern).FindAllIndex(example, -1), 1, "sample.conf: one commented state_dir line in the release table")
}

// PowerShell reads "$name:" as a drive- or scope-qualified variable and refuses to parse the
// whole script ("Variable reference is not valid"): the scripts write "${name}:". No
// PowerShell runs here, so the scripts are checked for it as text.
func TestScriptsHaveNoColonAfterAVariable(t *testing.T) {
	scopes := map[string]bool{"env": true, "script": true, "global": true, "local": true, "private": true, "using": true, "variable": true, "function": true}
	re := regexp.MustCompile(`\$([A-Za-z_][A-Za-z0-9_]*):`)
	for _, name := range []string{"install.ps1", "uninstall.ps1"} {
		script, err := os.ReadFile(filepath.Join("..", "..", "packaging", "windows", name))
		require.NoError(t, err)
		for i, line := range strings.Split(string(script), "\n") {
			for _, m := range re.FindAllStringSubmatch(line, -1) {
				require.True(t, scopes[strings.ToLower(m[1])], "%s:%d: $%s: is not a variable PowerShell parses (write ${%s}:): %s", name, i+1, m[1], m[1], strings.TrimSpace(line))
			}
		}
	}
}
