#!/bin/sh
# Qlik's own client (@qlik/api, pinned in emulators/qcloud/testdata/qlikapi) against the
# Qlik Cloud emulator. Installs Node and npm from the distribution's packages when they
# are missing (as root), then the pinned client with `npm ci`, then runs the Go test that
# drives it.
set -eu
GO=${GO:-go}
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "qlik-api-conformance: node and npm are missing; as root this installs them (apt-get install nodejs npm)" >&2
		exit 1
	fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
	echo "qlik-api-conformance: @qlik/api needs Node 20 or later, found $(node --version)" >&2
	exit 1
fi
(cd emulators/qcloud/testdata/qlikapi && npm ci --no-audit --no-fund)
$GO vet -tags qlikapi ./emulators/qcloud/
$GO test -tags qlikapi -count=1 -run '^TestQlikAPIConformance$' ./emulators/qcloud/
