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

.PARAMETER DataDir
  The folder of the configuration, the certificates, the audit log, the state and the
  service's log (default: C:\ProgramData\qliksense-license). A first install writes
  state_dir = DataDir into the configuration; the service is installed only when every
  site's state folder, lock and audit log are in it (install -data-dir checks).

.PARAMETER ServiceAccount
  The account the release service runs as (default: LocalSystem). A virtual account
  (NT SERVICE\qliksense-license-release, granted access once the service exists), a built-in
  one (NT AUTHORITY\LocalService, NT AUTHORITY\NetworkService) or a group managed service
  account (DOMAIN\name$) needs no password; a user account (DOMAIN\user, .\user) needs
  -ServicePassword and the right to "Log on as a service".

.PARAMETER ServicePassword
  The password of a user account given as ServiceAccount (Read-Host -AsSecureString); it
  reaches the service manager through standard input, never a command line. Not needed
  when the service already runs as that account (an upgrade): it keeps its password.

.PARAMETER TelegrafAccount
  The account Telegraf's own service runs as, which runs the plugin and reads the
  configuration and the key (default: LocalSystem).
#>
[CmdletBinding()]
param(
    [string]$InstallDir = (Join-Path $env:ProgramFiles 'qliksense-license'),
    [string]$DataDir = (Join-Path $env:ProgramData 'qliksense-license'),
    [string]$ServiceAccount = 'NT AUTHORITY\SYSTEM',
    [SecureString]$ServicePassword,
    [string]$TelegrafAccount = 'NT AUTHORITY\SYSTEM',
    [switch]$NoService
)
$ErrorActionPreference = 'Stop'
$serviceName = 'qliksense-license-release'

$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
    throw 'Run install.ps1 as Administrator: it writes to Program Files and installs a service.'
}
$here = Split-Path -Parent $MyInvocation.MyCommand.Path

