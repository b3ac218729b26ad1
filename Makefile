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

.PHONY: all build test test-short lint bench dist ci clean emulator

all: build

## build: the binaries of cmd/ into bin/
build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/ ./cmd/...

## test: unit tests with the race detector (needs ../shared beside the repository)
test:
	$(GO) test -race -count=1 ./...

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
	GOOS=windows $(GO) vet ./...
	$(STATICCHECK) ./...

## bench: Go benchmarks with allocation counts (benchstat-friendly)
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./...

## dist: static binaries for Linux and Windows, amd64 and arm64, with checksums
dist:
	rm -rf dist
	@set -e; for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; ext=; [ $$os = windows ] && ext=.exe; \
		for c in $(COMMANDS); do \
			echo "dist/$${os}_$${arch}/$$c$$ext"; \
			CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags "$(LDFLAGS)" \
				-o dist/$${os}_$${arch}/$$c$$ext ./cmd/$$c; \
		done; \
	done
	cd dist && find . -type f ! -name SHA256SUMS | sort | xargs sha256sum > SHA256SUMS

## emulator: run the QRS emulator with a generated site on 127.0.0.1:4242
emulator: build
	$(BIN)/qrs-emulator -cert-dir .demo/certs -proxy-addr 127.0.0.1:4443

## ci: everything CI checks
ci: lint test build dist

clean:
	rm -rf bin dist .demo results
