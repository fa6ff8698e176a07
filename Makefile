# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# synguard: make | make test | make fuzz | make bench | make demo | make deps | make vmlinux | make clean
#           make install | make uninstall   (PREFIX=/usr/local, DESTDIR honoured)
#
# `make` only builds; it never installs anything, and only `make install`
# installs synguard itself (the binary, synguard(8), the systemd unit
# template). `make test`, `make fuzz`, `make demo` and `make bench` run
# `make deps` first (tests/deps.sh: installs what is missing with apt-get,
# mounts bpffs), so they work on a fresh machine. Output is one line per
# step; `make V=1` shows the full commands.
#
# `make SAN=1 ...` builds the userspace objects and the C tests with
# AddressSanitizer and UndefinedBehaviorSanitizer (any report is fatal) into
# build/san, apart from the normal build; `make SAN=1 test` runs tiers 1-2.

OUT        := build
ARCH       ?= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' -e 's/ppc64le/powerpc/' -e 's/s390x/s390/')
CLANG      ?= clang
BPFTOOL    ?= bpftool
CC         ?= gcc
AR         ?= ar
CFLAGS     ?= -O2 -g
CFLAGS     += -Wall -Werror -Iinclude
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
              -Ivmlinux/$(ARCH) -Iinclude -Ibpf
# header dependencies (.d files, read back at the end): next to each object
# in build/obj; the BPF objects' in build/obj too, to keep build/ tidy
DEPFLAGS    = -MMD -MP
BPF_DEPFLAGS = -MMD -MP -MF $(OBJ)/$(@F:.o=.d)
# libmicrohttpd: --metrics' HTTP server (README: Monitoring); libxdp: the
# XDP program shares the interface through libxdp's dispatcher (README:
# Sharing the interface with other XDP programs)
LIBXDP     := $(shell pkg-config --libs libxdp 2>/dev/null || echo -lxdp)
LIBS       := $(LIBXDP) -lbpf -lelf -lz -lmicrohttpd -lpthread

ifeq ($(SAN),1)
OUT        := build/san
SAN_FLAGS  := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# gcc's compile-time bounds warnings misfire on instrumented code (a read
# behind its bounds check, e.g. sg_syn_opts_parse_step); ASan checks every
# access at run time instead
CFLAGS     += $(SAN_FLAGS) -Wno-array-bounds
LDFLAGS    += $(SAN_FLAGS)
endif
OBJ        := $(OUT)/obj
CFLAGS     += -I$(OUT)

ifeq ($(V),1)
Q          :=
msg        :=
else
Q          := @
msg         = @printf '  %-8s %s\n' "$(1)" "$(2)";
MAKEFLAGS  += --no-print-directory
endif

# A failed step must not leave a half-written target that the next make
# takes as current (e.g. an empty skeleton from `bpftool ... > $@`).
.DELETE_ON_ERROR:

APP        := $(OUT)/synguard
BPF_OBJ    := $(OUT)/synguard.bpf.o
SKEL       := $(OUT)/synguard.skel.h

