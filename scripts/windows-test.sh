#!/usr/bin/env bash
# make windows-test: the Windows builds, run for real under Wine (Debian's wine64) against
# the emulator on 127.0.0.1 — the plugin (-once, -test), the sidecar (check-config
# -connect, plan, a live once whose releases are read back from the emulator, rightsize),
# the Windows service's whole life through Wine's service manager (install with a logon
# account, a data folder and a log path, checked in the registry; install again to
# reconfigure; start, a scheduled run that releases, paramchange, a stop while a DELETE is
# in flight, uninstall; a service whose file no longer loads: STOPPED with its exit code)
# — and the Windows zip of make dist, unpacked and run.
#
# Wine 8 lacks ProcessPrng, which Go's runtime needs: a small DLL built from
# packaging/windows/processprng.c with MinGW stands in (see docs/service.md). As root the script
# installs wine64 and gcc-mingw-w64-x86-64 from Debian's packages when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
if [ -n "${DIST_ZIP:-}" ]; then DIST_ZIP=$(realpath "$DIST_ZIP"); fi
GO=${GO:-go}

step() { printf '\n== %s\n' "$*"; }
fail() { printf 'windows-test: FAIL: %s\n' "$*" >&2; exit 1; }

if ! command -v wine >/dev/null || ! command -v x86_64-w64-mingw32-gcc >/dev/null; then
	if [ "$(id -u)" != 0 ]; then
		echo "windows-test: needs root to install wine64 and gcc-mingw-w64-x86-64 (CI runs as root); not run"
		exit 0
	fi
	step "installing wine64 and gcc-mingw-w64-x86-64 from Debian's packages"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q wine64 gcc-mingw-w64-x86-64 >/dev/null ||
		{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wine64 gcc-mingw-w64-x86-64 >/dev/null; }
fi

WORK=$(mktemp -d /tmp/qsl-windows.XXXXXX)
export WINEPREFIX=$WORK/prefix WINEDEBUG=-all WINEARCH=win64
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wineserver -k 2>/dev/null || true
	if [ "${KEEP:-}" = "" ]; then rm -rf "$WORK"; else echo "kept $WORK"; fi
}
trap cleanup EXIT
# winpath turns a Linux path into the Z: path Wine gives it.
winpath() { printf 'Z:%s' "${1//\//\\}"; }

step "building the Windows binaries and the ProcessPrng shim"
mkdir -p "$WORK/win"
for c in qliksense-license qliksense-license-release; do
	CGO_ENABLED=0 GOOS=windows GOARCH=amd64 $GO build -trimpath -o "$WORK/win/$c.exe" "./cmd/$c"
done
$GO build -o "$WORK/qrs-emulator" ./cmd/qrs-emulator
x86_64-w64-mingw32-gcc -shared -O2 -Wl,--kill-at -o "$WORK/bcryptprimitives.dll" packaging/windows/processprng.c

step "preparing the Wine prefix"
wineboot -i >/dev/null 2>&1 || true
wineserver -w
cp "$WORK/bcryptprimitives.dll" "$WINEPREFIX/drive_c/windows/system32/"
wine reg add 'HKCU\Software\Wine\DllOverrides' /v bcryptprimitives /d native /f >/dev/null 2>&1
wineserver -w
wine "$WORK/win/qliksense-license-release.exe" version | grep -q qliksense-license-release ||
	fail "the sidecar does not start under Wine (ProcessPrng shim?)"
echo "ok: a Go Windows binary runs under $(wine --version)"

step "starting the emulator on 127.0.0.1 (DELETEs answered 3 s after they are carried out)"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$WORK/qrs-emulator" -addr "127.0.0.1:$PORT" -cert-dir "$WORK/certs" -users 300 -seed 7 \
	-answer-latency 3s -fault-method DELETE >"$WORK/emulator.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do [ -f "$WORK/certs/client_key.pem" ] && grep -q "QRS (mutual TLS) on" "$WORK/emulator.log" 2>/dev/null && break; sleep 0.1; done
