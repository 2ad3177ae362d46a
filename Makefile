# api - case records toolkit.  See README.md.
#
# make            build libapi and every program under $(B) (default build/)
# make check      run every test; ends with "N passed, M failed"
# make asan       the whole suite under AddressSanitizer + UBSan (build-asan/)
# make valgrind   the suite under valgrind memcheck (slow, not in CI;
#                 VG_TESTS="tests/a.t ..." for some; see scripts/valgrind)
# make stress     tests/crash.t with CRASH_N=3000 writes killed at random
#                 (not in CI; CRASH_SEED=N replays the choices of a run)
# make bench      benchmarks (programs, not tests)
# make fuzz       each libFuzzer target for FUZZ_TIME seconds (clang; build-fuzz/)
# make install    PREFIX (/usr/local), DESTDIR honoured
# make lint       mandoc -Tlint on the man pages

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
LIBEXECDIR ?= $(PREFIX)/libexec/api
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
DESTDIR ?=

CC ?= cc
ASAN_CC ?= $(CC)
CFLAGS ?= -O2 -g
WERROR ?=
PKGS = libgit2 libcmark libsodium
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS := $(shell pkg-config --libs $(PKGS))
WARN = -std=c11 -Wall -Wextra -Wpedantic -Wshadow $(WERROR)
DEFS = -D_POSIX_C_SOURCE=200809L -D_XOPEN_SOURCE=700 -D_DEFAULT_SOURCE \
	-DAPI_LIBEXECDIR='"$(LIBEXECDIR)"' -DAPI_MANDIR='"$(MANDIR)"'
ALL_CFLAGS = $(WARN) $(DEFS) -Ilib $(PKG_CFLAGS) $(CFLAGS)

