# moonwatch — everything a fresh machine needs goes through these targets.
#   make run     install missing packages, build, run live detection with the bundled signatures
#   make test    install missing packages, build, run every test
#   make fuzz    the capture-reader and wire-decoder fuzzers with a long budget (FUZZ_ITERATIONS, FUZZ_SEED)
#   make bench   release build + benchmarks/ (numbers, never in tests)
#   make docs    regenerate docs/events/ from the catalogue
#   make install the binary, a default configuration and the systemd unit (PREFIX, DESTDIR, SYSCONFDIR)

SWIFT      ?= $(shell command -v swift 2>/dev/null || echo /opt/swift/usr/bin/swift)
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
BUILD_DEPS := libbpf-dev liblua5.4-dev libelf-dev zlib1g-dev pkg-config
BENCH_DEPS := bpftrace
RUN_ARGS   ?=
# `make install`: where things go. The binary finds the Swift runtime in /opt/swift (its RUNPATH).
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
SYSCONFDIR ?= /etc
UNITDIR    ?= $(PREFIX)/lib/systemd/system
DOCDIR     ?= $(PREFIX)/share/doc/moonwatch
DESTDIR    ?=
# The binary installed; a test installs the debug build it already has.
INSTALL_BIN ?= .build/release/moonwatch
# `make test` needs systemd-analyze (the unit is verified).
TEST_DEPS  := systemd
# `make test` runs the fuzzers for 1500 capture documents and 15000 wire records; `make fuzz` for this many.
FUZZ_ITERATIONS ?= 100000
FUZZ_SEED       ?= 7239109567357

.PHONY: all deps bench-deps build release run test fuzz bench docs clean install

all: build

# Installs only what is missing, so a ready machine does no apt work at all.
define apt_install
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make: installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
endef

deps:
	$(call apt_install,$(BUILD_DEPS))

bench-deps: deps
	$(call apt_install,$(BENCH_DEPS))

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

run: release
	$(SUDO) .build/release/moonwatch run $(RUN_ARGS)

# The last line counts the tests that ran (XCTest and Swift Testing); a failure fails the target.
test: deps
	$(call apt_install,$(TEST_DEPS))
	$(SWIFT) build --build-tests
	SWIFT=$(SWIFT) tools/run-tests.sh

fuzz: deps
	$(SWIFT) build --build-tests
	MOONWATCH_FUZZ_ITERATIONS=$(FUZZ_ITERATIONS) MOONWATCH_FUZZ_SEED=$(FUZZ_SEED) SWIFT=$(SWIFT) tools/run-tests.sh --filter FuzzTests

bench: bench-deps release
	./benchmarks/run.sh

docs: build
	.build/debug/moonwatch events docs --out docs/events
	.build/debug/moonwatch signatures types --out signatures/types/moonwatch.d.lua

# The configuration is not overwritten when it exists (it is the administrator's).
install: $(INSTALL_BIN)
	install -D -m 0755 $(INSTALL_BIN) $(DESTDIR)$(BINDIR)/moonwatch
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/moonwatch/signatures.d
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/moonwatch/moonwatch.yaml ]; then \
	  echo "make: keeping $(DESTDIR)$(SYSCONFDIR)/moonwatch/moonwatch.yaml"; \
	else \
	  install -m 0644 packaging/moonwatch.yaml $(DESTDIR)$(SYSCONFDIR)/moonwatch/moonwatch.yaml; \
	fi
	install -d -m 0755 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(DOCDIR)
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g' \
	  packaging/moonwatch.service > $(DESTDIR)$(UNITDIR)/moonwatch.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/moonwatch.service
	install -m 0644 docs/configuration.md $(DESTDIR)$(DOCDIR)/configuration.md

.build/release/moonwatch: deps
	$(SWIFT) build -c release

clean:
	rm -rf .build
