<#
.SYNOPSIS
  Removes qliksense-license: stops and removes the release service and deletes the
  binaries. The audit log, the state and the configuration in C:\ProgramData\qliksense-license
  stay unless -RemoveData is given: the audit log is the record of every release.

.DESCRIPTION
  Run it as Administrator:
    powershell -ExecutionPolicy Bypass -File "C:\Program Files\qliksense-license\uninstall.ps1"
  Remove the [[inputs.execd]] block from telegraf.conf yourself. Give -DataDir as
  install.ps1 had it when it was not the default.
#>
[CmdletBinding()]
param(
    [string]$InstallDir = (Join-Path $env:ProgramFiles 'qliksense-license'),
    [string]$DataDir = (Join-Path $env:ProgramData 'qliksense-license'),
    [switch]$RemoveData
)
$ErrorActionPreference = 'Stop'

$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
    throw 'Run uninstall.ps1 as Administrator.'
}
$sidecar = Join-Path $InstallDir 'qliksense-license-release.exe'
# The data folder install.ps1 gave the service is the folder of its -config: without
# -DataDir, a folder that is not the default one is named, and -RemoveData refused before
# anything is removed (it would delete the default folder and keep the service's).
$service = Get-CimInstance -ClassName Win32_Service -Filter "Name='qliksense-license-release'" -ErrorAction SilentlyContinue
if ($service -and -not $PSBoundParameters.ContainsKey('DataDir') -and $service.PathName -match '\s-config\s+(?:"([^"]+)"|(\S+))') {
    $serviceData = Split-Path -Parent ($(if ($Matches[1]) { $Matches[1] } else { $Matches[2] }))
    if ($serviceData.TrimEnd('\') -ne $DataDir.TrimEnd('\')) {
        if ($RemoveData) { throw "The service keeps its data in $serviceData, not ${DataDir}: run uninstall.ps1 -RemoveData -DataDir '$serviceData'" }
        $DataDir = $serviceData
    }
}
if (Get-Service -Name 'qliksense-license-release' -ErrorAction SilentlyContinue) {
    # A stop lets the DELETE in flight finish and be recorded before the service ends.
    & $sidecar stop | Out-Host
    & $sidecar uninstall | Out-Host
    if ($LASTEXITCODE -ne 0) { throw 'removing the service failed' }
}
# This script may run from the folder it removes: copy nothing, remove the rest.
Get-ChildItem -Path $InstallDir -Force | Where-Object { $_.Name -ne 'uninstall.ps1' } | Remove-Item -Recurse -Force
Remove-Item -Force -Path (Join-Path $InstallDir 'uninstall.ps1') -ErrorAction SilentlyContinue
Remove-Item -Force -Path $InstallDir -ErrorAction SilentlyContinue
if ($RemoveData) {
    Write-Host "Removing $DataDir (configuration, certificates, audit log)"
    Remove-Item -Recurse -Force -Path $DataDir
} else {
    Write-Host "Kept ${DataDir}: the configuration, the certificates and the audit log (remove with -RemoveData)"
}
