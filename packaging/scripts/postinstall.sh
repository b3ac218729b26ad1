#!/bin/sh
# After unpacking: the state directory (lock, in-flight notes, audit log), and on a first
# install the service enabled but not started: the operator sets the site and the policy
# first. deb: $1 = configure, $2 = the version upgraded from (empty on a first install);
# rpm: $1 = 1 on a first install, 2 on an upgrade.
set -e
install -d -m 0750 -o qliksense-license -g qliksense-license /var/lib/qliksense-license
chown qliksense-license:qliksense-license /var/lib/qliksense-license
chmod 0750 /var/lib/qliksense-license

first=no
if { [ "$1" = configure ] && [ -z "${2:-}" ]; } || [ "$1" = 1 ]; then
	first=yes
fi
if command -v systemctl >/dev/null 2>&1; then
	systemctl daemon-reload >/dev/null 2>&1 || true
	if [ "$first" = yes ]; then
		systemctl enable qliksense-license-release.service >/dev/null 2>&1 || true
	fi
fi
if [ "$first" = yes ]; then
	cat <<'MSG'
qliksense-license is installed. The release sidecar (qliksense-license-release.service) is
enabled but NOT started: it releases Qlik Sense licenses, so set it up first.
  1. Put the QMC's exported certificates (root.pem, client.pem, client_key.pem) in
     /etc/qliksense-license/ and set server, site and the release policy in
     /etc/qliksense-license/qliksense-license.conf (dry_run stays true until you set it false).
  2. qliksense-license-release check-config -connect -config /etc/qliksense-license/qliksense-license.conf
     qliksense-license-release plan -config /etc/qliksense-license/qliksense-license.conf
  3. systemctl start qliksense-license-release
Telegraf: copy /etc/telegraf/telegraf.d/qliksense-license.conf.example to a .conf file there.
MSG
fi