grep -q "QRS (mutual TLS) on" "$WORK/emulator.log" || { cat "$WORK/emulator.log"; fail "the emulator did not start"; }

# qrs GETs a QRS path from the emulator with the client certificate (curl on Linux).
qrs() {
	curl -s -o "$WORK/qrs.out" -w '%{http_code}' --cacert "$WORK/certs/root.pem" --cert "$WORK/certs/client.pem" \
		--key "$WORK/certs/client_key.pem" -H 'X-Qlik-Xrfkey: abcdefghij123456' \
		-H 'X-Qlik-User: UserDirectory=INTERNAL; UserId=sa_repository' "https://127.0.0.1:$PORT/qrs$1?xrfkey=abcdefghij123456"
}

# site writes a site file with Windows paths; $1 is the file, $2 the state folder (a
# Windows path), the rest the release table's own keys.
site() {
	local file=$1 state=$2
	shift 2
	cat >"$file" <<EOF
[[inputs.qliksense_license]]
  site = "windows"
  server = "https://127.0.0.1:$PORT"
  tls_ca = '$(winpath "$WORK/certs/root.pem")'
  tls_cert = '$(winpath "$WORK/certs/client.pem")'
  tls_key = '$(winpath "$WORK/certs/client_key.pem")'
  [inputs.qliksense_license.rightsize]
    enabled = true
  [inputs.qliksense_license.release]
    state_dir = '$state'
$(printf '    %s\n' "$@")
    [inputs.qliksense_license.release.professional]
      enabled = true
      inactive_days = 30
    [inputs.qliksense_license.release.protect]
      users = ['INTERNAL\\sa_api']
EOF
}

PLUGIN=$WORK/win/qliksense-license.exe
SIDECAR=$WORK/win/qliksense-license-release.exe
CLI_STATE='C:\ProgramData\qliksense-license\cli'
site "$WORK/cli.conf" "$CLI_STATE" 'dry_run = false' 'max_releases_per_run = 2'
CONF=$(winpath "$WORK/cli.conf")

step "the plugin: -once and -test"
wine "$PLUGIN" -config "$CONF" -once >"$WORK/once.out" 2>"$WORK/once.err" || { cat "$WORK/once.err"; fail "the plugin's -once"; }
grep -q '^qlik_sense_license,license_type=professional,site=windows ' "$WORK/once.out" || fail "no qlik_sense_license point"
grep -q '^qlik_sense_license_rightsizing,' "$WORK/once.out" || fail "no qlik_sense_license_rightsizing point"
echo "ok: -once wrote $(wc -l <"$WORK/once.out") points"
wine "$PLUGIN" -config "$CONF" -test >"$WORK/test.out" 2>&1 || { cat "$WORK/test.out"; fail "the plugin's -test"; }
grep -q 'ok    QRS' "$WORK/test.out" || fail "-test: no QRS step"
echo "ok: -test: $(grep -c '^  ok' "$WORK/test.out") steps ok"

step "the sidecar: check-config -connect, plan, once (live), rightsize"
wine "$SIDECAR" check-config -connect -config "$CONF" >"$WORK/check.out" 2>&1 || { cat "$WORK/check.out"; fail "check-config -connect"; }
grep -q 'ok    rights' "$WORK/check.out" || fail "check-config -connect: no rights step"
wine "$SIDECAR" plan -config "$CONF" -format csv >"$WORK/plan.csv" 2>"$WORK/plan.err" || { cat "$WORK/plan.err"; fail "plan"; }
grep -q '^release,professional,' "$WORK/plan.csv" || fail "plan: no release"
wine "$SIDECAR" once -config "$CONF" >"$WORK/once-sidecar.out" 2>&1 || { cat "$WORK/once-sidecar.out"; fail "once"; }
AUDIT=$WINEPREFIX/drive_c/ProgramData/qliksense-license/cli/windows-audit.jsonl
[ -f "$AUDIT" ] || fail "no audit log at $AUDIT"
released=$(grep -o '"allocation_id":"[^"]*","user":"[^"]*","days_since_last_use":[0-9.e+-]*,"never_used":[a-z]*,"outcome":"released"' "$AUDIT" |
	sed 's/"allocation_id":"\([^"]*\)".*/\1/')
