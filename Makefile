# qliksense-license: Qlik Sense license telemetry (a Telegraf execd input) and release.
# `make ci` is the test command: what .ci/run calls and what a contributor runs.

GO          ?= go
BIN         := $(CURDIR)/bin
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS     := -s -w -X main.version=$(VERSION)
COMMANDS    := $(notdir $(wildcard cmd/*))
STATICCHECK := $(BIN)/staticcheck
STATICCHECK_VERSION := v0.8.2
PLATFORMS   := linux/amd64 linux/arm64 windows/amd64 windows/arm64
# The real Telegraf and InfluxDB the end-to-end test runs (built from the Go module proxy
# into bin/, reused while they exist). TELEGRAF_VERSION must match go.mod (a test checks).
TELEGRAF_VERSION := v1.37.2
TELEGRAF_TAGS    := custom,inputs.execd,outputs.influxdb,outputs.influxdb_v2,outputs.file,inputs.influxdb_v2_listener
INFLUXDB_VERSION := v1.8.10
# The .deb/.rpm packager (nFPM), installed into bin/ like staticcheck. PKG_VERSION: the tag
# without its v, or 0.0.0~git<commit time>.<hash> between tags (ordered by commit time).
NFPM         := $(BIN)/nfpm
NFPM_VERSION := v2.45.2
PKG_VERSION  ?= $(shell t=$$(git describe --tags --exact-match 2>/dev/null) && echo $${t#v} || \
	echo 0.0.0~git$$(git log -1 --format=%cd --date=format:%Y%m%d%H%M%S 2>/dev/null || echo 0).$$(git rev-parse --short HEAD 2>/dev/null || echo dev))

.PHONY: all build test test-short lint bench dist binaries packages package-test windows-test ci clean emulator e2e demo fuzz qrs-spec grafana qlik-api-conformance chromium report-image

all: build

## build: the binaries of cmd/ into bin/
build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/ ./cmd/...

## test: unit tests with the race detector (the license report's test renders it in
## Debian's chromium, installed first when missing)
test: chromium
	$(GO) test -race -count=1 ./...

## chromium: Debian's chromium, the browser the license report is checked in (installed
## with apt-get as root when missing; CI runs as root)
chromium:
	@bash scripts/chromium.sh >/dev/null

## report-image: the README's picture of the license report, rendered by its browser test
## (results/ keeps the test's own PNGs, desktop and phone)
report-image: chromium
	REPORT_IMAGE=$(CURDIR)/docs/images/report.png $(GO) test -count=1 -run '^TestReportInABrowser$$' ./cmd/qliksense-license-release/

## test-short: the fast subset
test-short:
	$(GO) test -short -count=1 ./...

$(STATICCHECK):
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

## lint: gofmt, go vet and staticcheck
lint: $(STATICCHECK)
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags e2e ./e2e/
	GOOS=windows $(GO) vet ./...
	$(STATICCHECK) ./...
	GOOS=windows $(STATICCHECK) ./...
	$(STATICCHECK) -tags e2e ./e2e/

## bench: Go benchmarks (benchstat-friendly, results/go-bench.txt), then the side-by-side
## table against the emulator at 10k and 100k users, 0/20/50 ms (results/bench.{csv,json}), a
## release run on a 10 000-user Qlik Cloud tenant, first and next day (results/bench-tenant.{csv,json}),
## then the forecast's backtest and the cost of its query in a real InfluxDB 1.8
## (results/forecast.json)
bench: build $(BIN)/influxd
	mkdir -p results
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./... | tee results/go-bench.txt
	$(GO) run ./tools/bench -bin $(BIN) -out results
	$(GO) run ./tools/forecastbench -out results -influxd $(BIN)/influxd -plugin $(BIN)/qliksense-license

## dist: static binaries for Linux and Windows, amd64 and arm64, packed with the example
## configurations, the dashboard and the systemd unit (.tar.gz / .zip), the .deb and .rpm
## packages (Linux), and SHA256SUMS of them all
dist: packages
	$(GO) run ./tools/dist -dir dist -version $(VERSION)

$(NFPM):
	GOBIN=$(BIN) $(GO) install github.com/goreleaser/nfpm/v2/cmd/nfpm@$(NFPM_VERSION)

## packages: the .deb and .rpm packages of linux/amd64 and linux/arm64 into dist/
packages: binaries $(NFPM)
	@set -e; for arch in amd64 arm64; do \
		for pkg in deb rpm; do \
			ARCH=$$arch PKG_VERSION=$(PKG_VERSION) DIST=dist $(NFPM) package --config packaging/nfpm.yaml --packager $$pkg --target dist/; \
		done; \
	done

## package-test: install the .deb for real, upgrade it, remove and purge it (root only:
## CI runs as root), and inspect the .rpm; the machine is left as it was found
package-test:
	bash packaging/test-packages.sh

## binaries: the static binaries of every platform into dist/<os>_<arch>/
binaries:
	rm -rf dist
	@set -e; for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; ext=; [ $$os = windows ] && ext=.exe; \
		for c in $(COMMANDS); do \
			echo "dist/$${os}_$${arch}/$$c$$ext"; \
			CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags "$(LDFLAGS)" \
				-o dist/$${os}_$${arch}/$$c$$ext ./cmd/$$c; \
		done; \
	done

## qrs-spec: regenerate the committed QRS specification subset (the operations the emulator
## serves and the definitions they reference) from the full specification, read from
## QRS_SPEC or ../shared/qrs
qrs-spec:
	$(GO) generate ./internal/qrsspec

## grafana: the dashboard and alert rules of grafana/, built with Grafana's foundation SDK
## by tools/grafana (its test fails when the committed files differ from what it writes)
grafana:
	$(GO) run ./tools/grafana -dir grafana

## emulator: run the QRS emulator with a generated site on 127.0.0.1:4242
emulator: build
	$(BIN)/qrs-emulator -cert-dir .demo/certs -proxy-addr 127.0.0.1:4443

$(BIN)/telegraf: tools/telegraf/go.mod tools/telegraf/go.sum
	cd tools/telegraf && $(GO) build -mod=readonly -tags "$(TELEGRAF_TAGS)" \
		-ldflags "-X github.com/influxdata/telegraf/internal.Version=$(TELEGRAF_VERSION:v%=%)" \
		-o $(BIN)/telegraf github.com/influxdata/telegraf/cmd/telegraf

$(BIN)/influxd:
	GOBIN=$(BIN) $(GO) install github.com/influxdata/influxdb/cmd/influxd@$(INFLUXDB_VERSION)

## e2e: the real stack (emulator, InfluxDB 1.8, Telegraf with the plugin, the sidecar)
e2e: build $(BIN)/telegraf $(BIN)/influxd
	E2E_BIN=$(BIN) $(GO) test -tags e2e -count=1 -v ./e2e/

## demo: the emulator, one gather by the plugin and the sidecar's plan, in one command
demo: build
	@bash scripts/demo.sh

# FUZZTIME is a number of executions (Nx), not a duration: with a duration, Go 1.26's fuzz
# coordinator can report its own deadline as a failure (golang/go#75804, fixed in Go 1.27).
FUZZTIME ?= 200000x
FUZZ_TARGETS := \
	./emulators/qrs:FuzzQuoteRoundTrip \
	./emulators/qrs:FuzzFilterParser \
	./emulators/qrs:FuzzQlikUser \
	./emulators/qrs:FuzzJWT \
	./plugins/common/qrs:FuzzDecode \
	./plugins/common/qrs:FuzzAllocationReader \
	./plugins/inputs/qliksense_license:FuzzConfig \
	./plugins/inputs/qliksense_license:FuzzParseValidTo \
	./emulators/qcloud:FuzzFilterParser \
	./emulators/qcloud:FuzzStringRoundTrip \
	./plugins/common/qcloud:FuzzQuoteRoundTrip

## fuzz: each fuzz target for FUZZTIME executions (CI: 50000x each); seeds in testdata/fuzz
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$name ($$pkg): $(FUZZTIME)"; \
		$(GO) test $$pkg -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME); \
	done

## windows-test: the Windows builds and the Windows service run for real under Wine against
## the emulator, and the Windows zip of dist/ unpacked and run (as root it installs wine64
## and gcc-mingw-w64-x86-64 from Debian's packages when they are missing)
windows-test: $(BIN)/windows/telegraf.exe
	DIST_ZIP=$$(ls dist/qliksense-license_*_windows_amd64.zip 2>/dev/null | head -1) TELEGRAF_EXE=$(BIN)/windows/telegraf.exe \
		bash scripts/windows-test.sh

# Telegraf's Windows build (execd and file output only), for Telegraf on Windows under Wine.
$(BIN)/windows/telegraf.exe: tools/telegraf/go.mod tools/telegraf/go.sum
	cd tools/telegraf && GOOS=windows GOARCH=amd64 CGO_ENABLED=0 $(GO) build -mod=readonly -tags "custom,inputs.execd,outputs.file" \
		-ldflags "-X github.com/influxdata/telegraf/internal.Version=$(TELEGRAF_VERSION:v%=%)" \
		-o $(BIN)/windows/telegraf.exe github.com/influxdata/telegraf/cmd/telegraf

## qlik-api-conformance: Qlik's own client (@qlik/api from npm, pinned) against the Qlik Cloud
## emulator (installs nodejs and npm from Debian's packages when missing, as root)
qlik-api-conformance:
	GO=$(GO) sh scripts/qlik-api-conformance.sh

## ci: everything CI checks
ci: lint test build dist package-test windows-test e2e qlik-api-conformance
	$(MAKE) fuzz FUZZTIME=50000x

clean:
	rm -rf bin dist .demo results
