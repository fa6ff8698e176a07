# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# synguard: make | make test | make bench | make demo | make deps | make vmlinux | make clean
#
# `make` only builds; it never installs anything. `make test`, `make demo` and
# `make bench` run `make deps` first (tests/deps.sh: installs what is missing
# with apt-get, mounts bpffs), so they work on a fresh machine. Output is one
# line per step; `make V=1` shows the full commands.

OUT        := build
OBJ        := $(OUT)/obj
ARCH       ?= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' -e 's/ppc64le/powerpc/' -e 's/s390x/s390/')
CLANG      ?= clang
BPFTOOL    ?= bpftool
CC         ?= gcc
AR         ?= ar
CFLAGS     ?= -O2 -g
CFLAGS     += -Wall -Werror -Iinclude -I$(OUT)
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
              -Ivmlinux/$(ARCH) -Iinclude -Ibpf
# header dependencies (.d files, read back at the end): next to each object
# in build/obj; the BPF objects' in build/obj too, to keep build/ tidy
DEPFLAGS    = -MMD -MP
BPF_DEPFLAGS = -MMD -MP -MF $(OBJ)/$(@F:.o=.d)
LIBS       := -lbpf -lelf -lz

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

ALL_OBJS   := $(USER_OBJS) $(TEST_LIB_OBJS) $(PROG_OBJS) $(BENCH_OBJS) \
              $(patsubst $(OUT)/%,$(OBJ)/tests/unit/%.o,$(UNIT_TESTS)) \
              $(patsubst $(OUT)/%,$(OBJ)/tests/tools/%.o,$(TOOLS))

.PHONY: all deps test bench demo diagrams vmlinux clean

all: $(APP) $(BPF_OBJ) $(TEST_BPF) $(TOOLS)

# Installs missing build/test packages (apt-get) and mounts bpffs; quiet when
# all present. Only the targets below that run things call it.
deps:
	@bash tests/deps.sh

# deps first, then a build of its own: with -j, nothing may compile before
# the compiler is installed.
test: deps
	@$(MAKE) all $(UNIT_TESTS) $(PROG_TEST)
	@bash tests/run.sh

bench: deps
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

# ns/packet through BPF_PROG_TEST_RUN (make bench)
$(OUT)/bench_ns: $(BENCH_OBJS) $(TEST_LIB_OBJS) $(USER_LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

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
