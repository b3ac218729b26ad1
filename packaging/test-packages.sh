#!/usr/bin/env bash
# make package-test: the .deb installed for real on this Debian machine — files, owners,
# modes, the service account, the installed binaries and configuration, the systemd unit —
# then upgraded over a locally edited configuration, removed and purged; and the .rpm
# inspected for the same contents and scripts. It needs root (CI runs as root) and leaves
# the machine as it found it, also when a check fails.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
	echo "package-test: installing a package needs root (CI runs as root); not run"
	exit 0
fi
NFPM=${NFPM:-bin/nfpm}
[ -x "$NFPM" ] || { echo "package-test: $NFPM is missing: make packages installs it" >&2; exit 1; }
[ -x dist/linux_amd64/qliksense-license-release ] || { echo "package-test: no binaries in dist/: run make binaries first" >&2; exit 1; }
if ! command -v rpm >/dev/null 2>&1; then
	echo "package-test: installing Debian's rpm to inspect the .rpm"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q rpm >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q rpm >/dev/null; }
fi

# What is here before, so that the cleanup removes only what the test made.
if dpkg -s qliksense-license >/dev/null 2>&1; then
	echo "package-test: qliksense-license is installed on this machine; not touching it" >&2
	exit 1
fi
for p in /var/lib/qliksense-license /etc/qliksense-license; do
	if [ -e "$p" ]; then
		echo "package-test: $p exists on this machine; not touching it" >&2
		exit 1
	fi
done
had_user=$(getent passwd qliksense-license || true)
had_group=$(getent group qliksense-license || true)
had_telegraf_dir=no
[ -d /etc/telegraf ] && had_telegraf_dir=yes
work=$(mktemp -d)

cleanup() {
	local rc=$?
	dpkg --purge qliksense-license >/dev/null 2>&1 || true
	[ -n "$had_user" ] || userdel qliksense-license >/dev/null 2>&1 || true
	[ -n "$had_group" ] || groupdel qliksense-license >/dev/null 2>&1 || true
	rm -rf /var/lib/qliksense-license /etc/qliksense-license "$work"
	if [ "$had_telegraf_dir" = no ]; then
		rm -rf /etc/telegraf
	fi
	if [ $rc -eq 0 ]; then
		echo "package-test: all checks passed; the machine is as it was"
	else
		echo "package-test: FAILED (the machine is as it was)" >&2
	fi
}
trap cleanup EXIT

fail() {
	echo "package-test: $*" >&2
	exit 1
}
check() { # check DESCRIPTION COMMAND...
	local what=$1
	shift
	"$@" >/dev/null 2>&1 || fail "$what"
	echo "  ok  $what"
}
owner_mode() { stat -c '%U:%G %a' "$1"; }

build() { # build VERSION PACKAGER TARGET
	ARCH=amd64 PKG_VERSION=$1 DIST=dist "$NFPM" package --config packaging/nfpm.yaml --packager "$2" --target "$3" >/dev/null
}
build 1.0.0 deb "$work/v1.deb"
build 1.0.1 deb "$work/v2.deb"
build 1.0.0 rpm "$work/v1.rpm"

echo "install 1.0.0"
dpkg -i "$work/v1.deb" >"$work/install.log" 2>&1 || { cat "$work/install.log"; fail "dpkg -i failed"; }
check "the install says the service is enabled but not started" grep -q "enabled but NOT started" "$work/install.log"
for f in /usr/bin/qliksense-license /usr/bin/qliksense-license-release; do
	check "$f root:root 755" test "$(owner_mode $f)" = "root:root 755"
done
check "no emulator in the package" bash -c '! dpkg -L qliksense-license | grep -q qrs-emulator'
for f in /usr/lib/systemd/system/qliksense-license-release.service \
	/etc/qliksense-license/qliksense-license.conf \
	/etc/telegraf/telegraf.d/qliksense-license.conf.example \
	/usr/share/qliksense-license/grafana/qliksense-license-influxql.json \
	/usr/share/qliksense-license/grafana/qliksense-license-alerts.yaml \
	/usr/share/doc/qliksense-license/README.md \
	/usr/share/doc/qliksense-license/LICENSE; do
	check "$f root:root 644" test "$(owner_mode $f)" = "root:root 644"
done
check "the configuration is the sample configuration" cmp /etc/qliksense-license/qliksense-license.conf plugins/inputs/qliksense_license/sample.conf
check "the configuration files are conffiles" bash -c "dpkg-query -W -f='\${Conffiles}' qliksense-license | grep -q /etc/qliksense-license/qliksense-license.conf && dpkg-query -W -f='\${Conffiles}' qliksense-license | grep -q telegraf.d/qliksense-license.conf.example"
check "Telegraf is not changed: the execd block is an example" test ! -e /etc/telegraf/telegraf.d/qliksense-license.conf
check "the system user" bash -c 'u=$(getent passwd qliksense-license) && [ "$(echo "$u" | cut -d: -f6,7)" = /var/lib/qliksense-license:/usr/sbin/nologin ] && [ "$(echo "$u" | cut -d: -f3)" -lt 1000 ]'
check "the state directory qliksense-license 750" test "$(owner_mode /var/lib/qliksense-license)" = "qliksense-license:qliksense-license 750"
check "the service is enabled" test -L /etc/systemd/system/multi-user.target.wants/qliksense-license-release.service
check "the service is not running" bash -c '! pgrep -f "^/usr/bin/qliksense-license-release"'
check "qliksense-license-release version" bash -c '/usr/bin/qliksense-license-release version | grep -q "^qliksense-license-release "'
check "qliksense-license -sample-config" bash -c '/usr/bin/qliksense-license -sample-config | cmp - plugins/inputs/qliksense_license/sample.conf'
# The QMC's exported certificates where the configuration names them, as an operator puts them.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=package-test \
	-keyout /etc/qliksense-license/client_key.pem -out /etc/qliksense-license/client.pem >/dev/null 2>&1
cp /etc/qliksense-license/client.pem /etc/qliksense-license/root.pem
/usr/bin/qliksense-license-release check-config -config /etc/qliksense-license/qliksense-license.conf >"$work/check.log" 2>&1 ||
	{ cat "$work/check.log"; fail "check-config on the installed configuration"; }
check "check-config on the installed configuration: a dry run" grep -q "dry_run: yes" "$work/check.log"
systemd-analyze verify /usr/lib/systemd/system/qliksense-license-release.service >"$work/verify.log" 2>&1 ||
	{ cat "$work/verify.log"; fail "systemd-analyze verify"; }
echo "  ok  systemd-analyze verify"

echo "upgrade to 1.0.1 over a local edit"
echo "# a local edit" >>/etc/qliksense-license/qliksense-license.conf
dpkg -i --force-confold "$work/v2.deb" >"$work/upgrade.log" 2>&1 || { cat "$work/upgrade.log"; fail "upgrade failed"; }
check "1.0.1 is installed" test "$(dpkg-query -W -f='${Version}' qliksense-license)" = 1.0.1
check "the local edit survives the upgrade" grep -q "^# a local edit$" /etc/qliksense-license/qliksense-license.conf
check "the upgrade does not print the first-install message" bash -c "! grep -q 'enabled but NOT started' '$work/upgrade.log'"
check "the state directory is still qliksense-license 750" test "$(owner_mode /var/lib/qliksense-license)" = "qliksense-license:qliksense-license 750"

echo "remove"
touch /var/lib/qliksense-license/production-audit.jsonl
dpkg -r qliksense-license >/dev/null 2>&1 || fail "dpkg -r failed"
check "the binaries are gone" test ! -e /usr/bin/qliksense-license-release
check "the service is disabled" test ! -e /etc/systemd/system/multi-user.target.wants/qliksense-license-release.service
check "the configuration stays until purge" test -e /etc/qliksense-license/qliksense-license.conf

echo "purge"
dpkg --purge qliksense-license >"$work/purge.log" 2>&1 || { cat "$work/purge.log"; fail "dpkg --purge failed"; }
check "the configuration is gone" test ! -e /etc/qliksense-license/qliksense-license.conf
check "the audit log is kept" test -e /var/lib/qliksense-license/production-audit.jsonl
check "the purge says it kept the state directory" grep -q "kept /var/lib/qliksense-license" "$work/purge.log"
dpkg -i "$work/v1.deb" >/dev/null 2>&1 || fail "reinstall failed"
QLIKSENSE_LICENSE_PURGE_STATE=yes dpkg --purge qliksense-license >/dev/null 2>&1 || fail "dpkg --purge failed"
check "QLIKSENSE_LICENSE_PURGE_STATE=yes purges the state directory" test ! -e /var/lib/qliksense-license

echo "the .rpm"
rpm -qlp "$work/v1.rpm" 2>/dev/null | sort >"$work/rpm.files"
dpkg-deb -c "$work/v1.deb" | awk '$1 !~ /^d/ {sub(/^\./, "", $6); print $6}' | sort >"$work/deb.files"
check "the .rpm holds the same files as the .deb" diff "$work/rpm.files" "$work/deb.files"
rpm -qp --scripts "$work/v1.rpm" >"$work/rpm.scripts" 2>/dev/null
check "the .rpm creates the system user" grep -q "useradd --system" "$work/rpm.scripts"
check "the .rpm enables the service on a first install" grep -q "systemctl enable qliksense-license-release.service" "$work/rpm.scripts"
check "the .rpm stops and disables it on erase" grep -q "systemctl disable qliksense-license-release.service" "$work/rpm.scripts"
check "the .rpm keeps local edits of the configuration" bash -c "rpm -qp --configfiles '$work/v1.rpm' 2>/dev/null | grep -q /etc/qliksense-license/qliksense-license.conf"
check "the .rpm is for x86_64, version 1.0.0" bash -c "[ \"\$(rpm -qp --qf '%{ARCH} %{VERSION}' '$work/v1.rpm' 2>/dev/null)\" = 'x86_64 1.0.0' ]"
