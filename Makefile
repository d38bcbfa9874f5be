# Switchyard: `make serve` and `make test` work on a fresh Debian 12 machine.
# Every target installs what is missing first (scripts/bootstrap is fast when nothing is).

SHELL := /bin/bash
JOBS ?= $(shell nproc)
BIN := build/release/bin/switchyard
# The embedded defaults serve this model; `make serve` makes it once (a few MB, seconds).
MODEL ?= $(or $(SWITCHYARD_MODEL),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/switchyard/models/tiny-chat.gguf)

.PHONY: all bootstrap build build-asan build-fuzz serve test test-unit test-asan test-fuzz test-compat test-ui fuzz bench bench-engine clean format

all: build

bootstrap:
	@scripts/bootstrap

build: bootstrap
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)

build-asan: bootstrap
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan -j $(JOBS)

# The libFuzzer targets (clang 16, ASan+UBSan; only what they link is built).
build-fuzz: bootstrap
	@cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz -j $(JOBS)

# Without CONFIG: the embedded defaults (local tiny model, SQLite, 127.0.0.1:8080).
# With CONFIG=FILE: that config, e.g. `make serve CONFIG=examples/switchyard.yaml`.
serve: build
ifeq ($(CONFIG),)
	@test -f "$(MODEL)" || $(BIN) models make-tiny --out "$(MODEL)"
	SWITCHYARD_MODEL="$(MODEL)" $(BIN) serve
else
	$(BIN) serve --config $(CONFIG)
endif

# Unit + integration tests (ctest), the same under ASan+UBSan, the fuzz targets over their
# seeds and a fixed number of mutations, the SDK compatibility tests, then the dashboard in
# Chromium.
test: test-unit test-asan test-fuzz test-compat test-ui
	@echo "make test: all tiers passed"

test-unit: build
	@ctest --preset release -j $(JOBS)

test-asan: build-asan
	@ctest --preset asan -j $(JOBS)

test-fuzz: build-fuzz
	@ctest --preset fuzz -j $(JOBS)

# A fuzzing campaign: FUZZ_SECONDS per target (default 300), FUZZ_TARGETS to pick some.
fuzz: bootstrap
	@tests/fuzz/run.sh $(or $(FUZZ_SECONDS),300) $(FUZZ_TARGETS)

test-compat: build
	@SWITCHYARD_BIN=$(CURDIR)/$(BIN) tests/compat/run.sh

test-ui: build
	@SWITCHYARD_BIN=$(CURDIR)/$(BIN) tests/ui/run.sh

bench: build
	@SWITCHYARD_BIN=$(CURDIR)/$(BIN) bench/gateway_overhead/run.sh
	@SWITCHYARD_BIN=$(CURDIR)/$(BIN) bench/engine_throughput/run.sh

# The engine against llama-server alone (builds llama-server once, ~6 min on 2 cores).
bench-engine: build
	@SWITCHYARD_BIN=$(CURDIR)/$(BIN) bench/engine_throughput/run.sh

format:
	@git ls-files '*.h' '*.cc' | xargs clang-format -i

clean:
	rm -rf build
