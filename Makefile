# myna-pkcs11 — build, demo and test.
#
#   make demo   build the module and show it working against the built-in simulated card
#   make test   run every test (unit, race, C ABI, real consumers, OpenSC cross-check)
#   make bench  performance comparison against OpenSC and SoftHSM2
#
# Both demo and test install the Debian packages they need first (as root).

SHELL   := /bin/bash
GO      ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
PREFIX  ?= /usr
DESTDIR ?=
OUT     := build/out
SO      := build/libmyna-pkcs11.so
GOFLAGS_SO := -buildmode=c-shared -trimpath
LDFLAGS_SO := -s -w -extldflags=-Wl,--version-script=$(CURDIR)/c/exports.map
export PATH := $(dir $(GO)):$(PATH)

.PHONY: all deps demo test test-go test-race test-abi test-consumers bench clean

all: $(SO) $(OUT)/myna-sim

deps:
	@bash test/install-deps.sh

GO_SOURCES := $(shell find c cardos p11 -name '*.go' -o -name '*.c' -o -name '*.h' -o -name '*.map' 2>/dev/null) go.mod go.sum

$(SO): $(GO_SOURCES)
	@mkdir -p build
	CGO_ENABLED=1 $(GO) build $(GOFLAGS_SO) -ldflags "$(LDFLAGS_SO)" -o $@ ./c
	@rm -f build/libmyna-pkcs11.h

$(OUT)/myna-sim: $(GO_SOURCES)
	@mkdir -p $(OUT)
	$(GO) build -trimpath -o $@ ./cardos/cmd/myna-sim

demo: deps all
	@bash test/demo.sh

test: deps all
	@bash test/run-all.sh

bench: deps all
	@bash test/bench.sh

clean:
	rm -rf build/out $(SO) build/libmyna-pkcs11.h
