#!/usr/bin/env bash
# make demo: a QRS emulator with a generated site, one gather by the Telegraf plugin, the
# release sidecar's plan for an example policy, right-sizing, and the license report.
# Everything stays in .demo/ and the emulator is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=bin
demo=.demo
mkdir -p "$demo"
rm -rf "$demo/state"

"$bin/qrs-emulator" -addr 127.0.0.1:0 -cert-dir "$demo/certs" -users 40 -capacity-minutes 3000 -apps 12 -app-objects 150 -seed 7 >"$demo/emulator.log" 2>&1 &
emulator=$!
trap 'kill "$emulator" 2>/dev/null || true; wait "$emulator" 2>/dev/null || true' EXIT

url=""
for _ in $(seq 1 100); do
	url=$(sed -n 's#^QRS (mutual TLS) on \(https://[^/]*\)/qrs.*#\1#p' "$demo/emulator.log")
	[ -n "$url" ] && break
	if ! kill -0 "$emulator" 2>/dev/null; then cat "$demo/emulator.log"; exit 1; fi
	sleep 0.1
done
[ -n "$url" ] || { echo "the emulator did not start:"; cat "$demo/emulator.log"; exit 1; }

cat >"$demo/site.conf" <<CONF
[[inputs.qliksense_license]]
  site = "demo"
  server = "$url"
  tls_ca = "$demo/certs/root.pem"
  tls_cert = "$demo/certs/client.pem"
  tls_key = "$demo/certs/client_key.pem"

  [inputs.qliksense_license.release]
    state_dir = "$demo/state"
    max_releases_per_run = 5
CONF
# The release policy the tests, the benchmark and the end-to-end test share.
cat internal/testkit/testdata/policy.toml >>"$demo/site.conf"

bold=$(tput bold 2>/dev/null || true); plain=$(tput sgr0 2>/dev/null || true)
echo "${bold}1. A Qlik Sense site, emulated${plain}"
sed -n '1p' "$demo/emulator.log"
echo "   QRS on $url with mutual TLS; certificates in $demo/certs"
echo
echo "${bold}2. The Telegraf plugin gathers once (line protocol, as Telegraf receives it)${plain}"
echo "   $bin/qliksense-license -config $demo/site.conf -once"
"$bin/qliksense-license" -config "$demo/site.conf" -once | sed -E 's/ [0-9]{19}$//' | cut -c1-160
echo
echo "${bold}3. The release sidecar's plan: what a run would release, and why (dry run, nothing changes)${plain}"
echo "   $bin/qliksense-license-release plan -config $demo/site.conf"
"$bin/qliksense-license-release" plan -config "$demo/site.conf" | cut -c1-160
echo
echo "${bold}4. Right-sizing: professional holders who only consume, and why the others keep it${plain}"
echo "   $bin/qliksense-license-release rightsize -config $demo/site.conf"
"$bin/qliksense-license-release" rightsize -config "$demo/site.conf" | cut -c1-160
echo
echo "${bold}5. The license report the owner reads: one self-contained HTML page (mailed monthly with [report] enabled)${plain}"
echo "   $bin/qliksense-license-release report -config $demo/site.conf -out $demo/report.html"
"$bin/qliksense-license-release" report -config "$demo/site.conf" -out "$demo/report.html" >/dev/null
echo "   the report is in $(pwd)/$demo/report.html: open it in a browser"
echo "   (with a [forecast] table it also charts the history in InfluxDB and says when to buy)"
echo
echo "${bold}Next${plain}"
echo "  make ci              the test command: lint, unit tests, builds, and the end-to-end test"
echo "  make e2e             the real stack: Telegraf (execd) and InfluxDB 1.8 with the emulator"
echo "  make emulator        keep an emulator running; $demo/site.conf shows how to point the tools at it"
echo "  docs/install.md      connecting to a real site, the execd block"
echo "  docs/configuration.md, docs/metrics.md   every setting and metric"
