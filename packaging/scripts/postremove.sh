#!/bin/sh
# After removal. The state directory holds the audit log: a purge keeps it unless
# QLIKSENSE_LICENSE_PURGE_STATE=yes. The service account stays (files may still be its).
# deb: $1 = remove, purge or upgrade; rpm: $1 = 0 on erase, 1 on upgrade.
set -e
case "$1" in
remove | purge | 0)
	if command -v systemctl >/dev/null 2>&1; then
		systemctl daemon-reload >/dev/null 2>&1 || true
	fi
	;;
esac
if [ "$1" = purge ]; then
	if [ "${QLIKSENSE_LICENSE_PURGE_STATE:-}" = yes ]; then
		rm -rf /var/lib/qliksense-license
	elif [ -d /var/lib/qliksense-license ]; then
		echo "qliksense-license: kept /var/lib/qliksense-license (the audit log); QLIKSENSE_LICENSE_PURGE_STATE=yes removes it on purge"
	fi
fi
