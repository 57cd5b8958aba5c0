# genesys-sip — every command anyone needs is a target here.
#   make demo     replay a generated sample through the real tshark, show genesys.call_id
#   make test     everything CI checks (installs tshark, sipp, libpcap-dev when root)
#   make fuzz     look for new bugs: every fuzz target for FUZZTIME (not part of test)
#   make bench    throughput against editcap, Go benchmarks with allocs/op
#   make install  install the extcap and the Lua dissector for your Wireshark
#   make screenshots  the README's pictures from the real Wireshark GUI (Xvfb)

GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.1.0-dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
BIN       := bin/genesys-sip
FUZZTIME  ?= 10s
export PATH := $(PATH):/usr/local/go/bin:$(shell $(GO) env GOPATH 2>/dev/null)/bin

.PHONY: all deps build install uninstall demo test check lint cross unit fuzz bench readme screenshots clean

all: build

# System packages the tests drive (Debian names); installed only when
# missing and running as root, otherwise the missing ones are named.
deps:
	@scripts/deps.sh
	@$(GO) mod download

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./extcap

install: build
	$(BIN) install

uninstall: build
	$(BIN) uninstall

demo: deps build
	@scripts/demo.sh

# The whole check CI runs. It is deterministic: `go test` runs every fuzz
# target on its committed seed corpus, but exploring for new inputs is
# `make fuzz`, whose verdict depends on luck and so is not CI's.
test: deps check unit cross

check:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	@command -v staticcheck >/dev/null || $(GO) install honnef.co/go/tools/cmd/staticcheck@v0.8.2
	staticcheck ./...

unit: build
	$(GO) test -count=1 -timeout 20m ./...

# Windows (named-pipe FIFO) and macOS must keep building.
cross:
	GOOS=windows GOARCH=amd64 $(GO) build -o /dev/null ./...
	GOOS=darwin GOARCH=arm64 $(GO) build -o /dev/null ./...

# A bounded exploratory run of every fuzz target (FUZZTIME each). A new
# failing input lands in out/fuzz-crashers/, with the command to promote it
# to a committed seed.
fuzz:
	@scripts/fuzz.sh $(FUZZTIME)

bench: deps build
	@scripts/bench.sh

# The README's screenshots, from the real Wireshark GUI under Xvfb.
screenshots: deps build
	@scripts/screenshots.sh

# Regenerate the README's argument table from the code's.
readme: build
	scripts/readme-args.sh $(BIN)

clean:
	rm -rf bin out