[ "$(echo "$released" | grep -c .)" = 2 ] || { cat "$AUDIT"; fail "once: expected 2 released outcomes"; }
for id in $released; do
	code=$(qrs "/license/professionalaccesstype/$id")
	[ "$code" = 404 ] || fail "allocation $id is recorded released, yet QRS answers $code"
done
echo "ok: once released 2 allocations, read back from the emulator as gone"
wine "$SIDECAR" rightsize -config "$CONF" >"$WORK/rightsize.out" 2>&1 || { cat "$WORK/rightsize.out"; fail "rightsize"; }
grep -q '^VERDICT' "$WORK/rightsize.out" || fail "rightsize: no table"
echo "ok: check-config -connect, plan, rightsize"

step "the Windows service: install (account, data folder, log), start, a scheduled run, paramchange, stop during a DELETE, uninstall"
# The service's folder is not the default one (install.ps1 -DataDir C:\qsl-data): the
# site's file says state_dir = it, and install -data-dir checks that every file is in it.
SVC_DIR=$WINEPREFIX/drive_c/qsl-data
mkdir -p "$SVC_DIR"
site "$SVC_DIR/qliksense-license.conf" 'C:\qsl-data' 'dry_run = false' 'max_releases_per_run = 2' 'schedule = "@every 15s"'
SVC_CONF='C:\qsl-data\qliksense-license.conf'
wineserver -k 2>/dev/null || true
wineserver -p 600 # persistent: the service manager lives as long as the wineserver
SVC_KEY='HKLM\System\CurrentControlSet\Services\qliksense-license-release'
regval() { wine reg query "$SVC_KEY" /v "$1" 2>/dev/null | tr -d '\r' | sed -n "s/^ *$1 *REG_[A-Z_]* *//p"; }
registered() { wine sc query qliksense-license-release >/dev/null 2>&1; }
# Refused, and nothing registered: a user account without its password, a virtual account
# of another service, a data folder the site's files are not in.
if wine "$SIDECAR" install -config "$SVC_CONF" -account 'CORP\svc-qlik' >"$WORK/install.out" 2>&1; then fail "install: a user account without a password was accepted"; fi
grep -q 'is a user account: give its password on standard input with -password-stdin' "$WORK/install.out" || { cat "$WORK/install.out"; fail "install: no clear error for a missing password"; }
if wine "$SIDECAR" install -config "$SVC_CONF" -account 'NT SERVICE\telegraf' >"$WORK/install.out" 2>&1; then fail "install: another service's virtual account was accepted"; fi
if wine "$SIDECAR" install -config "$SVC_CONF" -data-dir 'C:\ProgramData\qliksense-license' >"$WORK/install.out" 2>&1; then fail "install: a site outside -data-dir was accepted"; fi
grep -q "outside -data-dir C:\\\\ProgramData\\\\qliksense-license: set state_dir = 'C:\\\\ProgramData\\\\qliksense-license'" "$WORK/install.out" || { cat "$WORK/install.out"; fail "install: no clear error for a site outside -data-dir"; }
# Two files naming the same site: the service's run would refuse them (exit code 1).
if wine "$SIDECAR" install -config "$SVC_CONF" -config "$SVC_CONF" >"$WORK/install.out" 2>&1; then fail "install: two files naming one site were accepted"; fi
grep -qF 'both name site "windows": give each file its own site' "$WORK/install.out" || { cat "$WORK/install.out"; fail "install: no clear error for a site named twice"; }
if registered; then fail "a refused install registered the service"; fi
echo "ok: install refuses a user account without a password, another service's account, a site outside -data-dir, a site named twice"
# A user account with its password on standard input, and a relative log file (made
# absolute: the service manager's working folder is System32).
(cd "$WORK" && printf 'pa ss\r\n' | wine "$SIDECAR" install -config "$SVC_CONF" -data-dir 'C:\qsl-data' -account '.\qsl' -password-stdin -log-file 'logs\svc.log') >"$WORK/install.out" 2>&1 ||
	{ cat "$WORK/install.out"; fail "install as a user account"; }