B ?= build
SOVER = 0
LIB_SRC := $(sort $(wildcard lib/*.c))
CMD_SRC := $(sort $(wildcard cmd/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/*.c))
TOOL_SRC := $(sort $(wildcard tests/tools/*.c))
LIB_OBJ := $(LIB_SRC:lib/%.c=$(B)/obj/lib/%.o)
PROGS := $(CMD_SRC:cmd/%.c=$(B)/bin/%)
UNITS := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
TOOLS := $(TOOL_SRC:tests/tools/%.c=$(B)/tests/%)
FUZZ_SRC := $(filter-out tests/fuzz/replay.c,$(sort $(wildcard tests/fuzz/*.c)))
FUZZ_NAMES := $(FUZZ_SRC:tests/fuzz/%.c=%)
REPLAYS := $(FUZZ_NAMES:%=$(B)/fuzz/replay-%)
MAN1 := $(sort $(wildcard man/*.1))
MAN5 := $(sort $(wildcard man/*.5))
MAN7 := $(sort $(wildcard man/*.7))
SCRIPTS := $(sort $(wildcard scripts/api-*))
LIBAPI = $(B)/lib/libapi.so.$(SOVER)
# Programs find libapi beside them in the build tree (bin/../lib) and
# after install (bin/../lib, libexec/api/../../lib).
RPATH = -Wl,-rpath,'$$ORIGIN/../lib:$$ORIGIN/../../lib'

all: $(LIBAPI) $(PROGS)

$(B)/obj/lib/%.o: lib/%.c lib/*.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -fPIC -c -o $@ $<

$(LIBAPI): $(LIB_OBJ)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -shared -Wl,-soname,libapi.so.$(SOVER) -o $@ $(LIB_OBJ) $(PKG_LIBS)
	ln -sf libapi.so.$(SOVER) $(B)/lib/libapi.so

$(B)/bin/%: cmd/%.c cmd/*.h lib/*.h $(LIBAPI)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $(RPATH) -o $@ $< -L$(B)/lib -lapi $(PKG_LIBS)

# Unit tests link the objects directly, so they may test internals too.
$(B)/tests/%: tests/unit/%.c tests/unit/*.h lib/*.h cmd/*.h $(LIB_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(LIB_OBJ) $(PKG_LIBS) -lz

# Tools that the shell tests and benchmarks drive; not installed.
$(B)/tests/%: tests/tools/%.c lib/*.h $(LIBAPI)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -Wl,-rpath,'$$ORIGIN/../lib' -o $@ $< -L$(B)/lib -lapi $(PKG_LIBS)

# Each fuzz target with a plain main() that replays its corpus (check).
$(B)/fuzz/replay-%: tests/fuzz/%.c tests/fuzz/replay.c tests/fuzz/fuzz.h lib/*.h $(LIB_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests/fuzz $(LDFLAGS) -o $@ tests/fuzz/replay.c $< $(LIB_OBJ) $(PKG_LIBS)

check: all $(UNITS) $(TOOLS) $(REPLAYS)
	@B=$(B) sh scripts/run-tests $(UNITS) $(sort $(wildcard tests/*.t))

asan:
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0$${LSAN_OPTIONS:+:$$LSAN_OPTIONS} \
	ASAN_OPTIONS=fast_unwind_on_malloc=0$${ASAN_OPTIONS:+:$$ASAN_OPTIONS} \
	$(MAKE) B=build-asan CC=$(ASAN_CC) \
		CFLAGS='-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all' \
		LDFLAGS='-fsanitize=address,undefined' check

valgrind: all $(UNITS) $(TOOLS) $(REPLAYS)
	@B=$(B) sh scripts/valgrind $(VG_TESTS)

stress: all
	@B=$(B) CC='$(CC)' CRASH_N=$${CRASH_N:-3000} CRASH_K=$${CRASH_K:-250} \
		API_TOP=$(CURDIR) sh tests/crash.t

bench: all $(TOOLS)
	@B=$(B) sh scripts/bench

# libFuzzer: the library built in, with ASan and UBSan, into $(FZ).
FUZZ_CC ?= clang
FUZZ_TIME ?= 60
FZ = build-fuzz
FUZZ_CFLAGS = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all
FUZZ_OBJ := $(LIB_SRC:lib/%.c=$(FZ)/obj/%.o)
# clang warns of what gcc does not: no -Werror here, CI does not fuzz
FUZZ_WARN = $(filter-out -Werror,$(WARN))

$(FZ)/obj/%.o: lib/%.c lib/*.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_WARN) $(DEFS) -Ilib $(PKG_CFLAGS) $(FUZZ_CFLAGS) \
		-fsanitize=fuzzer-no-link -c -o $@ $<

$(FZ)/fuzz-%: tests/fuzz/%.c tests/fuzz/fuzz.h lib/*.h $(FUZZ_OBJ)
	$(FUZZ_CC) $(FUZZ_WARN) $(DEFS) -Ilib -Itests/fuzz $(PKG_CFLAGS) $(FUZZ_CFLAGS) \
		-fsanitize=fuzzer -o $@ $< $(FUZZ_OBJ) $(PKG_LIBS)

fuzz: $(FUZZ_NAMES:%=$(FZ)/fuzz-%)
	@FZ=$(FZ) FUZZ_TIME=$(FUZZ_TIME) sh tests/fuzz/run $(FUZZ_NAMES)

lint:
	@if command -v mandoc >/dev/null; then \
		mandoc -Tlint -Wwarning $(MAN1) $(MAN5) $(MAN7) && echo "man pages: lint clean"; \
	else echo "mandoc not installed: man pages not linted"; fi

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(LIBEXECDIR) \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7 \
		$(DESTDIR)$(BASHCOMPDIR)
	cp $(LIBAPI) $(DESTDIR)$(LIBDIR)/
	ln -sf libapi.so.$(SOVER) $(DESTDIR)$(LIBDIR)/libapi.so
	cp $(B)/bin/api $(DESTDIR)$(BINDIR)/api
	for p in $(filter-out $(B)/bin/api,$(PROGS)) $(SCRIPTS); do \
		cp $$p $(DESTDIR)$(LIBEXECDIR)/; done
	cp scripts/pre-receive $(DESTDIR)$(LIBEXECDIR)/pre-receive
	for m in $(MAN1); do cp $$m $(DESTDIR)$(MANDIR)/man1/; done
	for m in $(MAN5); do cp $$m $(DESTDIR)$(MANDIR)/man5/; done
	for m in $(MAN7); do cp $$m $(DESTDIR)$(MANDIR)/man7/; done
	cp scripts/api.bash-completion $(DESTDIR)$(BASHCOMPDIR)/api

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/api $(DESTDIR)$(LIBDIR)/libapi.so \
		$(DESTDIR)$(LIBDIR)/libapi.so.$(SOVER)
	for p in $(filter-out $(B)/bin/api,$(PROGS)) $(SCRIPTS); do \
		rm -f $(DESTDIR)$(LIBEXECDIR)/$$(basename $$p); done
	rm -f $(DESTDIR)$(LIBEXECDIR)/pre-receive
	-rmdir $(DESTDIR)$(LIBEXECDIR)
	for m in $(MAN1); do rm -f $(DESTDIR)$(MANDIR)/man1/$$(basename $$m); done
	for m in $(MAN5); do rm -f $(DESTDIR)$(MANDIR)/man5/$$(basename $$m); done
	for m in $(MAN7); do rm -f $(DESTDIR)$(MANDIR)/man7/$$(basename $$m); done
	rm -f $(DESTDIR)$(BASHCOMPDIR)/api

clean:
	rm -rf build build-asan build-fuzz

.PHONY: all check asan valgrind stress bench fuzz lint install uninstall clean
.SECONDARY:
