#!/usr/bin/env bash
# Installs Debian's chromium (the headless browser the license report is rendered and
# checked with) when it is missing, with fonts-liberation (Arial's metrics, which the page
# asks for; without recommends only DejaVu comes); root only, as CI runs. Prints the
# browser's path.
set -euo pipefail
if ! command -v chromium >/dev/null; then
	if [ "$(id -u)" != 0 ]; then
		echo "chromium is missing: install Debian's chromium package (apt-get install chromium) as root" >&2
		exit 1
	fi
	echo "installing chromium from Debian's packages" >&2
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends chromium fonts-liberation >/dev/null ||
		{ apt-get -o DPkg::Lock::Timeout=900 update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends chromium fonts-liberation >/dev/null; }
fi
command -v chromium