[ "$(regval ObjectName)" = '.\qsl' ] || fail "install -account .\\qsl: the service's account is '$(regval ObjectName)'"
regval ImagePath | grep -qF -- "-log-file $(winpath "$WORK")\\logs\\svc.log" || fail "install: the relative -log-file is not made absolute: $(regval ImagePath)"
grep -q 'pa ss' "$WORK/install.out" && fail "install printed the password"
wine reg query "$SVC_KEY" /s >"$WORK/reg.out" 2>/dev/null || true
grep -q ImagePath "$WORK/reg.out" || fail "reg query: the service's key is not readable"
grep -q 'pa ss' "$WORK/reg.out" && fail "the password is in the service's registry key"
echo "ok: install -account .\\qsl -password-stdin: ObjectName .\\qsl; -log-file logs\\svc.log -> $(winpath "$WORK")\\logs\\svc.log"
# Installed again as the same user account without its password (an upgrade: install.ps1
# run again without -ServicePassword): the service manager keeps the password it has; as
# another user account, the password is required.
wine "$SIDECAR" install -config "$SVC_CONF" -data-dir 'C:\qsl-data' -account '.\QSL' >"$WORK/install.out" 2>&1 </dev/null ||
	{ cat "$WORK/install.out"; fail "install again as the service's user account, without its password"; }
grep -qF 'install: updated, runs as .\qsl' "$WORK/install.out" || { cat "$WORK/install.out"; fail "install again as .\\QSL: not updated as .\\qsl"; }
if wine "$SIDECAR" install -config "$SVC_CONF" -data-dir 'C:\qsl-data' -account '.\other' >"$WORK/install.out" 2>&1 </dev/null; then
	fail "install as another user account without its password was accepted"
fi
[ "$(regval ObjectName)" = '.\qsl' ] || fail "install again: the service's account is '$(regval ObjectName)'"
echo "ok: installed again as its user account without the password: kept; another user account needs its password"
# Installed again: the existing service is reconfigured (an upgrade, another account).
wine "$SIDECAR" install -config "$SVC_CONF" -data-dir 'C:\qsl-data' -account 'NT SERVICE\qliksense-license-release' >"$WORK/install.out" 2>&1 ||
	{ cat "$WORK/install.out"; fail "install again"; }
grep -qF 'install: updated, runs as NT SERVICE\qliksense-license-release, logs to C:\qsl-data\qliksense-license-release.log' "$WORK/install.out" ||
	{ cat "$WORK/install.out"; fail "install again: not reported as updated with its account and log"; }
[ "$(regval ObjectName)" = 'NT SERVICE\qliksense-license-release' ] || fail "install -account NT SERVICE\\…: the service's account is '$(regval ObjectName)'"
regval ImagePath | grep -qF -- 'run -service -config C:\qsl-data\qliksense-license.conf -log-file C:\qsl-data\qliksense-license-release.log' ||
	fail "install: the service's command line is $(regval ImagePath)"
wine reg query 'HKLM\System\CurrentControlSet\Services\EventLog\Application\qliksense-license-release' >/dev/null 2>&1 ||
	fail "install: no event log source"
