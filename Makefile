# moonwatch — everything a fresh machine needs goes through these targets.
#   make run     install missing packages, build, run live detection with the bundled signatures
#   make test    install missing packages, build, run every test
#   make fuzz    the capture-reader and wire-decoder fuzzers with a long budget (FUZZ_ITERATIONS, FUZZ_SEED)
#   make bench   release build + benchmarks/ (numbers, never in tests)
#   make docs    regenerate docs/events/ from the catalogue

SWIFT      ?= $(shell command -v swift 2>/dev/null || echo /opt/swift/usr/bin/swift)
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
BUILD_DEPS := libbpf-dev liblua5.4-dev libelf-dev zlib1g-dev pkg-config
BENCH_DEPS := bpftrace
RUN_ARGS   ?=
# `make test` runs the fuzzers for 1500 capture documents and 15000 wire records; `make fuzz` for this many.
FUZZ_ITERATIONS ?= 100000
FUZZ_SEED       ?= 7239109567357

.PHONY: all deps bench-deps build release run test fuzz bench docs clean

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

clean:
	rm -rf .build
