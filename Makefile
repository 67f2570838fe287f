# proxym — the two newcomer commands (see README.md):
#   make run    install what is missing, build, run proxym on examples/ (haproxy on 127.0.0.1:8080)
#   make test   install what is missing, build, run the whole test suite
#   make deb    install what is missing, build dist/proxym_<version>_amd64.deb (packaging/README.md)
#   make bench  build in release mode (static Swift runtime, as shipped), run the benchmarks (~10 min;
#               README.md, "Performance"); BENCH_ARGS="--sizes 1000 --idle-seconds 3" for a quick look
SHELL := /bin/bash
SWIFT ?= swift
# Debian packages the build, the example and the tests need (wrk: the zero-downtime load test;
# libssl-dev: certificate checks; openssl, curl: TLS tests; lego, pebble: ACME end to end).
DEBS := pkg-config libsystemd-dev libcurl4-openssl-dev libssl-dev haproxy procps wrk openssl curl lego pebble prometheus chromium
# Seconds each libFuzzer target runs in `make test` (scripts/fuzz.sh).
FUZZ_SECONDS ?= 20
# ... and the ones `make deb` needs on top.
DEB_TOOLS := debhelper dpkg-dev build-essential lintian

# Where `make bench` builds (a separate directory keeps the debug build of `make test` intact).
BENCH_SCRATCH ?= .build-bench
BENCH_ARGS ?=

.PHONY: run test deps build release deb bench clean

deps:
	@missing=""; for p in $(DEBS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

build: deps
	$(SWIFT) build

run: build
	examples/run.sh .build/debug/proxym

# 1. every test but the long runs; 2. the zero-downtime load run and the fault-injection suite, on
# their own so that nothing competes with the load generator (about 2 minutes); 3. each fuzzer for
# FUZZ_SECONDS (its build from scratch took about 25 s here).
test: build
	$(SWIFT) test
	PROXYM_LOAD_TESTS=1 $(SWIFT) test --skip-build --filter LongRuns
	scripts/fuzz.sh $(FUZZ_SECONDS)

release: deps
	$(SWIFT) build -c release --static-swift-stdlib

# The release binary (static Swift runtime, BIND_NOW from Package.swift, no $ORIGIN RUNPATH), then
# dpkg-buildpackage on a staged copy of packaging/ that installs that binary, then lintian.
deb: deps
	@$(MAKE) --no-print-directory deps DEBS="$(DEB_TOOLS)"
	$(SWIFT) build -c release --static-swift-stdlib --disable-local-rpath
	packaging/build-deb.sh .build/release/proxym

bench: deps
	for product in proxym proxym-fake-marathon proxym-bench; do \
	  $(SWIFT) build -c release --static-swift-stdlib --scratch-path $(BENCH_SCRATCH) --product $$product || exit 1; \
	done
	$(BENCH_SCRATCH)/release/proxym-bench $(BENCH_ARGS)

clean:
	rm -rf .build .build-pkg .build-fuzz .build-bench .run dist
