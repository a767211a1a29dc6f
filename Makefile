# threadleak — see README.md.  `make demo` and `make check` install missing
# build dependencies first (scripts/deps.sh).

PREFIX ?= /usr/local
DESTDIR ?=
CC ?= cc
PKGS := libdw libelf libdebuginfod libunwind-ptrace libunwind-generic jansson ncursesw
CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Wno-missing-field-initializers
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# C++ names are demangled with libstdc++'s __cxa_demangle, as elfutils does:
# the runtime library alone (always installed on Debian), no C++ headers;
# Rust's with libiberty's rust_demangle (libiberty-dev, a static archive).
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -l:libstdc++.so.6 -liberty
ALL_CFLAGS = $(CFLAGS) $(WARN) -D_GNU_SOURCE -pthread $(PKG_CFLAGS)
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

SRC := $(wildcard src/*.c src/go/*.c)
CMD := $(wildcard cmd/*.c)
HDR := $(wildcard src/*.h src/go/*.h cmd/*.h)
# The default ignore list, kept as data (share/threadleak/runtimes.supp),
# is built into the binary as a C string (src/ignore.h).
GEN := build/gen/runtimes-supp.o
OBJ := $(SRC:src/%.c=build/src/%.o) $(CMD:cmd/%.c=build/cmd/%.o) $(GEN)
LIBOBJ := $(SRC:src/%.c=build/src/%.o) $(GEN)
ASAN_OBJ := $(OBJ:build/%=build/asan/%)
ASAN_LIBOBJ := $(LIBOBJ:build/%=build/asan/%)

TESTDATA := $(patsubst %.c,%,$(wildcard testdata/*.c)) testdata/waits-O0 \
	testdata/waits-fp testdata/libtlplugin.so testdata/cxxleak
UNIT := $(patsubst %.c,%,$(wildcard tests/unit/test_*.c))

.PHONY: all deps deps-test deps-bench check demo install clean bench asan fuzz

all: threadleak

threadleak: $(OBJ)
	$(CC) $(ALL_CFLAGS) -o $@ $(OBJ) $(PKG_LIBS)

build/src/%.o: src/%.c $(HDR)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

build/cmd/%.o: cmd/%.c $(HDR)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

build/gen/runtimes-supp.c: share/threadleak/runtimes.supp
	@mkdir -p $(dir $@)
	awk 'BEGIN { print "/* generated from $< by the Makefile */"; print "const char ignore_defaults[] =" } \
	     { gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); print "\t\"" $$0 "\\n\"" } \
	     END { print "\t\"\";" }' $< >$@.tmp && mv $@.tmp $@

build/gen/%.o: build/gen/%.c
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

build/asan/gen/%.o: build/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN) -c -o $@ $<

# The AddressSanitizer/UBSan build that `make check` also runs the tests with.
asan: build/asan/threadleak
build/asan/threadleak: $(ASAN_OBJ)
	$(CC) $(ALL_CFLAGS) $(SAN) -o $@ $(ASAN_OBJ) $(PKG_LIBS)

build/asan/%.o: %.c $(HDR)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN) -c -o $@ $<

testdata/%: testdata/%.c testdata/testdata.h
	$(CC) -g -O2 -Wall -Wextra -pthread -o $@ $<

# Function and file names with every control byte (0x01-0x1f, 0x7f), as
# a hostile binary's debug info may have: the 32-byte placeholder patched
# in the symbol table and DWARF of the built program.
testdata/escapes: testdata/escapes.c testdata/testdata.h
	$(CC) -g -O2 -Wall -Wextra -pthread -o $@.tmp $<
	perl -0777 -pi -e 's/CTRLCTRLCTRLCTRLCTRLCTRLCTRLCTRL/join("", map { chr } 1 .. 31, 127)/ge' $@.tmp
	mv $@.tmp $@

testdata/cmocka_leak: testdata/cmocka_leak.c testdata/testdata.h
	$(CC) -g -O2 -Wall -Wextra -pthread -o $@ $< $(shell pkg-config --cflags --libs cmocka)

testdata/dlopener: testdata/dlopener.c testdata/testdata.h
	$(CC) -g -O2 -Wall -Wextra -pthread -o $@ $< -ldl

testdata/libtlplugin.so: testdata/plugin/tlplugin.c testdata/testdata.h
	$(CC) -g -O2 -Wall -Wextra -pthread -shared -fPIC -o $@ $<

testdata/cxxleak: testdata/cxxleak.cc testdata/testdata.h
	g++ -g -O2 -Wall -Wextra -pthread -o $@ $<

testdata/waits-O0: testdata/waits.c testdata/testdata.h
	$(CC) -g -O0 -Wall -Wextra -pthread -o $@ $<

# Frame pointers, as Rust's standard library and whole distributions build.
testdata/waits-fp: testdata/waits.c testdata/testdata.h
	$(CC) -g -O2 -fno-omit-frame-pointer -Wall -Wextra -pthread -o $@ $<

testdata/fpstale: testdata/fpstale.c testdata/testdata.h
	$(CC) -g -O2 -fno-omit-frame-pointer -Wall -Wextra -pthread -o $@ $<

tests/unit/test_%: tests/unit/test_%.c $(ASAN_LIBOBJ) $(HDR)
	$(CC) $(ALL_CFLAGS) $(SAN) -Isrc -o $@ $< $(ASAN_LIBOBJ) $(PKG_LIBS) $(shell pkg-config --cflags --libs cmocka)

deps:
	@scripts/deps.sh build
deps-test:
	@scripts/deps.sh test
deps-bench:
	@scripts/deps.sh bench

check: deps-test
	$(MAKE) all asan $(TESTDATA) $(UNIT)
	THREADLEAK_VARIANTS="./threadleak build/asan/threadleak" tests/run.sh

# libFuzzer on the snapshot reader for FUZZ_SECONDS (20); needs clang and
# its fuzzer runtime (make deps-test installs them).  See tests/fuzz/run.sh.
fuzz:
	tests/fuzz/run.sh

demo: deps
	$(MAKE) all testdata/demo
	@scripts/demo.sh

bench: deps-bench
	$(MAKE) all $(TESTDATA)
	bench/run.sh
	bench/check.sh
	bench/goroutines.sh
	bench/real-servers.sh

install: threadleak
	install -D -m 755 threadleak $(DESTDIR)$(PREFIX)/bin/threadleak
	install -D -m 644 man/threadleak.1 $(DESTDIR)$(PREFIX)/share/man/man1/threadleak.1
	install -D -m 644 share/threadleak/runtimes.supp $(DESTDIR)$(PREFIX)/share/threadleak/runtimes.supp

clean:
	rm -rf build threadleak $(TESTDATA) $(UNIT)