echo "ok: installed again: reconfigured as NT SERVICE\\qliksense-license-release, -log-file in -data-dir, event log source registered"
state() { wine sc query qliksense-license-release 2>/dev/null | tr -d '\r' | sed -n 's/.*STATE *: *[0-9]* *\([A-Z_]*\).*/\1/p'; }
wine "$SIDECAR" start >"$WORK/start.out" 2>&1 || { cat "$WORK/start.out"; fail "start"; }
[ "$(state)" = RUNNING ] || fail "start returned, yet the service is not RUNNING (state: $(state))"
echo "ok: RUNNING"
SVC_LOG=$SVC_DIR/qliksense-license-release.log
SVC_AUDIT=$SVC_DIR/windows-audit.jsonl
for _ in $(seq 300); do grep -q '"kind":"run"' "$SVC_AUDIT" 2>/dev/null && break; sleep 0.2; done
grep -q '"kind":"run"' "$SVC_AUDIT" 2>/dev/null || { cat "$SVC_LOG"; fail "no scheduled run within a minute"; }
grep -q '"outcome":"released"' "$SVC_AUDIT" || fail "the scheduled run released nothing"
echo "ok: a scheduled run released $(grep -c '"outcome":"released"' "$SVC_AUDIT") allocations (audit log and service log in C:\\qsl-data)"
# Wine's sc.exe has no "control": the sidecar's own reload sends the same ParamChange.
wine "$SIDECAR" reload >"$WORK/reload.out" 2>&1 || { cat "$WORK/reload.out"; fail "reload"; }
for _ in $(seq 50); do grep -q 'configuration reloaded' "$SVC_LOG" 2>/dev/null && break; sleep 0.2; done
grep -q 'configuration reloaded' "$SVC_LOG" || { cat "$SVC_LOG"; fail "paramchange did not reload"; }
echo "ok: reload (ParamChange) reloaded the configuration"
# The next run's first intent is noted in the in-flight file just before its DELETE goes
# out; QRS answers 3 s after carrying it out: stop while it is on the wire.
INFLIGHT=$SVC_DIR/windows-inflight.jsonl
for _ in $(seq 400); do grep -q '"intent"' "$INFLIGHT" 2>/dev/null && break; sleep 0.05; done
grep -q '"intent"' "$INFLIGHT" || { cat "$SVC_LOG"; fail "no DELETE of a scheduled run to stop during"; }
sleep 0.5
wine sc stop qliksense-license-release >/dev/null 2>&1 || true
for _ in $(seq 300); do [ "$(state)" = STOPPED ] && break; sleep 0.2; done
[ "$(state)" = STOPPED ] || fail "the service did not stop (state: $(state))"
last_run=$(grep '"kind":"run"' "$SVC_AUDIT" | tail -1)
echo "$last_run" | grep -q '"interrupted":true' || fail "the stopped run is not marked interrupted: $last_run"
echo "$last_run" | grep -q '"released":1' || fail "the DELETE in flight at the stop is not recorded released: $last_run"
run_id=$(echo "$last_run" | sed 's/.*"run_id":"\([^"]*\)".*/\1/')
id=$(grep "\"run_id\":\"$run_id\"" "$SVC_AUDIT" | grep '"outcome":"released"' | sed 's/.*"allocation_id":"\([^"]*\)".*/\1/')
[ "$(qrs "/license/professionalaccesstype/$id")" = 404 ] || fail "the DELETE in flight at the stop: $id is recorded released, yet still in QRS"
grep -q 'stopping' "$SVC_LOG" || true
echo "ok: stopped during a DELETE: it finished, was read back and recorded released; the rest deferred"
wine "$SIDECAR" uninstall >"$WORK/uninstall.out" 2>&1 || { cat "$WORK/uninstall.out"; fail "uninstall"; }
if wine sc query qliksense-license-release >/dev/null 2>&1; then fail "the service is still registered after uninstall"; fi
echo "ok: uninstalled"

step "a service whose configuration does not load: STOPPED with its exit code, the reason in its log"
wine "$SIDECAR" install -config "$SVC_CONF" -data-dir 'C:\qsl-data' >"$WORK/install.out" 2>&1 || { cat "$WORK/install.out"; fail "install"; }
echo 'max_releases_per_run = "many"' >>"$SVC_DIR/qliksense-license.conf" # breaks the file after install checked it
if wine "$SIDECAR" start >"$WORK/start.out" 2>&1; then fail "start succeeded with a configuration that does not load"; fi
grep -qF 'the service stopped at start with exit code 1 (the configuration does not load): the reason is in C:\qsl-data\qliksense-license-release.log and the Application event log' "$WORK/start.out" ||
	{ cat "$WORK/start.out"; fail "start: no clear error for a service that stopped at start"; }
