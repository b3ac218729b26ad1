#!/bin/sh
# Before removal (not an upgrade): stop and disable the service. A run in progress finishes
# the DELETE on the wire first (systemd's stop). deb: $1 = remove; rpm: $1 = 0.
set -e
case "$1" in
remove | 0)
	if command -v systemctl >/dev/null 2>&1; then
		systemctl stop qliksense-license-release.service >/dev/null 2>&1 || true
		systemctl disable qliksense-license-release.service >/dev/null 2>&1 || true
	fi
	;;
esac