# Both folders checked before anything changes (the running service is stopped below).
if ($DataDir.Contains("'")) { throw "-DataDir '$DataDir': a path without ' expected (it is written into the configuration)" }
$InstallDir = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($InstallDir) # absolute
$DataDir = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($DataDir)
# Without a trailing \ (as tab completion writes it): Windows PowerShell passes 'D:\qsl data\'
# to a program as "D:\qsl data\", whose \" the program reads as a quote inside the argument.
if ($DataDir.Length -gt 3) { $DataDir = $DataDir.TrimEnd('\') }
if (($DataDir.TrimEnd('\') + '\').StartsWith($InstallDir.TrimEnd('\') + '\', [StringComparison]::OrdinalIgnoreCase)) {
    # uninstall.ps1 deletes everything in InstallDir: the audit log would go with it.
    throw "-DataDir $DataDir is in -InstallDir $InstallDir, which uninstall.ps1 deletes: choose a data folder outside it"
}

Write-Host "Installing the binaries into $InstallDir"
New-Item -ItemType Directory -Force -Path $InstallDir | Out-Null
$sidecar = Join-Path $InstallDir 'qliksense-license-release.exe'
if (Get-Service -Name $serviceName -ErrorAction SilentlyContinue) {
    Write-Host 'Stopping the running service for the upgrade'
    & $sidecar stop | Out-Host
}
foreach ($f in 'qliksense-license.exe', 'qliksense-license-release.exe', 'README.md', 'METRICS.md', 'LICENSE',
        'qliksense-license.conf.example', 'telegraf.conf.example', 'uninstall.ps1') {
    Copy-Item -Force -Path (Join-Path $here $f) -Destination $InstallDir
}
Copy-Item -Force -Recurse -Path (Join-Path $here 'grafana') -Destination $InstallDir
Copy-Item -Force -Recurse -Path (Join-Path $here 'docs') -Destination $InstallDir

Write-Host "Preparing $DataDir (configuration, certificates, audit log)"
New-Item -ItemType Directory -Force -Path $DataDir | Out-Null
$conf = Join-Path $DataDir 'qliksense-license.conf'
$firstInstall = -not (Test-Path $conf)
if ($firstInstall) {
    # The example, with state_dir = DataDir: the service and the plugin (which reads the
    # notices the service keeps there) find the state in the folder restricted below.
    $example = [IO.File]::ReadAllText((Join-Path $here 'qliksense-license.conf.example'))
    $line = "state_dir = '" + $DataDir + "'"
    $example = $example -replace '(?m)^(\s*)# state_dir = ""', ('${1}' + $line.Replace('$', '$$'))
    [IO.File]::WriteAllText($conf, $example, (New-Object Text.UTF8Encoding($false)))
}
# Resolve-Sid is the SID of an account, or $null when Windows does not know it (a virtual
# account NT SERVICE\... exists only once its service does).
function Resolve-Sid([string]$Account) {
    $name = $Account.Trim()
    # The built-in accounts by their well-known SIDs, in every spelling install -account
    # takes: the service manager's spellings (LocalSystem, NT AUTHORITY\LocalService) are
    # not the accounts' names (SYSTEM, LOCAL SERVICE), which a name lookup may need.
    switch -Regex ($name) {
        '^(\.\\)?LocalSystem$|^(NT AUTHORITY\\)?SYSTEM$' { return 'S-1-5-18' }
        '^(NT AUTHORITY\\)?Local ?Service$' { return 'S-1-5-19' }
        '^(NT AUTHORITY\\)?Network ?Service$' { return 'S-1-5-20' }
    }
    if ($name -like '.\*') { $name = "$env:COMPUTERNAME\$($name.Substring(2))" }
    try {
        return (New-Object Security.Principal.NTAccount($name)).Translate([Security.Principal.SecurityIdentifier]).Value
    } catch {
        return $null
    }
}

# Set-DataDirAccess lets only Administrators and SYSTEM (full), the service account
# (modify: the audit log, state and log) and Telegraf's account (read: the configuration and
# the key) open the folder: nothing is inherited, any other account's grant (a previous
# service account's) is removed. SYSTEM keeps its access whatever the accounts (it has it
# in every folder of a default Windows; without it a SYSTEM backup or agent stops working,
# and it can take any folder anyway). One grant per account: /grant:r replaces an account's
# earlier grant, so when Telegraf runs as the service's account it keeps Modify alone, and
# an account that is SYSTEM keeps Full.
function Set-DataDirAccess {
    $system = 'S-1-5-18'
    $tgSid = Resolve-Sid $TelegrafAccount
    if (-not $tgSid) { throw "TelegrafAccount '$TelegrafAccount': Windows knows no such account" }
    $svcSid = Resolve-Sid $ServiceAccount
    $grants = @('*S-1-5-32-544:(OI)(CI)F', "*${system}:(OI)(CI)F")
    if (-not $svcSid) {
        if (Get-Service -Name $serviceName -ErrorAction SilentlyContinue) {
            throw "ServiceAccount '$ServiceAccount': Windows knows no such account"
        }
        Write-Host "($ServiceAccount gets access to $DataDir once the service is installed)"
    } elseif ($svcSid -ne $system) {
        $grants += "*${svcSid}:(OI)(CI)M"
    }
    if ($tgSid -ne $svcSid -and $tgSid -ne $system) { $grants += "*${tgSid}:(OI)(CI)RX" }
    & icacls.exe $DataDir /inheritance:r /grant:r $grants | Out-Null
    if ($LASTEXITCODE -ne 0) { throw "icacls failed on $DataDir" }
    # Any other account granted before (the previous service account) loses its access.
    $keep = @('S-1-5-32-544', $system, $svcSid, $tgSid)
    foreach ($rule in (Get-Acl -Path $DataDir).Access) {
        if ($rule.IsInherited) { continue }
        try {
            $sid = $rule.IdentityReference.Translate([Security.Principal.SecurityIdentifier]).Value
        } catch {
            continue
        }
        if ($keep -notcontains $sid) {
            & icacls.exe $DataDir /remove:g "*$sid" | Out-Null
            if ($LASTEXITCODE -ne 0) { throw "icacls failed to remove $($rule.IdentityReference) from $DataDir" }
        }
    }
}
Set-DataDirAccess

$log = Join-Path $DataDir 'qliksense-license-release.log'
if ($firstInstall) {
    Write-Host ''
    Write-Host "Edit $conf (server, tls_ca/tls_cert/tls_key of the QMC export, the release policy),"
    Write-Host 'check it with:'
    Write-Host "  & '$sidecar' check-config -connect -config '$conf'"
    Write-Host 'and run install.ps1 again to install the service.'
} elseif (-not $NoService) {
    & $sidecar check-config -config $conf | Out-Host
    if ($LASTEXITCODE -ne 0) { throw "$conf is not valid: nothing installed; fix it and run install.ps1 again" }
    # Creates the service, or reconfigures it (an upgrade, another account): its files, its
    # log in DataDir, its logon account.
    $installArgs = @('install', '-config', $conf, '-data-dir', $DataDir, '-log-file', $log, '-account', $ServiceAccount)
    if ($ServicePassword) {
        $bstr = [Runtime.InteropServices.Marshal]::SecureStringToBSTR($ServicePassword)
        $savedEncoding = $OutputEncoding
        try {
            $OutputEncoding = New-Object Text.UTF8Encoding($false)
            [Runtime.InteropServices.Marshal]::PtrToStringBSTR($bstr) | & $sidecar @installArgs -password-stdin | Out-Host
        } finally {
            [Runtime.InteropServices.Marshal]::ZeroFreeBSTR($bstr)
            $OutputEncoding = $savedEncoding
        }
    } else {
        & $sidecar @installArgs | Out-Host
    }
    if ($LASTEXITCODE -ne 0) { throw 'installing the service failed' }
    Set-DataDirAccess # a virtual account exists now
    # start waits until the service runs, and fails with the reason when it stops at start.
    & $sidecar start | Out-Host
    if ($LASTEXITCODE -ne 0) { throw "the service did not start: see $log and the Application event log" }
    Write-Host "The service $serviceName runs as $ServiceAccount; its log: $log"
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
