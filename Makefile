# shopdb-host. On a fresh machine, two commands do all the set-up:
#   make run    build host and plugins, apply everything to the default SQLite file, print the status
#   make test   build everything (plugins and test fixtures included) and run every test
CARGO       ?= cargo
PLUGINS_DIR ?= shopdb-plugins
DATABASE    ?= shopdb.sqlite
BUILD_DIR   := target/debug
HOST        := $(BUILD_DIR)/shopdb-host
BUNDLED     := computers equipment network notifications printers usb
DLL         := $(if $(filter Darwin,$(shell uname -s)),dylib,so)

.PHONY: all build plugins run test lint bench

all: build

# One build of the whole workspace (host, bundled plugins, test fixtures),
# then the ABI fixtures, each its own small workspace, into the same target
# directory (tests/abi/README.md). `cargo test` alone does not produce
# cdylib files (cargo issue 8311).
ABI_FIXTURES := tests/abi/v1 tests/abi/layout-changed

build:
	$(CARGO) build --workspace
	@for w in $(ABI_FIXTURES); do \
	  $(CARGO) build --manifest-path $$w/Cargo.toml --target-dir target || exit 1; \
	done

# Copy the bundled plugins into the plugins directory. Each file is copied
# beside its target and renamed over it: overwriting a library in place
# would crash a host that has it loaded.
# The host refuses a plugins directory or file that others can write, so
# the modes are set explicitly rather than left to the umask.
plugins: build
	@mkdir -p $(PLUGINS_DIR) && chmod 755 $(PLUGINS_DIR)
	@for p in $(BUNDLED); do \
	  src=$(BUILD_DIR)/libshopdb_plugin_$$p.$(DLL); \
	  install -m 644 $$src $(PLUGINS_DIR)/.libshopdb_plugin_$$p.$(DLL).tmp && \
	  mv -f $(PLUGINS_DIR)/.libshopdb_plugin_$$p.$(DLL).tmp $(PLUGINS_DIR)/libshopdb_plugin_$$p.$(DLL) || exit 1; \
	done
	@echo "plugins installed in $(PLUGINS_DIR)/"

run: plugins
	$(HOST) upgrade-all --plugins-dir $(PLUGINS_DIR) --database $(DATABASE)
	$(HOST) status --plugins-dir $(PLUGINS_DIR) --database $(DATABASE)

test: build
	$(CARGO) test --workspace
	@for w in $(ABI_FIXTURES); do \
	  $(CARGO) test --manifest-path $$w/Cargo.toml --target-dir target || exit 1; \
	done

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# Benchmarks (docs/PERFORMANCE.md): a release build, then every figure,
# measured side by side in one run. `make bench BENCH_ARGS=--quick` for fewer runs.
bench:
	$(CARGO) build --release --workspace
	target/release/shopdb-bench $(BENCH_ARGS)
