# myna-pkcs11 — build, demo and test.
#
#   make demo   build the module and show it working against the built-in simulated card
#   make test   run every test (unit, race, C ABI, real consumers, OpenSC cross-check);
#               the real consumers also on Debian 13 (test/trixie.sh; MYNA_SKIP_TRIXIE=1 skips)
#   make bench  performance comparison against OpenSC and SoftHSM2
#   make soak   make test SOAK_N times (default 5), each in a fresh clone of HEAD;
#               passes/failures per suite (test/soak.sh; --status-checks too)
#   make install / make uninstall   install into $(DESTDIR)$(PREFIX) (default /usr)
#   make deb    build build/myna-pkcs11_$(VERSION)_$(DEB_ARCH).deb
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

.PHONY: all deps demo test test-go test-race test-abi test-consumers bench soak clean
.PHONY: tools install uninstall deb

all: $(SO) $(OUT)/myna-sim $(OUT)/myna-pkcs11

deps:
	@bash test/install-deps.sh

GO_SOURCES := $(shell find c cardos p11 -name '*.go' -o -name '*.c' -o -name '*.h' -o -name '*.map' 2>/dev/null) go.mod go.sum

$(SO): $(GO_SOURCES)
	@mkdir -p build
	CGO_ENABLED=1 $(GO) build $(GOFLAGS_SO) -ldflags "$(LDFLAGS_SO)" -o $@ ./c
	@rm -f build/libmyna-pkcs11.h

# The fault tests' module: the same build plus the test-only simulator
# control (cardos/backend/simcontrol.go, build tag mynatest). Never installed.
TESTSO := $(OUT)/libmyna-pkcs11-test.so

$(TESTSO): $(GO_SOURCES)
	@mkdir -p $(OUT)
	CGO_ENABLED=1 $(GO) build $(GOFLAGS_SO) -tags mynatest -ldflags "$(LDFLAGS_SO)" -o $@ ./c
	@rm -f $(OUT)/libmyna-pkcs11-test.h

$(OUT)/myna-sim: $(GO_SOURCES)
	@mkdir -p $(OUT)
	$(GO) build -trimpath -o $@ ./cardos/cmd/myna-sim

demo: deps all
	@bash test/demo.sh

test: deps all $(TESTSO)
	@bash test/run-all.sh

bench: deps all
	@bash test/bench.sh

SOAK_N ?= 5
soak: deps all
	@bash test/soak.sh --status-checks 200
	@bash test/soak.sh $(SOAK_N)

clean:
	rm -rf build/out $(SO) build/libmyna-pkcs11.h build/*.deb

# --- companion command, install, Debian package ---------------------------------------

VERSION            ?= 0.1.0
DEB_HOST_MULTIARCH ?= $(shell dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
DEB_ARCH           ?= $(shell dpkg --print-architecture 2>/dev/null || echo amd64)
PKCS11DIR  := $(PREFIX)/lib/$(DEB_HOST_MULTIARCH)/pkcs11
P11KITDIR  := $(PREFIX)/share/p11-kit/modules
BINDIR     := $(PREFIX)/bin
MANDIR     := $(PREFIX)/share/man
MODFILE    := build/myna-pkcs11.module
MANPAGES   := build/man/myna-pkcs11.1 build/man/myna-pkcs11.8
DEB        := build/myna-pkcs11_$(VERSION)_$(DEB_ARCH).deb

$(OUT)/myna-pkcs11: $(GO_SOURCES)
	@mkdir -p $(OUT)
	$(GO) build -trimpath -ldflags "-s -w" -o $@ ./p11/cmd/myna-pkcs11

# tools: the companion command and the card simulator.
tools: $(OUT)/myna-pkcs11 $(OUT)/myna-sim

# install: the module into the multiarch PKCS#11 directory, its p11-kit
# registration (pointing at the installed path), the companion command and
# the man pages. Builds first when needed; PREFIX and DESTDIR as usual.
install: $(SO) $(OUT)/myna-pkcs11
	install -d $(DESTDIR)$(PKCS11DIR) $(DESTDIR)$(P11KITDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8
	install -m 0644 $(SO) $(DESTDIR)$(PKCS11DIR)/libmyna-pkcs11.so
	sed 's|^module:.*|module: $(PKCS11DIR)/libmyna-pkcs11.so|' $(MODFILE) >$(DESTDIR)$(P11KITDIR)/myna-pkcs11.module
	chmod 0644 $(DESTDIR)$(P11KITDIR)/myna-pkcs11.module
	install -m 0755 $(OUT)/myna-pkcs11 $(DESTDIR)$(BINDIR)/myna-pkcs11
	install -m 0644 build/man/myna-pkcs11.1 $(DESTDIR)$(MANDIR)/man1/myna-pkcs11.1
	install -m 0644 build/man/myna-pkcs11.8 $(DESTDIR)$(MANDIR)/man8/myna-pkcs11.8

# uninstall: removes exactly the files install put there (directories stay:
# other packages share them).
uninstall:
	rm -f $(DESTDIR)$(PKCS11DIR)/libmyna-pkcs11.so $(DESTDIR)$(P11KITDIR)/myna-pkcs11.module \
	  $(DESTDIR)$(BINDIR)/myna-pkcs11 $(DESTDIR)$(MANDIR)/man1/myna-pkcs11.1 $(DESTDIR)$(MANDIR)/man8/myna-pkcs11.8

# deb: a Debian package built with dpkg-deb from a staged `make install`.
deb: $(SO) $(OUT)/myna-pkcs11
	VERSION=$(VERSION) DEB_ARCH=$(DEB_ARCH) DEB_HOST_MULTIARCH=$(DEB_HOST_MULTIARCH) MAKE="$(MAKE)" \
	  bash build/packaging/build-deb.sh $(DEB)
