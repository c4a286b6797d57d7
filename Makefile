# pyforlinux: Rust for Linux's safe abstractions in Python, over the real
# Linux 6.12 C in userspace. The two commands:
#   make run    load Nova, bind it and serve a client session (the main job)
#   make test   every test: the kernel's own suites, ours, mypy and ruff
# Both install what they need and are idempotent.
#   SANITIZE=1  build the C side with ASan+UBSan (into build-san/)
#   KERNEL_SRC  use a Linux 6.12 tree instead of Debian's linux-source-6.12

SHELL := /bin/bash
MAKEFLAGS += --no-builtin-rules
.SUFFIXES:
PYTHON ?= python3
SANITIZE ?=
BUILD_DIR ?= $(if $(SANITIZE),build-san,build)
B := $(abspath $(BUILD_DIR))
K := $(B)/kernel
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(B)/.stamps

CC := gcc
SAN_FLAGS := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
OPT := $(if $(SANITIZE),$(SAN_FLAGS),-O2)
KCFLAGS := -fPIC -g $(OPT) -std=gnu11 -fno-strict-aliasing -fno-common \
	-fno-delete-null-pointer-checks -fno-strict-overflow \
	-D_GNU_SOURCE -D_LGPL_SOURCE -Wall -Wno-unused-function -Wno-address \
	-Wno-unused-but-set-variable -Wno-unused-variable \
	-I$(CURDIR)/csrc/include -I$(CURDIR)/csrc/kunit/include -I$(B)/real-include \
	-I$(K)/tools/include -I$(K)/tools/arch/x86/include -idirafter $(K)/include \
	-include $(CURDIR)/csrc/include/pfl/prelude.h

# Kernel files, compiled unmodified (extracted by scripts/kernel-src.sh).
KERNEL_SRCS := lib/rbtree.c lib/refcount.c lib/klist.c lib/scatterlist.c lib/xarray.c \
	lib/radix-tree.c lib/idr.c lib/random32.c lib/math/prime_numbers.c \
	lib/math/int_sqrt.c drivers/gpu/buddy.c drivers/dma-buf/dma-fence.c \
	tools/lib/bitmap.c tools/lib/find_bit.c tools/lib/hweight.c tools/lib/vsprintf.c
# The kernel's own tests, also unmodified.
KTEST_SRCS := lib/list-test.c drivers/gpu/tests/gpu_buddy_test.c \
	drivers/gpu/tests/gpu_random.c drivers/dma-buf/st-dma-fence.c \
	lib/test_xarray.c tools/testing/scatterlist/main.c
RUNTIME_SRCS := $(wildcard csrc/runtime/*.c) $(wildcard csrc/helpers/*.c) csrc/kunit/kunit.c

KOBJS := $(patsubst %.c,$(B)/obj/kernel/%.o,$(KERNEL_SRCS) $(KTEST_SRCS))
ROBJS := $(patsubst %.c,$(B)/obj/%.o,$(RUNTIME_SRCS))
EXT := $(B)/cffi/.built

.PHONY: run test build deps venv kernel kunit pytest lint typecheck bench fuzz clean
.DEFAULT_GOAL := test

run: build
	$(PY) -m pyforlinux run nova $(ARGS)

test: build
	$(PY) -m pyforlinux kunit
	$(PY) -m pytest -q tests
	$(PY) -m mypy
	$(PY) -m ruff check pyforlinux tests scripts benchmarks

kunit: build
	$(PY) -m pyforlinux kunit $(SUITES)

build: $(EXT)

deps: $(STAMP)/deps
$(STAMP)/deps: scripts/deps.sh
	@SANITIZE=$(SANITIZE) sh scripts/deps.sh
	@mkdir -p $(STAMP) 2>/dev/null || { echo "pyforlinux: build directory $(B) is not writable; set BUILD_DIR=" >&2; exit 1; }
	@touch $@

venv: $(VENV)/.stamp
$(VENV)/.stamp: pyproject.toml $(STAMP)/deps
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]' 2> >(grep -v 'is ignored' >&2)
	@touch $@

# Re-checked on every build (a no-op when current), so KERNEL_SRC changes apply.
kernel: $(STAMP)/deps
	@sh scripts/kernel-src.sh $(B)
	@test -d $(B)/real-include -a $(B)/real-include -nt $(K)/.stamp -a $(B)/real-include -nt scripts/real-headers.txt || \
		sh scripts/real-headers.sh $(B)

$(K)/.stamp: | kernel

$(B)/obj/kernel/%.o: $(K)/.stamp Makefile
	@mkdir -p $(dir $@)
	@echo "  CC      $*.c"
	@$(CC) $(KCFLAGS) $(KFLAGS_$*) -MMD -MP -c $(K)/$*.c -o $@

$(B)/obj/csrc/runtime/urcu.o: csrc/runtime/urcu.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) -fPIC -g $(OPT) -Wall -D_GNU_SOURCE -MMD -MP -c $< -o $@

$(B)/obj/%.o: %.c $(K)/.stamp Makefile
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(KCFLAGS) $(CFLAGS_$*) -MMD -MP -c $< -o $@

# Per-file flags.
KFLAGS_lib/test_xarray := -DPFL_MODULE=test_xarray
KFLAGS_drivers/gpu/buddy := -DPFL_MODULE=gpu_buddy
KFLAGS_lib/math/prime_numbers := -DPFL_MODULE=prime_numbers
KFLAGS_tools/testing/scatterlist/main := -I$(CURDIR)/csrc/kunit/scatterlist-shim \
	-Dmain=pfl_sg_table_main \
	-Dsg_alloc_table_from_pages_segment=pfl_sg_case_alloc_table_from_pages_segment \
	-Dsg_alloc_append_table_from_pages=pfl_sg_case_alloc_append_table_from_pages
CFLAGS_csrc/kunit/kunit := -I$(K)/drivers/dma-buf

$(B)/libpfl.a: $(KOBJS) $(ROBJS)
	@rm -f $@
	@ar rcs $@ $^

$(B)/cflags: Makefile | $(STAMP)/deps
	@mkdir -p $(B)
	@echo '$(KCFLAGS)' > $@.tmp && (cmp -s $@.tmp $@ || mv $@.tmp $@); rm -f $@.tmp

$(EXT): $(B)/libpfl.a $(B)/cflags scripts/build_ext.py $(wildcard csrc/bindings/*) $(VENV)/.stamp
	@$(PY) scripts/build_ext.py $(B) $(B)/cflags
	@touch $@

bench: build
	$(PY) -m pyforlinux bench

clean:
	rm -rf build build-san

-include $(KOBJS:.o=.d) $(ROBJS:.o=.d)