wine sc query qliksense-license-release 2>/dev/null | tr -d '\r' >"$WORK/query.out"
grep -Eq 'STATE +: +1 +STOPPED' "$WORK/query.out" || { cat "$WORK/query.out"; fail "sc query: not STOPPED"; }
grep -Eq 'WIN32_EXIT_CODE +: +1066 ' "$WORK/query.out" || { cat "$WORK/query.out"; fail "sc query: not a service-specific exit (1066)"; }
grep -Eq 'SERVICE_EXIT_CODE +: +1 ' "$WORK/query.out" || { cat "$WORK/query.out"; fail "sc query: no service exit code 1"; }
grep 'invalid configuration' "$SVC_LOG" | grep -q max_releases_per_run || { cat "$SVC_LOG"; fail "the service's log does not say why"; }
echo "ok: sc query: STOPPED, WIN32_EXIT_CODE 1066, SERVICE_EXIT_CODE 1; the log names the key; start failed with the reason"
wine "$SIDECAR" uninstall >"$WORK/uninstall.out" 2>&1 || { cat "$WORK/uninstall.out"; fail "uninstall"; }
if wine reg query 'HKLM\System\CurrentControlSet\Services\EventLog\Application\qliksense-license-release' >/dev/null 2>&1; then
	fail "uninstall left the event log source"
fi
echo "ok: uninstall removed the service and its event log source"

step "a service whose sites cannot start, installed in folders with spaces: STOPPED with exit code 3, start fails"
# The binary in C:\Program Files\..., the data folder C:\qsl data: the service's command line
# quotes them, and the service reads its files and opens its log from it. The site's audit
# log is a folder: the file loads, the site cannot start (Serve fails opening it). start
# must not take the RUNNING of a service whose sites have not started for a success.
SP_DIR=$WINEPREFIX/drive_c/qsl\ data
SP_EXE=$WINEPREFIX/drive_c/Program\ Files/qsl/qliksense-license-release.exe
mkdir -p "$SP_DIR/audit.jsonl" "$(dirname "$SP_EXE")"
cp "$SIDECAR" "$SP_EXE"
site "$SP_DIR/qliksense-license.conf" 'C:\qsl data' "audit_log = 'C:\\qsl data\\audit.jsonl'" 'schedule = "@every 1h"'
wine "$SP_EXE" install -config 'C:\qsl data\qliksense-license.conf' -data-dir 'C:\qsl data' >"$WORK/install.out" 2>&1 ||
	{ cat "$WORK/install.out"; fail "install from C:\\Program Files"; }
regval ImagePath | grep -qF -- '"C:\Program Files\qsl\qliksense-license-release.exe" run -service -config "C:\qsl data\qliksense-license.conf" -log-file "C:\qsl data\qliksense-license-release.log"' ||
	fail "install: paths with spaces are not quoted in the service's command line: $(regval ImagePath)"
if wine "$SP_EXE" start >"$WORK/start.out" 2>&1; then fail "start succeeded, yet the site cannot start (its audit log is a folder)"; fi
grep -qF 'the service stopped at start with exit code 3 (the sites could not start): the reason is in C:\qsl data\qliksense-license-release.log and the Application event log' "$WORK/start.out" ||
	{ cat "$WORK/start.out"; fail "start: no clear error for a service whose sites could not start"; }
wine sc query qliksense-license-release 2>/dev/null | tr -d '\r' >"$WORK/query.out"
grep -Eq 'STATE +: +1 +STOPPED' "$WORK/query.out" || { cat "$WORK/query.out"; fail "sc query: not STOPPED"; }
grep -Eq 'SERVICE_EXIT_CODE +: +3 ' "$WORK/query.out" || { cat "$WORK/query.out"; fail "sc query: no service exit code 3"; }
grep 'starting failed' "$SP_DIR/qliksense-license-release.log" | grep -q 'audit log' ||
	{ cat "$SP_DIR/qliksense-license-release.log" 2>/dev/null; fail "the service's log (in C:\\qsl data) does not say why"; }
