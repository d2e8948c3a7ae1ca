# relay: build, test, install. Plain make, -MMD dependencies (as Redis does).
PREFIX  ?= /usr/local
DESTDIR ?=
SYSCONFDIR ?= /etc
BINDIR  = $(PREFIX)/bin
SHAREDIR = $(PREFIX)/share/relay
MANDIR  = $(PREFIX)/share/man
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system

CC      ?= cc
WARN    = -Wall -Wextra -Wformat=2 -Wshadow -Werror
CSTD    = -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE
OPT     ?= -O2 -g
CFLAGS  ?=
CPPFLAGS += -Irelay -I/usr/include/libxml2 -DRELAY_SHAREDIR='"$(SHAREDIR)"' 
# pkg-config --libs libetpan adds a no-PIE link spec: name the libraries ourselves.
LIBS    = -letpan -lesmtp -lsqlite3 -lgnutls -linih -lssl -lcrypto -ljson-c -lxml2 -lidn2
# libcurl is not linked: http.c loads it (dlopen) when an SMS gateway is
# configured, by the name that -lcurl would have recorded (its SONAME).
LIBCURL := $(shell objdump -p $$($(CC) -print-file-name=libcurl.so) 2>/dev/null | sed -n 's/^ *SONAME *//p')
LIBCURL := $(or $(LIBCURL),libcurl-gnutls.so.4)

