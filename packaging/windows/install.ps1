<#
.SYNOPSIS
  Installs qliksense-license on a Windows server: the binaries, the configuration folder
  restricted to Administrators and the accounts that read it, the release sidecar as a
  Windows service, and prints Telegraf's [[inputs.execd]] block.

.DESCRIPTION
  Run it as Administrator from the unpacked zip:
    powershell -ExecutionPolicy Bypass -File .\install.ps1
  It copies qliksense-license.exe and qliksense-license-release.exe to
  "C:\Program Files\qliksense-license", creates "C:\ProgramData\qliksense-license" (the
  configuration, the QMC's exported certificates, the audit log and the sidecar's state)
  and gives only Administrators, the service account and Telegraf's account access to it.
  A first install writes qliksense-license.conf from the example: edit it (server, the
  certificate paths, the release policy), check it with
    qliksense-license-release.exe check-config -connect -config C:\ProgramData\qliksense-license\qliksense-license.conf
  and run this script again: it installs the service once the file is valid.

.PARAMETER ServiceAccount
  The account the release service runs as (default: LocalSystem, as the service manager
  creates it).

.PARAMETER TelegrafAccount
  The account Telegraf's own service runs as, which runs the plugin and reads the
  configuration and the key (default: LocalSystem).
#>
[CmdletBinding()]
param(
    [string]$InstallDir = (Join-Path $env:ProgramFiles 'qliksense-license'),
    [string]$DataDir = (Join-Path $env:ProgramData 'qliksense-license'),
    [string]$ServiceAccount = 'NT AUTHORITY\SYSTEM',
    [string]$TelegrafAccount = 'NT AUTHORITY\SYSTEM',
    [switch]$NoService
)
$ErrorActionPreference = 'Stop'

$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
    throw 'Run install.ps1 as Administrator: it writes to Program Files and installs a service.'
}
$here = Split-Path -Parent $MyInvocation.MyCommand.Path

Write-Host "Installing the binaries into $InstallDir"
New-Item -ItemType Directory -Force -Path $InstallDir | Out-Null
$sidecar = Join-Path $InstallDir 'qliksense-license-release.exe'
if (Get-Service -Name 'qliksense-license-release' -ErrorAction SilentlyContinue) {
    Write-Host 'Stopping the running service for the upgrade'
    & $sidecar stop | Out-Host
}
foreach ($f in 'qliksense-license.exe', 'qliksense-license-release.exe', 'README.md', 'METRICS.md', 'LICENSE',
        'qliksense-license.conf.example', 'telegraf.conf.example', 'uninstall.ps1') {
    Copy-Item -Force -Path (Join-Path $here $f) -Destination $InstallDir
}
Copy-Item -Force -Recurse -Path (Join-Path $here 'grafana') -Destination $InstallDir

Write-Host "Preparing $DataDir (configuration, certificates, audit log)"
New-Item -ItemType Directory -Force -Path $DataDir | Out-Null
$conf = Join-Path $DataDir 'qliksense-license.conf'
$firstInstall = -not (Test-Path $conf)
if ($firstInstall) {
    Copy-Item -Path (Join-Path $here 'qliksense-license.conf.example') -Destination $conf
}
# Only Administrators, the service account (modify: the audit log and state) and Telegraf's
# account (read: the configuration and the key) may open the folder; nothing is inherited.
& icacls.exe $DataDir /inheritance:r /grant:r 'BUILTIN\Administrators:(OI)(CI)F' "${ServiceAccount}:(OI)(CI)M" "${TelegrafAccount}:(OI)(CI)RX" | Out-Null
if ($LASTEXITCODE -ne 0) { throw "icacls failed on $DataDir" }

if ($firstInstall) {
    Write-Host ''
    Write-Host "Edit $conf (server, tls_ca/tls_cert/tls_key of the QMC export, the release policy),"
    Write-Host 'check it with:'
    Write-Host "  & '$sidecar' check-config -connect -config '$conf'"
    Write-Host 'and run install.ps1 again to install the service.'
} elseif (-not $NoService) {
    & $sidecar check-config -config $conf | Out-Host
    if ($LASTEXITCODE -ne 0) { throw "$conf is not valid: nothing installed; fix it and run install.ps1 again" }
    if (-not (Get-Service -Name 'qliksense-license-release' -ErrorAction SilentlyContinue)) {
        & $sidecar install -config $conf | Out-Host
        if ($LASTEXITCODE -ne 0) { throw 'installing the service failed' }
    }
    & $sidecar start | Out-Host
    Write-Host "The service qliksense-license-release runs; its log: $(Join-Path $DataDir 'qliksense-license-release.log')"
}

$plugin = Join-Path $InstallDir 'qliksense-license.exe'
Write-Host ''
Write-Host "Telegraf: add this block to telegraf.conf (Telegraf's service must run as $TelegrafAccount):"
Write-Host ''
Write-Host '[[inputs.execd]]'
Write-Host "  command = ['$plugin', '-config', '$conf', '-poll_interval_disabled']"
Write-Host '  signal = "STDIN"'
Write-Host '  interval = "5m"'
Write-Host '  restart_delay = "30s"'
Write-Host '  data_format = "influx"'