wine "$SP_EXE" uninstall >"$WORK/uninstall.out" 2>&1 || { cat "$WORK/uninstall.out"; fail "uninstall"; }
echo "ok: quoted command line (C:\\Program Files, C:\\qsl data); start failed naming exit code 3; sc query: STOPPED, SERVICE_EXIT_CODE 3; the log says why"

if [ -n "${TELEGRAF_EXE:-}" ]; then
	step "Telegraf on Windows: telegraf.exe runs the Windows plugin through [[inputs.execd]]"
	TG=$(realpath "$TELEGRAF_EXE")
	cat >"$WORK/telegraf.conf" <<TOML
[agent]
  interval = "10s"
  flush_interval = "1s"
  omit_hostname = true
[[inputs.execd]]
  command = ['$(winpath "$PLUGIN")', "-config", '$CONF', "-poll_interval_disabled"]
  signal = "STDIN"
  data_format = "influx"
[[outputs.file]]
  files = ['$(winpath "$WORK/metrics.out")']
  data_format = "influx"
TOML
	# Run as a service would (not --once: execd's points arrive after its gather returns)
	# until the plugin's points are in the file.
	wine "$TG" --config "$(winpath "$WORK/telegraf.conf")" >"$WORK/telegraf.log" 2>&1 &
	tg=$!
	PIDS+=("$tg")
	for _ in $(seq 600); do
		grep -q '^qlik_sense_license_gather,site=windows ' "$WORK/metrics.out" 2>/dev/null && break
		kill -0 "$tg" 2>/dev/null || break
		sleep 0.1
	done
	kill "$tg" 2>/dev/null || true
	wait "$tg" 2>/dev/null || true
	grep -q '^qlik_sense_license,license_type=professional,site=windows ' "$WORK/metrics.out" 2>/dev/null ||
		{ cat "$WORK/telegraf.log"; fail "Telegraf wrote no qlik_sense_license point from the Windows plugin"; }
	grep -q '^qlik_sense_license_gather,site=windows ' "$WORK/metrics.out" || fail "no qlik_sense_license_gather point"
	echo "ok: $(wine "$TG" --version | tr -d '\r') ran the Windows plugin through execd: $(wc -l <"$WORK/metrics.out") points"
fi

if [ -n "${DIST_ZIP:-}" ]; then
	step "the Windows package: unpacked, its binaries run"
	mkdir -p "$WORK/zip"
	(cd "$WORK/zip" && python3 -c 'import sys,zipfile; zipfile.ZipFile(sys.argv[1]).extractall(".")' "$DIST_ZIP")
	dir=$(find "$WORK/zip" -name 'qliksense-license-release.exe' -printf '%h\n' | head -1)
	[ -n "$dir" ] || fail "no qliksense-license-release.exe in $DIST_ZIP"
	for f in qliksense-license.exe install.ps1 uninstall.ps1 qliksense-license.conf.example telegraf.conf.example \
		grafana/qliksense-license-influxql.json grafana/qliksense-license-alerts.yaml; do
		[ -f "$dir/$f" ] || fail "$DIST_ZIP lacks $f"
	done
	wine "$dir/qliksense-license.exe" -config "$CONF" -once >"$WORK/zip-once.out" 2>&1 || { cat "$WORK/zip-once.out"; fail "the zip's plugin"; }
	grep -q '^qlik_sense_license,' "$WORK/zip-once.out" || fail "the zip's plugin wrote no qlik_sense_license point"
	wine "$dir/qliksense-license-release.exe" plan -config "$CONF" >/dev/null || fail "the zip's sidecar"
	echo "ok: $(basename "$DIST_ZIP"): both binaries run under Wine"
fi
printf '\nwindows-test: all passed\n'
