# Thin wrapper around CMake. The two commands the README promises:
#   make run    install what is missing, build, serve the demo
#   make test   install what is missing (+ test servers), build, run the
#               whole suite, then again under ASan+UBSan
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
PREFIX ?= /usr/local
CMAKE_FLAGS ?=

.PHONY: all build install run test test-plain test-asan test-valgrind deps test-deps \
	fuzz format \
	format-check bench bench-compare clean

all: build

deps:
	@scripts/deps.sh

test-deps:
	@scripts/deps.sh test

build: deps
	cmake -S . -B build $(CMAKE_FLAGS) >/dev/null
	cmake --build build -j $(JOBS)

# PREFIX/bin/dns01, PREFIX/share/man/man1/dns01.1 and
# PREFIX/lib/systemd/system/dns01-renew.{service,timer}, under $(DESTDIR).
install: build
	DESTDIR="$(DESTDIR)" cmake --install build --prefix "$(PREFIX)"

run: build
	./build/dns01 serve --demo

test: test-deps format-check test-plain test-asan test-valgrind

test-plain:
	cmake -S . -B build $(CMAKE_FLAGS) >/dev/null
	cmake --build build -j $(JOBS)
	cd build && ctest --output-on-failure -j $(JOBS)

test-asan:
	cmake -S . -B build-asan -DD01_SANITIZE="address;undefined" \
		-DCMAKE_BUILD_TYPE=Debug $(CMAKE_FLAGS) >/dev/null
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j $(JOBS)

# The integration suite again with dns01 under valgrind memcheck: any
# definite leak or invalid access fails the test that started it.
test-valgrind:
	cmake -S . -B build-valgrind -DD01_VALGRIND=ON $(CMAKE_FLAGS) >/dev/null
	cmake --build build-valgrind -j $(JOBS)
	cd build-valgrind && ctest --output-on-failure -j $(JOBS) -L integration

# libFuzzer builds (clang) of every tests/fuzz/fuzz_*.c, each run for
# FUZZ_SECONDS; new inputs land in a scratch corpus, not in the tree.
# Undefined behaviour stops the run like a crash does.
FUZZ_SECONDS ?= 30
fuzz: test-deps
	CC=clang cmake -S . -B build-fuzz -DD01_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	cmake --build build-fuzz -j $(JOBS)
	@for f in tests/fuzz/fuzz_*.c; do \
		n=$$(basename $$f .c); s=$${n#fuzz_}; \
		mkdir -p build-fuzz/corpus/$$s; \
		echo "fuzz: $$n for $(FUZZ_SECONDS)s"; \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		build-fuzz/tests/$$n -max_total_time=$(FUZZ_SECONDS) \
			build-fuzz/corpus/$$s tests/fuzz/corpus/$$s || exit 1; \
	done

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	@bad=$$(for f in $$(git ls-files '*.c' '*.h'); do \
		clang-format --dry-run -Werror $$f >/dev/null 2>&1 || echo $$f; done); \
	if [ -n "$$bad" ]; then echo "not clang-formatted: $$bad"; exit 1; fi

# Every benchmark in bench/, end to end, on the binary just built; writes
# bench/results/<date>.md, .json and -latency.png (see bench/README.md).
# Settings pass through: make bench REPEAT=5 DUR=10s PARTS=webhook
bench: build
	@scripts/deps.sh bench
	bench/run

# The webhook benchmark on an older commit and on this tree, alternately,
# side by side: make bench-compare BASE=<rev> [ROUNDS=2]
bench-compare: build
	@scripts/deps.sh bench
	BASE=$(BASE) bench/compare

clean:
	rm -rf build build-asan build-fuzz build-valgrind