SRC     = $(filter-out relay/main.c,$(wildcard relay/*.c))
UNIT    = $(wildcard tests/unit/test_*.c)

BUILD   = build/dev
TESTB   = build/test
ASAN    = build/asan
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
# Test hooks (RELAY_TEST_NOW pins the clock) are compiled only with
# -DRELAY_TEST_HOOKS: into build/relay-test and build/relay-asan, which the
# tests run, never into build/relay, which make install installs. Only the
# .c files that name RELAY_TEST_HOOKS are compiled twice (so a hook lives in
# a .c file, never in a header).
HOOKED  = $(shell grep -l RELAY_TEST_HOOKS relay/*.c)

# The executable is build/relay; build/relay-test is the same with the test
# hooks (and build/relay-asan the sanitizer build, with them too).
all: build/relay build/relay-test

# --- normal build -----------------------------------------------------------
$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) $(OPT) $(CFLAGS) $(CPPFLAGS) -MMD -MP -c $< -o $@

build/relay: $(SRC:%.c=$(BUILD)/%.o) $(BUILD)/relay/main.o
	$(CC) $(OPT) $(CFLAGS) -o $@ $^ $(LIBS)

# --- test build: the normal objects, with the hooked files compiled again ---
$(TESTB)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) $(OPT) $(CFLAGS) $(CPPFLAGS) -DRELAY_TEST_HOOKS -MMD -MP -c $< -o $@

build/relay-test: $(filter-out $(HOOKED:%.c=$(BUILD)/%.o),$(SRC:%.c=$(BUILD)/%.o) $(BUILD)/relay/main.o) \
		$(HOOKED:%.c=$(TESTB)/%.o)
	$(CC) $(OPT) $(CFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(SRC:%.c=$(BUILD)/%.o)
	$(CC) $(OPT) $(CFLAGS) -o $@ $^ $(LIBS)

# config.c compiles SHAREDIR in (the default templates and data files): a
# change of PREFIX rebuilds it, so that `make install PREFIX=/usr` after a
# plain `make` installs a program that looks in /usr/share/relay.
$(BUILD)/relay/config.o $(TESTB)/relay/config.o $(ASAN)/relay/config.o: build/sharedir
$(BUILD)/relay/http.o $(TESTB)/relay/http.o $(ASAN)/relay/http.o build/fuzz/relay/http.o: CPPFLAGS += -DRELAY_LIBCURL='"$(LIBCURL)"'
build/sharedir: FORCE
	@mkdir -p build; echo '$(SHAREDIR)' | cmp -s - $@ || echo '$(SHAREDIR)' > $@

# --- sanitizer build (ASan + UBSan) ----------------------------------------
$(ASAN)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) -O1 -g $(SANFLAGS) $(CPPFLAGS) -DRELAY_TEST_HOOKS -MMD -MP -c $< -o $@

build/relay-asan: $(SRC:%.c=$(ASAN)/%.o) $(ASAN)/relay/main.o
	$(CC) $(SANFLAGS) -o $@ $^ $(LIBS)

$(ASAN)/tests/unit/%: $(ASAN)/tests/unit/%.o $(SRC:%.c=$(ASAN)/%.o)
	$(CC) $(SANFLAGS) -o $@ $^ $(LIBS)

unit-bins: $(UNIT:tests/unit/%.c=$(BUILD)/tests/unit/%)
asan-bins: build/relay-asan $(UNIT:tests/unit/%.c=$(ASAN)/tests/unit/%)

# --- fuzzing (clang's libFuzzer with ASan + UBSan) ---------------------------
# One harness per reader of hostile input: tests/fuzz/fuzz_<target>.c.
FUZZCC  ?= clang
FUZZ    = build/fuzz
FUZZ_TARGETS = $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 300
FUZZFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

$(FUZZ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZCC) $(CSTD) $(WARN) -O1 -g -fsanitize=fuzzer-no-link $(FUZZFLAGS) $(CPPFLAGS) -MMD -MP -c $< -o $@

$(FUZZ)/fuzz_%: $(FUZZ)/tests/fuzz/fuzz_%.o $(SRC:%.c=$(FUZZ)/%.o)
	$(FUZZCC) -fsanitize=fuzzer $(FUZZFLAGS) -o $@ $^ $(LIBS)

fuzz-bins: $(FUZZ_TARGETS:%=$(FUZZ)/fuzz_%)

# --- tests ------------------------------------------------------------------
# `make check` installs what is missing (Debian packages), builds both
# flavours and runs every test; the last line is "N passed, N failed".
deps:
	@tests/deps

check: deps
	$(MAKE) all unit-bins asan-bins fuzz-bins
	tests/run

# The fault-injection suite alone (also part of `make check`).
faults: deps all
	tests/run --faults

# Unit tests only, no servers: quick while editing.
unit: all unit-bins asan-bins
	tests/run --unit

# Every fuzzer for FUZZ_SECONDS (default 300) each, one after another; prints
# each one's executions. (make check runs them for 10 seconds each.)
fuzz: deps fuzz-bins
	tests/fuzz/run $(FUZZ_SECONDS)

# --- style -----------------------------------------------------------------
# One style, kept by clang-format (.clang-format): `make format` rewrites the
# C files in place; `make format-check` names those that differ and fails
# (make check runs it too). tests/style/normalise writes `sizeof x` and `!p`.
CLANG_FORMAT ?= clang-format
FORMAT_FILES = $(wildcard relay/*.[ch] tests/unit/*.[ch] tests/fuzz/*.[ch])

format:
	$(CLANG_FORMAT) --style=file -i $(FORMAT_FILES)

format-check:
	@CLANG_FORMAT=$(CLANG_FORMAT) tests/style/format-check

# AT=YYYY-MM-DDTHH:MM pins the relay's clock to that UK time (office hours
# and out of hours answer differently): the demo then runs build/relay-test,
# the build that honours the pin; without AT it runs build/relay.
demo: deps
	$(MAKE) -j$$(nproc) all
	tests/demo $(if $(AT),--at $(AT))

# The hostile-mix soak at scale: SOAK_N messages (default 5000) with the normal
# build while one daemon runs; SOAK_SEED=S reruns one mix. `make check` runs
# 500 of them with the ASan build (tests/faults/test_soak.py).
SOAK_N ?= 5000
soak: deps all
	SOAK_N=$(SOAK_N) RELAY_BIN=build/relay-test python3 tests/faults/test_soak.py

# Benchmarks (not part of `make check`): drain N messages beside mbsync, RSS
# over the run, IDLE latency; bench-scale drains 1k, 10k and 100k.
N ?= 10000
bench: deps all
	python3 bench/bench.py --n $(N)

bench-scale: deps all
	python3 bench/bench.py --scale 1000,10000,100000 --no-latency

# The example configuration, the unit and the man pages name the default
# paths (PREFIX /usr/local); they are installed with the paths of this install.
SUBST = sed -e 's|/usr/local/share/relay|$(SHAREDIR)|g' -e 's|/usr/local/bin/relay|$(BINDIR)/relay|g' \
	-e 's|/usr/local/lib/systemd/system|$(SYSTEMDUNITDIR)|g' -e 's|/etc/relay|$(SYSCONFDIR)/relay|g'
TEMPLATES = $(wildcard templates/email/*.txt templates/sms/*.txt)
DATA    = config/urgent.txt config/bank-holidays-england-and-wales.txt

# The production build, without the test hooks.
install: build/relay
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SHAREDIR)/templates/email $(DESTDIR)$(SHAREDIR)/templates/sms \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSCONFDIR)/relay
	install -m 0755 build/relay $(DESTDIR)$(BINDIR)/relay
	for t in $(TEMPLATES); do install -m 0644 $$t $(DESTDIR)$(SHAREDIR)/$$t || exit 1; done
	install -m 0644 $(DATA) $(DESTDIR)$(SHAREDIR)/
	$(SUBST) config/relay.conf.example > $(DESTDIR)$(SHAREDIR)/relay.conf.example
	$(SUBST) man/relay.8 > $(DESTDIR)$(MANDIR)/man8/relay.8
	$(SUBST) man/relay.conf.5 > $(DESTDIR)$(MANDIR)/man5/relay.conf.5
	$(SUBST) config/relay.service > $(DESTDIR)$(SYSTEMDUNITDIR)/relay.service
	chmod 0644 $(DESTDIR)$(SHAREDIR)/relay.conf.example $(DESTDIR)$(MANDIR)/man8/relay.8 \
		$(DESTDIR)$(MANDIR)/man5/relay.conf.5 $(DESTDIR)$(SYSTEMDUNITDIR)/relay.service

# Removes what install added, and nothing else: the configuration in
# $(SYSCONFDIR)/relay and the database stay (the directory goes only when empty).
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/relay $(DESTDIR)$(MANDIR)/man8/relay.8 $(DESTDIR)$(MANDIR)/man5/relay.conf.5 \
		$(DESTDIR)$(SYSTEMDUNITDIR)/relay.service
	rm -f $(TEMPLATES:%=$(DESTDIR)$(SHAREDIR)/%) $(DATA:config/%=$(DESTDIR)$(SHAREDIR)/%) \
		$(DESTDIR)$(SHAREDIR)/relay.conf.example
	-rmdir $(DESTDIR)$(SHAREDIR)/templates/email $(DESTDIR)$(SHAREDIR)/templates/sms \
		$(DESTDIR)$(SHAREDIR)/templates $(DESTDIR)$(SHAREDIR) 2>/dev/null
	-rmdir $(DESTDIR)$(SYSCONFDIR)/relay 2>/dev/null

clean:
	rm -rf build tests/tmp

.PHONY: all check unit faults fuzz format format-check demo soak bench bench-scale deps install uninstall clean unit-bins asan-bins fuzz-bins FORCE
.SECONDARY:

-include $(shell find build -name '*.d' 2>/dev/null)
