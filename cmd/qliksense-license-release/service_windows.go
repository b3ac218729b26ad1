//go:build windows

package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/eventlog"
	"golang.org/x/sys/windows/svc/mgr"

	"github.com/qliksense-license/qliksense-license/plugins/common/siteconfig"
	"github.com/qliksense-license/qliksense-license/release"
)

const (
	serviceDisplay = "Qlik Sense license release"
	serviceDesc    = "Releases unused Qlik Sense license allocations on a schedule (qliksense-license-release run)."
)

// serviceSupported: the service commands and -service exist on Windows.
const serviceSupported = true

// isWindowsService is the fallback for a service installed before -service existed:
// svc.IsWindowsService judges by the parent process, which Wine's service manager (and
// some Windows setups) do not look like.
func isWindowsService() bool {
	ok, err := svc.IsWindowsService()
	return err == nil && ok
}

func defaultServiceLog() string {
	return filepath.Join(siteconfig.DefaultStateDir(), "qliksense-license-release.log")
}

// handler runs the supervisor under the service control manager: Stop and Shutdown stop
// it (the DELETEs in flight finish and are read back before the service reports
// stopped, with the stop's progress reported every few seconds); ParamChange
// (`sc control qliksense-license-release paramchange`) reloads the configuration, as
// SIGHUP does elsewhere.
type handler struct {
	sup     *release.Supervisor
	serve   func() int
	started <-chan struct{} // closed once serve has started every site
}

// stopWaitHint is what the service manager is told to wait between progress reports
// while the service stops.
const stopWaitHint = 30 * time.Second

func (h handler) Execute(_ []string, req <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	pending := svc.Status{State: svc.StartPending, WaitHint: uint32(stopWaitHint / time.Millisecond)}
	status <- pending
	done := make(chan int, 1)
	go func() { done <- h.serve() }()
	// RUNNING only once every site has started: a site that cannot start ends the service
	// STOPPED with exit code 3 without a RUNNING before it, which start would take for a
	// success.
	for starting := true; starting; {
		select {
		case <-h.started:
			starting = false
		case code := <-done:
			return code != 0, uint32(code)
		case c := <-req:
			if c.Cmd == svc.Interrogate {
				status <- pending
			}
		}
	}
	running := svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown | svc.AcceptParamChange}
	status <- running
	for {
		select {
		case code := <-done:
			return code != 0, uint32(code)
		case c := <-req:
			switch c.Cmd {
			case svc.Interrogate:
				status <- c.CurrentStatus
			case svc.ParamChange:
				h.sup.Reload()
				status <- running
			case svc.Stop, svc.Shutdown:
				h.sup.Stop()
				checkpoint := uint32(1)
				status <- svc.Status{State: svc.StopPending, CheckPoint: checkpoint, WaitHint: uint32(stopWaitHint / time.Millisecond)}
				tick := time.NewTicker(stopWaitHint / 3)
				for {
					select {
					case code := <-done:
						tick.Stop()
						return code != 0, uint32(code)
					case <-tick.C:
						checkpoint++
						status <- svc.Status{State: svc.StopPending, CheckPoint: checkpoint, WaitHint: uint32(stopWaitHint / time.Millisecond)}
					}
				}
			}
		}
	}
}

func runAsService(ctx context.Context, paths []string, sites []*release.Site, stdout io.Writer, log *slog.Logger) int {
	sup := supervisor(paths, stdout, log)
	started := make(chan struct{})
	sup.Started = func() { close(started) }
	h := handler{sup: sup, started: started, serve: func() int {
		if err := sup.Serve(ctx, sites); err != nil {
			log.Error("starting failed", "err", err)
			logEvent(fmt.Sprintf("%s stopped: starting failed: %v", serviceName, err))
			return exitServe
		}
		return 0
	}}
	if err := svc.Run(serviceName, h); err != nil {
		log.Error("running as a Windows service failed", "err", err)
		return 1
	}
	return 0
}

