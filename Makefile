# relay: build, test, install. Plain make, -MMD dependencies (as Redis does).
PREFIX  ?= /usr/local
DESTDIR ?=
SYSCONFDIR ?= /etc
BINDIR  = $(PREFIX)/bin
SHAREDIR = $(PREFIX)/share/relay

CC      ?= cc
WARN    = -Wall -Wextra -Wformat=2 -Wshadow -Werror
CSTD    = -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE
OPT     ?= -O2 -g
CFLAGS  ?=
CPPFLAGS += -Irelay -I/usr/include/libxml2 -DRELAY_SHAREDIR='"$(SHAREDIR)"' 
# pkg-config --libs libetpan adds a no-PIE link spec: name the libraries ourselves.
LIBS    = -letpan -lesmtp -lcurl -lsqlite3 -lgnutls -linih -lssl -lcrypto -ljson-c -lxml2

SRC     = $(filter-out relay/main.c,$(wildcard relay/*.c))
UNIT    = $(wildcard tests/unit/test_*.c)

BUILD   = build/dev
ASAN    = build/asan
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

# The executable is build/relay (and build/relay-asan for the sanitizer build).
all: build/relay

# --- normal build -----------------------------------------------------------
$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) $(OPT) $(CFLAGS) $(CPPFLAGS) -MMD -MP -c $< -o $@

build/relay: $(SRC:%.c=$(BUILD)/%.o) $(BUILD)/relay/main.o
	$(CC) $(OPT) $(CFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(SRC:%.c=$(BUILD)/%.o)
	$(CC) $(OPT) $(CFLAGS) -o $@ $^ $(LIBS)

# --- sanitizer build (ASan + UBSan) ----------------------------------------
$(ASAN)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) -O1 -g $(SANFLAGS) $(CPPFLAGS) -MMD -MP -c $< -o $@

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

demo: deps all
	tests/demo

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SHAREDIR)/templates $(DESTDIR)$(SYSCONFDIR)/relay
	install -m 0755 build/relay $(DESTDIR)$(BINDIR)/relay
	cp -R templates/. $(DESTDIR)$(SHAREDIR)/templates/
	install -m 0644 config/relay.conf.example $(DESTDIR)$(SHAREDIR)/relay.conf.example
	install -m 0644 config/urgent.txt config/bank-holidays-england-and-wales.txt $(DESTDIR)$(SHAREDIR)/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/relay
	rm -rf $(DESTDIR)$(SHAREDIR)

clean:
	rm -rf build tests/tmp

.PHONY: all check unit faults fuzz demo deps install uninstall clean unit-bins asan-bins fuzz-bins
.SECONDARY:

-include $(shell find build -name '*.d' 2>/dev/null)
