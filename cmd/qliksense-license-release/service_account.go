package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/qliksense-license/qliksense-license/release"
)

// serviceName is the Windows service's name.
const serviceName = "qliksense-license-release"

// The service-specific exit codes the Windows service reports to the service manager when
// it stops on an error (sc query: WIN32_EXIT_CODE 1066, SERVICE_EXIT_CODE one of these).
// The reason is in the service's log and the Application event log.
const (
	exitConfig = 1 // a configuration file does not load
	exitLog    = 2 // the log file cannot be opened
	exitServe  = 3 // the service could not start its sites (a state folder or audit log cannot be opened)
)

// exitMeaning says what a service-specific exit code means.
func exitMeaning(code uint32) string {
	switch code {
	case exitConfig:
		return "the configuration does not load"
	case exitLog:
		return "the log file cannot be opened"
	case exitServe:
		return "the sites could not start"
	}
	return "unknown"
}

// serviceAccount checks the account install is given for the service's logon and returns
// the name the service manager takes (ServiceStartName). The built-in accounts, a virtual
// account (NT SERVICE\<the service's name>) and a managed service account (ending in $)
// take no password; any other account needs one, unless it is current, the account the
// installed service already runs as: then keepPassword says the account and its password
// stay as the service manager has them (an upgrade, install.ps1 run again without
// -ServicePassword).
func serviceAccount(account string, hasPassword bool, current string) (name string, keepPassword bool, err error) {
	name = strings.TrimSpace(account)
	lower := strings.ToLower(name)
	builtin := ""
	switch lower {
	case "", "localsystem", `.\localsystem`, "system", `nt authority\system`:
		builtin = "LocalSystem"
	case "localservice", `nt authority\localservice`, `nt authority\local service`:
		builtin = `NT AUTHORITY\LocalService`
	case "networkservice", `nt authority\networkservice`, `nt authority\network service`:
		builtin = `NT AUTHORITY\NetworkService`
	}
	noPassword := func(n string) (string, bool, error) {
		if hasPassword {
			return "", false, fmt.Errorf("-account %q takes no password (a built-in, virtual or managed service account): drop -password-stdin", account)
		}
		return n, false, nil
	}
	switch {
	case builtin != "":
		return noPassword(builtin)
	case strings.HasPrefix(lower, `nt service\`):
		if !strings.EqualFold(name[len(`nt service\`):], serviceName) {
			return "", false, fmt.Errorf(`-account %q: a virtual account is the service's own: expected NT SERVICE\%s`, account, serviceName)
		}
		return noPassword(`NT SERVICE\` + serviceName)
	case strings.HasSuffix(name, "$"):
		return noPassword(name)
	case !strings.Contains(name, `\`) && !strings.Contains(name, "@"):
		return "", false, fmt.Errorf(`-account %q: expected DOMAIN\user, .\user for a local account, user@domain, NT SERVICE\%s or a managed service account (DOMAIN\name$)`, account, serviceName)
	case !hasPassword && strings.EqualFold(name, strings.TrimSpace(current)):
		return strings.TrimSpace(current), true, nil
	case !hasPassword:
		return "", false, fmt.Errorf("-account %q is a user account: give its password on standard input with -password-stdin (install.ps1: -ServicePassword)", account)
	}
	return name, false, nil
}

// inside reports whether path is dir or lies under it.
func inside(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// checkDataDir checks that every file the sites keep (state folder, lock, audit log) is in
// dataDir, the folder install.ps1 restricts: a site that keeps them elsewhere must say
// state_dir = dataDir in its file.
func checkDataDir(dataDir string, sites []*release.Site) error {
	var errs []error
	for _, s := range sites {
		st := s.Settings
		files := []struct{ key, path string }{{"state_dir", st.StateDir}, {"lock_file", st.LockFile}, {"audit_log", st.AuditLog}}
		for _, f := range files {
			if f.key == "audit_log" && f.path == "stdout" {
				continue
			}
			if !inside(dataDir, f.path) {
				errs = append(errs, fmt.Errorf("site %s (%s): release.%s is %s, outside -data-dir %s: set state_dir = '%s' in the file (and no %s elsewhere)",
					s.Name, s.Path, f.key, f.path, dataDir, dataDir, f.key))
				break
			}
		}
	}
	return errors.Join(errs...)
}

// serviceLogFile is the log file install writes into the service's command line: the one
// given (made absolute), else qliksense-license-release.log in dataDir, else in the first
// site's state folder.
func serviceLogFile(logFile, dataDir string, sites []*release.Site) (string, error) {
	switch {
	case logFile != "":
		return filepath.Abs(logFile)
	case dataDir != "":
		return filepath.Join(dataDir, "qliksense-license-release.log"), nil
	}
	return filepath.Join(sites[0].Settings.StateDir, "qliksense-license-release.log"), nil
}
