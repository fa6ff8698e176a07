# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# synguard: make | make test | make bench | make demo | make vmlinux | make clean

OUT        := build
ARCH       ?= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' -e 's/ppc64le/powerpc/' -e 's/s390x/s390/')
CLANG      ?= clang
BPFTOOL    ?= bpftool
CC         ?= gcc
CFLAGS     ?= -O2 -g
CFLAGS     += -Wall -Werror -Iinclude -I$(OUT)
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
              -Ivmlinux/$(ARCH) -Iinclude -Ibpf
LIBS       := -lbpf -lelf -lz

INCLUDES   := $(wildcard include/*.h)
BPF_HDRS   := $(wildcard bpf/*.h)
USER_SRCS  := $(filter-out user/synguard.c,$(wildcard user/*.c))
USER_HDRS  := $(wildcard user/*.h)
# pure modules the tests link (no BPF object, no event loop)
USER_LIB   := user/parse.c user/output.c

APP        := $(OUT)/synguard
BPF_OBJ    := $(OUT)/synguard.bpf.o
SKEL       := $(OUT)/synguard.skel.h
TOOLS      := $(OUT)/synflood $(OUT)/tcpkit
UNIT_TESTS := $(patsubst tests/unit/%.c,$(OUT)/%,$(wildcard tests/unit/*.c))
PROG_TESTS := $(OUT)/test_prog

.PHONY: all deps test bench demo vmlinux clean

all: deps $(APP) $(BPF_OBJ) $(OUT)/xdp_pass.bpf.o $(OUT)/xdp_sink.bpf.o $(TOOLS)

# Installs missing build/test packages (apt-get) and mounts bpffs; quiet when all present.
deps:
	@bash tests/deps.sh

$(OUT):
	@mkdir -p $@

$(BPF_OBJ): bpf/synguard.bpf.c $(BPF_HDRS) $(INCLUDES) | $(OUT)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/xdp_%.bpf.o: tests/xdp_%.bpf.c | $(OUT)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(SKEL): $(BPF_OBJ)
	$(BPFTOOL) gen skeleton $< name synguard_bpf > $@

$(APP): user/synguard.c $(USER_SRCS) $(USER_HDRS) $(SKEL) $(INCLUDES)
	$(CC) $(CFLAGS) -Iuser -o $@ user/synguard.c $(USER_SRCS) $(LIBS)

$(OUT)/synflood: tests/tools/synflood.c | $(OUT)
	$(CC) $(CFLAGS) -o $@ $< -lpthread

$(OUT)/tcpkit: tests/tools/tcpkit.c | $(OUT)
	$(CC) $(CFLAGS) -o $@ $<

# Userspace unit tests: each tests/unit/X.c is its own program; those named
# test_user_* also link the userspace modules they test.
$(OUT)/test_%: tests/unit/test_%.c $(INCLUDES) $(USER_HDRS) $(USER_SRCS) | $(OUT)
	$(CC) $(CFLAGS) -Iuser -o $@ $< $(if $(findstring user_,$*),$(USER_LIB) $(LIBS))

$(PROG_TESTS): $(wildcard tests/prog/*.c) $(wildcard tests/prog/*.h) $(SKEL) $(INCLUDES) $(USER_SRCS) $(USER_HDRS)
	$(CC) $(CFLAGS) -Iuser -Itests/prog -o $@ $(wildcard tests/prog/*.c) $(USER_LIB) $(LIBS)

# ns/packet through BPF_PROG_TEST_RUN (make bench)
$(OUT)/bench_ns: $(wildcard tests/bench/*.c) tests/prog/harness.c tests/prog/harness.h $(SKEL) $(INCLUDES) $(USER_LIB)
	$(CC) $(CFLAGS) -Iuser -Itests/prog -o $@ $(wildcard tests/bench/*.c) tests/prog/harness.c $(USER_LIB) $(LIBS)

test: all $(UNIT_TESTS) $(PROG_TESTS)
	@bash tests/run.sh

bench: all $(OUT)/bench_ns
	@bash tests/bench.sh

demo: all
	@$(APP) demo

# Regenerate the committed CO-RE header from the running kernel's BTF.
vmlinux:
	@mkdir -p vmlinux/$(ARCH)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/$(ARCH)/vmlinux.h

clean:
	rm -rf $(OUT)
