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

.PHONY: all build plugins run test lint bench torture fuzz

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

# Faults and load at scale (docs/RELIABILITY.md): 500 SIGKILLs at random
# points of upgrade-all and 100 rounds of 4 concurrent hosts, on SQLite and
# on PostgreSQL (a server the tests start). `make test` runs 50 and 20.
torture: build
	SHOPDB_TORTURE_KILLS=$${SHOPDB_TORTURE_KILLS:-500} SHOPDB_TORTURE_ROUNDS=$${SHOPDB_TORTURE_ROUNDS:-100} \
	  $(CARGO) test -p shopdb-tests --test torture -- --nocapture --test-threads=1

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# Benchmarks (docs/PERFORMANCE.md): a release build, then every figure,
# measured side by side in one run. `make bench BENCH_ARGS=--quick` for fewer runs.
bench:
	$(CARGO) build --release --workspace
	target/release/shopdb-bench $(BENCH_ARGS)

# Coverage-guided fuzzing (fuzz/README.md; needs nightly and cargo-fuzz,
# which this does not install). Not part of `make test`: one libFuzzer
# process per target, one target after another, each until FUZZ_RUNS
# executions or FUZZ_SECONDS, whichever comes first; then its execution
# count is printed. A crash stops it, the input under fuzz/artifacts/<target>/.
# The lexer's inputs are kept to 2 KiB: longer text only repeats its work.
# `make fuzz FUZZ_TARGETS=sqltext FUZZ_RUNS=-1 FUZZ_SECONDS=600` fuzzes for a time.
FUZZ_TARGETS ?= manifest sqltext schema_diff pg_url
FUZZ_RUNS    ?= 1000000
FUZZ_SECONDS ?= 1800
FUZZ_FLAGS   ?=
# The lexer also starts from the repository's own SQL, as it is today.
FUZZ_SQL_SEEDS = $(wildcard migrations/*.sql migrations/*/*.sql plugins/*/schema.sql plugins/*/postgres/schema.sql \
                            plugins/*/migrations/*.sql plugins/*/postgres/migrations/*.sql)

fuzz:
	@mkdir -p fuzz/logs
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p fuzz/corpus/$$t; \
	  dict=; if [ -f fuzz/dicts/$$t.dict ]; then dict=-dict=fuzz/dicts/$$t.dict; fi; \
	  repo=; case $$t in sqltext) dict="$$dict -max_len=2048"; repo=fuzz/corpus/sqltext-repo; \
	    mkdir -p $$repo; for f in $(FUZZ_SQL_SEEDS); do cp $$f $$repo/$$(echo $$f | tr / _); done;; esac; \
	  echo "fuzz $$t: up to $(FUZZ_RUNS) runs or $(FUZZ_SECONDS) s"; \
	  $(CARGO) +nightly fuzz run $(FUZZ_FLAGS) $$t fuzz/corpus/$$t fuzz/seeds/$$t $$repo -- \
	    $$dict -runs=$(FUZZ_RUNS) -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 > fuzz/logs/$$t.log 2>&1; \
	  status=$$?; \
	  if [ $$status -ne 0 ]; then \
	    tail -n 40 fuzz/logs/$$t.log; echo "fuzz $$t: FAILED (log: fuzz/logs/$$t.log)"; exit 1; \
	  fi; \
	  runs=$$(sed -n 's/^stat::number_of_executed_units: *//p' fuzz/logs/$$t.log); \
	  secs=$$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' fuzz/logs/$$t.log); \
	  echo "fuzz $$t: $$runs runs in $$secs s, no crash, panic or hang (log: fuzz/logs/$$t.log)"; \
	done
