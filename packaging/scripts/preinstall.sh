#!/bin/sh
# Before the files are unpacked: the service account the sidecar runs as.
set -e
if ! getent group qliksense-license >/dev/null 2>&1; then
	groupadd --system qliksense-license
fi
if ! getent passwd qliksense-license >/dev/null 2>&1; then
	useradd --system --gid qliksense-license --home-dir /var/lib/qliksense-license --no-create-home \
		--shell /usr/sbin/nologin --comment "Qlik Sense license release" qliksense-license
fi