// serviceFailed is the service's end when it cannot start (its configuration does not
// load, its log cannot be opened): it writes the reason to the Application event log,
// then connects to the service manager and reports STOPPED with the service-specific exit
// code, so that the manager shows the failure at once (sc query: SERVICE_EXIT_CODE)
// instead of waiting for a service that never calls in (error 1053) and restarting it.
func serviceFailed(code int, reason string) int {
	logEvent(fmt.Sprintf("%s cannot start (exit code %d: %s): %s", serviceName, code, exitMeaning(uint32(code)), reason))
	if err := svc.Run(serviceName, failedHandler(code)); err != nil {
		return 1
	}
	return code
}

// failedHandler reports the service stopped with its exit code as soon as it runs.
type failedHandler uint32

func (h failedHandler) Execute(_ []string, _ <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	status <- svc.Status{State: svc.StartPending}
	return true, uint32(h)
}

// logEvent writes an error to the Application event log under the service's source (which
// install registers); without the source nothing is written: the service's log has it too.
func logEvent(msg string) {
	el, err := eventlog.Open(serviceName)
	if err != nil {
		return
	}
	defer el.Close()
	_ = el.Error(1, msg)
}

// serviceOptions are the flags of the service commands.
type serviceOptions struct {
	configs  []string
	logFile  string
	dataDir  string
	account  string
	password string // from standard input (-password-stdin): never a flag, never printed
}