# One object per source file. user/synguard.c holds main(); every other
# user module also goes into an archive, from which a test's link pulls
# exactly the modules it calls.
APP_MAIN   := user/synguard.c
USER_SRCS  := $(wildcard user/*.c)
USER_OBJS  := $(patsubst %.c,$(OBJ)/%.o,$(USER_SRCS))
USER_LIB   := $(OBJ)/libsguser.a
USER_LIB_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(filter-out $(APP_MAIN),$(USER_SRCS)))

# tests/*.c (not *.bpf.c): support code linked into every C test (check.c).
TEST_LIB_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(filter-out %.bpf.c,$(wildcard tests/*.c)))
# Each tests/unit/test_X.c is a program build/test_X: the test object, the
# test support and the user archive (it links only what the test calls).
UNIT_TESTS := $(patsubst tests/unit/%.c,$(OUT)/%,$(wildcard tests/unit/test_*.c))
PROG_TEST  := $(OUT)/test_prog
PROG_OBJS  := $(patsubst %.c,$(OBJ)/%.o,$(wildcard tests/prog/*.c))
BENCH_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(wildcard tests/bench/*.c)) $(OBJ)/tests/prog/harness.o
TOOLS      := $(patsubst tests/tools/%.c,$(OUT)/%,$(wildcard tests/tools/*.c))
TEST_BPF   := $(patsubst tests/%.bpf.c,$(OUT)/%.bpf.o,$(wildcard tests/*.bpf.c))
# The frame fuzzer (BPF_PROG_TEST_RUN) and the libFuzzer target of the
# userspace parsers (clang -fsanitize=fuzzer: objects of their own).
FUZZ_FRAMES := $(OUT)/fuzz_frames
FUZZ_FRAMES_OBJS := $(OBJ)/tests/fuzz/fuzz_frames.o $(OBJ)/tests/prog/harness.o $(OBJ)/tests/prog/decode.o
FUZZ_PARSERS := $(OUT)/fuzz_parsers
FUZZ_CC    := clang
FUZZ_SAN   := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_PARSERS_OBJS := $(OBJ)/fuzz/tests/fuzz/fuzz_parsers.o $(OBJ)/fuzz/user/parse.o \
		     $(OBJ)/fuzz/tests/prog/decode.o
# make fuzz: FUZZ_CASES frames and replayed segments in all (split between the
# three modes), FUZZ_SEED (default: a random one, printed), FUZZ_TIME seconds
# of libFuzzer (docs/fuzzing.md)
FUZZ_CASES ?= 10000000
FUZZ_SEED  ?= random
FUZZ_TIME  ?= 30

ALL_OBJS   := $(USER_OBJS) $(TEST_LIB_OBJS) $(PROG_OBJS) $(BENCH_OBJS) \
              $(patsubst $(OUT)/%,$(OBJ)/tests/unit/%.o,$(UNIT_TESTS)) \
              $(patsubst $(OUT)/%,$(OBJ)/tests/tools/%.o,$(TOOLS)) \
              $(FUZZ_FRAMES_OBJS) $(FUZZ_PARSERS_OBJS)

# `make install`: these three files, nothing else (a test checks it).
PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
UNITDIR    ?= $(PREFIX)/lib/systemd/system
INSTALLED  := $(SBINDIR)/synguard $(MANDIR)/man8/synguard.8 $(UNITDIR)/synguard@.service

.PHONY: all deps test fuzz bench demo diagrams vmlinux clean install uninstall

all: $(APP) $(BPF_OBJ) $(TEST_BPF) $(TOOLS)

# Installs missing build/test packages (apt-get) and mounts bpffs; quiet when
# all present. Only the targets below that run things call it.
deps:
	@bash tests/deps.sh

# deps first, then a build of its own: with -j, nothing may compile before
# the compiler is installed.
test: deps
	@$(MAKE) all $(UNIT_TESTS) $(PROG_TEST) $(FUZZ_FRAMES)
	@SG_OUT=$(OUT) SG_SAN=$(SAN) bash tests/run.sh

# >= 10 M frames and replayed segments through every program in every mode
# (a few minutes), then each libFuzzer target for FUZZ_TIME seconds.
fuzz: deps
	@$(MAKE) all $(FUZZ_FRAMES) $(FUZZ_PARSERS)
	@SG_OUT=$(OUT) FUZZ_CASES=$(FUZZ_CASES) FUZZ_SEED=$(FUZZ_SEED) FUZZ_TIME=$(FUZZ_TIME) \
		bash tests/fuzz/run.sh

# (tests/deps.sh bench: also the kernel source that tests/bench.sh builds
#  the anchor from, see tests/bench/anchor_build.sh)
bench:
	@bash tests/deps.sh bench
	@$(MAKE) all $(OUT)/bench_ns
	@bash tests/bench.sh

demo: deps
	@$(MAKE) all
	@$(APP) demo

# The README's ladder and diagram (docs/ladder-client-closes.{txt,png}),
# made by the ladder test's client-closes scenario, not drawn by hand.
diagrams: deps
	@$(MAKE) all
	@SG_DIAGRAMS_OUT=$(CURDIR)/docs bash tests/run.sh test_ladder_golden

# ---- BPF ---------------------------------------------------------------

# (the headers also explicitly: a build dir made before the .d files existed)
$(BPF_OBJ): bpf/synguard.bpf.c $(wildcard bpf/*.h include/*.h)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(OBJ)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(BPF_DEPFLAGS) -c $< -o $@

$(OUT)/%.bpf.o: tests/%.bpf.c
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(OBJ)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(BPF_DEPFLAGS) -c $< -o $@

$(SKEL): $(BPF_OBJ)
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name synguard_bpf > $@

# ---- userspace ---------------------------------------------------------

# The skeleton is generated before any user or test object is compiled
# (some include it); from then on the .d files say exactly which do.
$(OBJ)/user/%.o: user/%.c | $(SKEL)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Iuser $(DEPFLAGS) -c $< -o $@

$(USER_LIB): $(USER_LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(APP): $(USER_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# ---- tests -------------------------------------------------------------

# Standalone tools (no skeleton, no user modules): the shortest stem wins,
# so this rule, not the next, builds them.
$(OBJ)/tests/tools/%.o: tests/tools/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(OBJ)/tests/%.o: tests/%.c | $(SKEL)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Iuser -Itests -Itests/prog $(DEPFLAGS) -c $< -o $@

$(OUT)/synflood: LDLIBS_TOOL := -lpthread
$(OUT)/flowfill: LDLIBS_TOOL := -lbpf
$(OUT)/xdpgen: LDLIBS_TOOL := $(LIBS)
$(TOOLS): $(OUT)/%: $(OBJ)/tests/tools/%.o
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_TOOL)

$(UNIT_TESTS): $(OUT)/%: $(OBJ)/tests/unit/%.o $(TEST_LIB_OBJS) $(USER_LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# BPF_PROG_TEST_RUN tests: tests/prog/*.c, one program
$(PROG_TEST): $(PROG_OBJS) $(TEST_LIB_OBJS) $(USER_LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# the frame fuzzer: tests/fuzz/fuzz_frames.c (make fuzz, and bounded in make test)
$(FUZZ_FRAMES): $(FUZZ_FRAMES_OBJS) $(TEST_LIB_OBJS) $(USER_LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# libFuzzer: the parsers it links are compiled again, instrumented for it
$(OBJ)/fuzz/%.o: %.c
	$(call msg,CC-FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) -g -O1 $(subst fuzzer,fuzzer-no-link,$(FUZZ_SAN)) -Wall -Werror -Iinclude -Iuser \
		-Itests/prog $(DEPFLAGS) -c $< -o $@

$(FUZZ_PARSERS): $(FUZZ_PARSERS_OBJS)
	$(call msg,LD-FUZZ,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_SAN) -o $@ $^

# ns/packet through BPF_PROG_TEST_RUN (make bench)
$(OUT)/bench_ns: $(BENCH_OBJS) $(TEST_LIB_OBJS) $(USER_LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# ---- install -----------------------------------------------------------

# The unit gets the binary's installed path (ExecStart=@SBINDIR@/synguard).
install: $(APP)
	$(call msg,INSTALL,$(DESTDIR)$(SBINDIR)/synguard)
	$(Q)install -D -m 0755 $(APP) $(DESTDIR)$(SBINDIR)/synguard
	$(call msg,INSTALL,$(DESTDIR)$(MANDIR)/man8/synguard.8)
	$(Q)install -D -m 0644 man/synguard.8 $(DESTDIR)$(MANDIR)/man8/synguard.8
	$(call msg,INSTALL,$(DESTDIR)$(UNITDIR)/synguard@.service)
	$(Q)install -d -m 0755 $(DESTDIR)$(UNITDIR)
	$(Q)sed 's|@SBINDIR@|$(SBINDIR)|g' contrib/systemd/synguard@.service > $(DESTDIR)$(UNITDIR)/synguard@.service.tmp
	$(Q)chmod 0644 $(DESTDIR)$(UNITDIR)/synguard@.service.tmp
	$(Q)mv -f $(DESTDIR)$(UNITDIR)/synguard@.service.tmp $(DESTDIR)$(UNITDIR)/synguard@.service

# (A pinned instance is not removed: `synguard unload IFACE` does that.)
uninstall:
	$(call msg,RM,$(addprefix $(DESTDIR),$(INSTALLED)))
	$(Q)rm -f $(addprefix $(DESTDIR),$(INSTALLED))

# ---- maintenance -------------------------------------------------------

# Regenerate the committed CO-RE header from the running kernel's BTF.
vmlinux:
	$(call msg,GEN,vmlinux/$(ARCH)/vmlinux.h)
	$(Q)mkdir -p vmlinux/$(ARCH)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/$(ARCH)/vmlinux.h

clean:
	$(call msg,CLEAN,$(OUT))
	$(Q)rm -rf $(OUT)

-include $(ALL_OBJS:.o=.d) $(patsubst $(OUT)/%.o,$(OBJ)/%.d,$(BPF_OBJ) $(TEST_BPF))