// serviceCommand installs, removes, starts, stops or reloads the Windows service.
func serviceCommand(cmd string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("qliksense-license-release "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o serviceOptions
	fs.Func("config", "install: a site's configuration file (repeat for several sites)", func(s string) error {
		abs, err := filepath.Abs(s)
		o.configs = append(o.configs, abs)
		return err
	})
	fs.StringVar(&o.logFile, "log-file", "", "install: the service's log file (default: qliksense-license-release.log in -data-dir, else in the first site's state_dir)")
	fs.StringVar(&o.dataDir, "data-dir", "", "install: the folder every site's state_dir, lock and audit log must be in (install.ps1's -DataDir)")
	fs.StringVar(&o.account, "account", "", `install: the account the service runs as (default LocalSystem; NT SERVICE\`+serviceName+`, NT AUTHORITY\LocalService, DOMAIN\gmsa$, DOMAIN\user)`)
	pwStdin := fs.Bool("password-stdin", false, "install: read the account's password from the first line of standard input")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", cmd, fs.Arg(0))
		return 2
	}
	if *pwStdin {
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			fmt.Fprintf(stderr, "%s: reading the password from standard input: %v\n", cmd, err)
			return 1
		}
		if o.password = strings.TrimRight(line, "\r\n"); o.password == "" || strings.ContainsRune(o.password, 0) {
			fmt.Fprintf(stderr, "%s: -password-stdin: standard input holds no password (or a NUL character)\n", cmd)
			return 2
		}
	}
	m, err := mgr.Connect()
	if err != nil {
		fmt.Fprintf(stderr, "connecting to the service manager (run as Administrator): %v\n", err)
		return 1
	}
	defer m.Disconnect()
	msg, err := doService(m, cmd, o)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: %s\n", cmd, msg)
	return 0
}

// install creates the service, or reconfigures it when it exists (an upgrade, another
// account or file): its command line, logon account and the event log source.
func install(m *mgr.Mgr, o serviceOptions) (string, error) {
	if len(o.configs) == 0 {
		return "", errors.New("-config is required: the site files the service runs")
	}
	// The installed service, when there is one: install reconfigures it, and a user account
	// it already runs as keeps its password when none is given.
	s, err := m.OpenService(serviceName)
	if err != nil {
		s = nil
	}
	defer func() {
		if s != nil {
			s.Close()
		}
	}()
	current := ""
	if s != nil {
		_, current = queryConfig(s)
	}
	account, keepPassword, err := serviceAccount(o.account, o.password != "", current)
	if err != nil {
		return "", err
	}
	// Checked as the service will load them: each file, and no site named twice.
	sites, err := release.LoadSites(o.configs, slog.New(slog.DiscardHandler))
	if err != nil {
		return "", fmt.Errorf("not installing with an invalid configuration: %w", err)
	}
	release.CloseSites(sites)
	if o.dataDir != "" {
		if o.dataDir, err = filepath.Abs(o.dataDir); err != nil {
			return "", err
		}
		if err := checkDataDir(o.dataDir, sites); err != nil {
			return "", fmt.Errorf("not installing: %w", err)
		}
	}
	logFile, err := serviceLogFile(o.logFile, o.dataDir, sites)
	if err != nil {
		return "", err
	}
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	args := []string{"run", "-service"}
	for _, c := range o.configs {
		args = append(args, "-config", c)
	}
	args = append(args, "-log-file", logFile)
	verb := "installed"
	if s != nil {
		verb = "updated"
		if err := reconfigure(s, commandLine(exe, args), account, o.password, keepPassword); err != nil {
			return "", fmt.Errorf("reconfiguring the service: %w", err)
		}
	} else {
		if s, err = m.CreateService(serviceName, exe, mgr.Config{
			DisplayName: serviceDisplay, Description: serviceDesc, StartType: mgr.StartAutomatic,
			ServiceStartName: account, Password: o.password,
		}, args...); err != nil {
			s = nil
			return "", err
		}
	}
	// A crash restarts the service; a failure it reports (exit code) does not.
	if err := s.SetRecoveryActions([]mgr.RecoveryAction{{Type: mgr.ServiceRestart, Delay: 30 * time.Second}}, 86400); err != nil {
		return "", err
	}
	if err := eventlog.InstallAsEventCreate(serviceName, eventlog.Error|eventlog.Warning|eventlog.Info); err != nil && !strings.Contains(err.Error(), "already exists") {
		return "", fmt.Errorf("registering the event log source: %w", err)
	}
	if st, err := s.Query(); err == nil && st.State != svc.Stopped {
		verb += " (it runs: stop and start it to apply)"
	}
	return fmt.Sprintf("%s, runs as %s, logs to %s", verb, account, logFile), nil
}

// reconfigure sets an existing service's command line, start type, account and names
// (sc config): ChangeServiceConfig itself, as mgr's UpdateConfig also sets settings
// (SID type, delayed start) that not every service manager knows (Wine's does not).
func reconfigure(s *mgr.Service, cmdLine, account, password string, keepPassword bool) error {
	ptr := func(v string) *uint16 {
		if v == "" {
			return nil // unchanged
		}
		p, _ := windows.UTF16PtrFromString(v) // no NUL: the password is checked, the rest are ours
		return p
	}
	// The password goes with the account: "" for one that takes none, as ChangeServiceConfig
	// asks (nil would keep the previous account's: a user account's password left in the
	// service manager's secret store after a change to LocalSystem or a virtual account);
	// both nil (unchanged) for the user account the service already runs as, which keeps
	// its password.
	acc, pw := ptr(account), (*uint16)(nil)
	if keepPassword {
		acc = nil
	} else {
		pw, _ = windows.UTF16PtrFromString(password)
	}
	err := windows.ChangeServiceConfig(s.Handle, windows.SERVICE_NO_CHANGE, windows.SERVICE_AUTO_START, windows.SERVICE_NO_CHANGE,
		ptr(cmdLine), nil, nil, nil, acc, pw, ptr(serviceDisplay))
	if err != nil {
		return err
	}
	desc := windows.SERVICE_DESCRIPTION{Description: ptr(serviceDesc)}
	return windows.ChangeServiceConfig2(s.Handle, windows.SERVICE_CONFIG_DESCRIPTION, (*byte)(unsafe.Pointer(&desc)))
}

// commandLine is the service's command line, quoted as CreateService quotes it.
func commandLine(exe string, args []string) string {
	s := windows.EscapeArg(exe)
	for _, a := range args {
		s += " " + windows.EscapeArg(a)
	}
	return s
}

func doService(m *mgr.Mgr, cmd string, o serviceOptions) (string, error) {
	if cmd == "install" {
		return install(m, o)
	}
	if len(o.configs) > 0 || o.logFile != "" || o.dataDir != "" || o.account != "" || o.password != "" {
		return "", errors.New("-config, -log-file, -data-dir, -account and -password-stdin are install's flags")
	}
	s, err := m.OpenService(serviceName)
	if err != nil {
		return "", fmt.Errorf("service %s: %w", serviceName, err)
	}
	defer s.Close()
	switch cmd {
	case "uninstall":
		if err := s.Delete(); err != nil {
			return "", err
		}
		_ = eventlog.Remove(serviceName) // absent when installed by an older version
		return "removed", nil
	case "start":
		return "running", start(s)
	case "reload":
		_, err := s.Control(svc.ParamChange)
		return "done", err
	case "stop":
		st, err := s.Control(svc.Stop)
		if err != nil {
			return "", err
		}
		for deadline := time.Now().Add(3 * time.Minute); st.State != svc.Stopped && time.Now().Before(deadline); {
			time.Sleep(500 * time.Millisecond)
			if st, err = s.Query(); err != nil {
				return "", err
			}
		}
		if st.State != svc.Stopped {
			return "", errors.New("the service did not stop within three minutes")
		}
		return "stopped", nil
	}
	return "", fmt.Errorf("unknown service command %q", strings.TrimSpace(cmd))
}

// start starts the service and waits until it runs or has stopped: a service that stops
// at start (its configuration does not load) is a failed start, with the reason.
func start(s *mgr.Service) error {
	if err := s.Start(); err != nil {
		if errors.Is(err, windows.ERROR_SERVICE_LOGON_FAILED) {
			return fmt.Errorf("%w: the service's account cannot log on: check its password, and that it has the right to \"Log on as a service\"", err)
		}
		return err
	}
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		st, err := s.Query()
		if err != nil {
			return err
		}
		switch st.State {
		case svc.Running:
			return nil
		case svc.Stopped:
			where := "the Application event log"
			cmdLine, _ := queryConfig(s)
			if f := flagValue(cmdLine, "-log-file"); f != "" {
				where = f + " and " + where
			}
			if st.Win32ExitCode == uint32(windows.ERROR_SERVICE_SPECIFIC_ERROR) {
				return fmt.Errorf("the service stopped at start with exit code %d (%s): the reason is in %s",
					st.ServiceSpecificExitCode, exitMeaning(st.ServiceSpecificExitCode), where)
			}
			return fmt.Errorf("the service stopped at start: %w: see %s", windows.Errno(st.Win32ExitCode), where)
		}
	}
	return errors.New("the service did not reach RUNNING within a minute")
}

// queryConfig is the service's command line and logon account, or "" (QueryServiceConfig
// itself: mgr's Config also asks for settings Wine's service manager does not know).
func queryConfig(s *mgr.Service) (cmdLine, account string) {
	var needed uint32
	_ = windows.QueryServiceConfig(s.Handle, nil, 0, &needed)
	if needed == 0 {
		return "", ""
	}
	buf := make([]byte, needed)
	cfg := (*windows.QUERY_SERVICE_CONFIG)(unsafe.Pointer(&buf[0]))
	if err := windows.QueryServiceConfig(s.Handle, cfg, needed, &needed); err != nil {
		return "", ""
	}
	return windows.UTF16PtrToString(cfg.BinaryPathName), windows.UTF16PtrToString(cfg.ServiceStartName)
}

// flagValue is the value of a flag in a command line, or "".
func flagValue(cmdLine, name string) string {
	args, err := windows.DecomposeCommandLine(cmdLine)
	if err != nil {
		return ""
	}
	for i := 0; i+1 < len(args); i++ {
		if args[i] == name {
			return args[i+1]
		}
	}
	return ""
}
