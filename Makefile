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
	-Wno-unused-but-set-variable -Wno-unused-variable -Wno-pointer-sign \
	-I$(CURDIR)/csrc/include -I$(CURDIR)/csrc/kunit/include -I$(B)/real-include \
	-I$(K)/tools/include -I$(K)/tools/arch/x86/include -idirafter $(K)/include \
	-include $(CURDIR)/csrc/include/pfl/prelude.h

# Kernel files, compiled unmodified (extracted by scripts/kernel-src.sh).
KERNEL_SRCS := lib/rbtree.c lib/refcount.c lib/klist.c lib/scatterlist.c lib/xarray.c \
	lib/radix-tree.c lib/idr.c lib/random32.c lib/math/prime_numbers.c \
	lib/math/int_sqrt.c lib/errname.c drivers/gpu/buddy.c drivers/dma-buf/dma-fence.c \
	drivers/dma-buf/dma-fence-array.c drivers/dma-buf/dma-fence-chain.c \
	tools/lib/bitmap.c tools/lib/find_bit.c tools/lib/hweight.c tools/lib/vsprintf.c
# The driver core (CONFIG_SYSFS=n: kernfs/sysfs are the kernel's inline stubs).
KERNEL_SRCS += drivers/base/core.c drivers/base/bus.c drivers/base/class.c \
	drivers/base/driver.c drivers/base/dd.c drivers/base/devres.c \
	drivers/base/auxiliary.c lib/kobject.c lib/kobject_uevent.c lib/ratelimit.c \
	kernel/notifier.c lib/ctype.c lib/uuid.c
# The DRM core (issue 11), unmodified; KMS is out: what the core references of
# it are generated -EOPNOTSUPP stubs (scripts/kms-stubs.py, docs/kms-stubs.md).
DRM_SRCS := $(addprefix drivers/gpu/drm/,drm_drv.c drm_file.c drm_ioctl.c drm_gem.c \
	drm_vma_manager.c drm_mm.c drm_managed.c drm_auth.c drm_print.c drm_cache.c \
	drm_dumb_buffers.c drm_prime.c drm_sysfs.c drm_rect.c drm_fourcc.c drm_exec.c)
# dma-resv.c (issue 14's) too: every GEM object's reservation object.
DRM_SRCS += drivers/dma-buf/dma-resv.c
KERNEL_SRCS += $(DRM_SRCS)
# uint64_t as the kernel spells it (pfl/kernel_stdint.h says why).
$(foreach f,$(DRM_SRCS:.c=),$(eval KFLAGS_$(f) += -include $(CURDIR)/csrc/include/pfl/kernel_stdint.h))
# The kernel's own tests, also unmodified.
KTEST_SRCS := lib/list-test.c drivers/gpu/tests/gpu_buddy_test.c \
	drivers/gpu/tests/gpu_random.c drivers/dma-buf/st-dma-fence.c \
	drivers/dma-buf/st-dma-fence-chain.c \
	lib/test_xarray.c tools/testing/scatterlist/main.c
RUNTIME_SRCS := $(wildcard csrc/runtime/*.c) $(wildcard csrc/helpers/*.c) csrc/kunit/kunit.c

KOBJS := $(patsubst %.c,$(B)/obj/kernel/%.o,$(KERNEL_SRCS) $(KTEST_SRCS))
ROBJS := $(patsubst %.c,$(B)/obj/%.o,$(RUNTIME_SRCS))
EXT := $(B)/cffi/.built

# Real userspace clients (libdrm), built for make run and make test; defined
# before the rules that need them (prerequisites expand when a rule is read).
TOOLS := $(B)/tools/nova-drm-client
# The launcher that makes a client's dma-buf/syncobj fds real (pyforlinux/devnode/fds.py)
# and the two-process PRIME client run through it.
TOOLS += $(B)/tools/pfl-launch $(B)/tools/prime-client
# The sample render driver's libdrm client (examples/tinyrender).
TOOLS += $(B)/tools/tinyrender-client
.PHONY: run test build venv kunit check bench fuzz faultsweep clean tools
.DEFAULT_GOAL := test

# The extension of BUILD_DIR, with the sanitizer runtime preloaded for SANITIZE=1
# (LeakSanitizer is off: CPython's own allocations at exit are not ours;
# kernel-object leaks are caught by the runtime's live-object accounting).
SAN_ENV := $(if $(SANITIZE),LD_PRELOAD=$(shell $(CC) -print-file-name=libasan.so) \
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:verify_asan_link_order=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1)
RUN := PYFORLINUX_BUILD_DIR=$(B) $(SAN_ENV) $(PY)

run: build $(TOOLS)
	@$(RUN) -m pyforlinux run nova $(ARGS)
	@echo; echo "== the sample render driver (examples/tinyrender) and its libdrm client"
	@$(RUN) -m pyforlinux run examples/tinyrender --exec -- $(B)/tools/tinyrender-client

# make test: both builds (plain, then ASan+UBSan). make test SANITIZE=1: only the latter.
test: check
ifeq ($(SANITIZE),)
	@$(MAKE) --no-print-directory check SANITIZE=1
endif

check: build $(TOOLS)
	@echo "== kernel suites ($(notdir $(B)))"
	@$(RUN) -m pyforlinux kunit
	@echo "== pytest ($(notdir $(B)))"
	@$(RUN) -m pytest -q tests
ifeq ($(SANITIZE),)
	@echo "== mypy --strict, ruff"
	@$(PY) -m mypy
	@$(PY) -m ruff check pyforlinux tests scripts benchmarks
endif

kunit: build
	@$(RUN) -m pyforlinux kunit $(SUITES)

build: $(EXT)

# Preparation runs when make reads this file, for the goals that build, so
# that a missing package, a bad KERNEL_SRC or an unwritable BUILD_DIR is
# one line ("Makefile:N: *** pyforlinux: ...  Stop.") and a non-zero exit.
# Each step is a quick no-op when already done.
BUILD_GOALS := run test build kunit bench fuzz faultsweep check tools
ifneq ($(filter $(BUILD_GOALS),$(or $(MAKECMDGOALS),$(.DEFAULT_GOAL))),)
define prepare
$(eval _out := $(shell $(1) 2>&1; echo "rc=$$?"))
$(if $(filter rc=0,$(lastword $(_out))),$(if $(filter-out rc=0,$(_out)),$(info $(filter-out rc=0,$(_out)))),$(error $(filter-out rc=%,$(_out))))
endef
$(call prepare,mkdir -p $(STAMP) 2>/dev/null && test -w $(B) || { echo "pyforlinux: build directory $(B) is not writable; set BUILD_DIR to a writable path"; exit 1; })
$(call prepare,SANITIZE=$(SANITIZE) sh scripts/deps.sh)
$(call prepare,sh scripts/kernel-src.sh $(B))
$(call prepare,test -d $(B)/real-include -a $(B)/real-include -nt $(K)/.stamp -a $(B)/real-include -nt scripts/real-headers.txt || sh scripts/real-headers.sh $(B))
endif

venv: $(VENV)/.stamp
$(VENV)/.stamp: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]' 2> >(grep -v 'is ignored' >&2)
	@touch $@

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
# buddy.c's block allocations do not fail: its error path corrupts the free
# tree (see csrc/include/pfl/buddy_nofail.h).
KFLAGS_drivers/gpu/buddy := -DPFL_MODULE=gpu_buddy -include $(CURDIR)/csrc/include/pfl/buddy_nofail.h
KFLAGS_lib/math/prime_numbers := -DPFL_MODULE=prime_numbers
KFLAGS_tools/testing/scatterlist/main := -I$(CURDIR)/csrc/kunit/scatterlist-shim \
	-Dmain=pfl_sg_table_main \
	-Dsg_alloc_table_from_pages_segment=pfl_sg_case_alloc_table_from_pages_segment \
	-Dsg_alloc_append_table_from_pages=pfl_sg_case_alloc_append_table_from_pages
CFLAGS_csrc/kunit/kunit := -I$(K)/drivers/dma-buf

$(B)/libpfl.a: $(KOBJS) $(ROBJS)
	@rm -f $@
	@ar rcs $@ $^

$(B)/cflags: Makefile
	@mkdir -p $(B)
	@echo '$(KCFLAGS)' > $@.tmp && (cmp -s $@.tmp $@ || mv $@.tmp $@); rm -f $@.tmp

$(EXT): $(B)/libpfl.a $(B)/cflags scripts/build_ext.py $(wildcard csrc/bindings/*) $(VENV)/.stamp
	@$(PY) scripts/build_ext.py $(B) $(B)/cflags
	@touch $@

# The benchmarks (safe API vs raw bindings vs C, ns/op), then the table and
# plot of docs/performance.md. matplotlib is bench-only: the .[bench] extra.
bench: build $(VENV)/.bench-stamp $(TOOLS)
	@$(RUN) -m pyforlinux bench --json $(ARGS) > $(B)/bench.json
	@$(RUN) benchmarks/report.py $(B)/bench.json

$(VENV)/.bench-stamp: pyproject.toml $(VENV)/.stamp
	@$(PY) -m pip install -q --disable-pip-version-check -e '.[bench]' 2> >(grep -v 'is ignored' >&2)
	@touch $@

# The allocation fault-injection sweep (also run by make test, as a test):
# every allocation of each scenario failed in turn. SCENARIOS='fence ...' picks.
faultsweep: build
	@$(RUN) -m pyforlinux faultsweep $(SCENARIOS)

# The ioctl fuzzer, long: FUZZ_EXAMPLES random inputs for Nova (make test runs a
# bounded, derandomized 10 000); inputs with a new outcome join tests/fuzz_corpus/.
FUZZ_EXAMPLES ?= 1000000
fuzz: build
	@PYFORLINUX_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) PYFORLINUX_FUZZ_CORPUS=update \
		$(RUN) -m pytest -q -p no:cacheprovider tests/test_fuzz_ioctl.py

clean:
	rm -rf build build-san

-include $(KOBJS:.o=.d) $(ROBJS:.o=.d)

# Real clients (docs/real-clients.md): a libdrm program run against Nova
# through the device-node bridge (pyforlinux.devnode).
tools: $(TOOLS)
$(B)/tools/nova-drm-client: tools/nova-drm-client.c csrc/include/uapi/drm/nova_drm.h
	@mkdir -p $(B)/tools/inc/uapi/drm
	@echo '#include <drm.h>' > $(B)/tools/inc/uapi/drm/drm.h
	@echo "  CC      $<"
	@$(CC) -O2 -Wall -o $@ $< -I$(B)/tools/inc -Icsrc/include/uapi/drm $$(pkg-config --cflags --libs libdrm)
$(B)/tools/pfl-launch: tools/pfl-launch.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) -O2 -Wall -o $@ $< $$(pkg-config --cflags libdrm)
$(B)/tools/prime-client: tools/prime-client.c csrc/include/uapi/drm/nova_drm.h $(B)/tools/nova-drm-client
	@echo "  CC      $<"
	@$(CC) -O2 -Wall -o $@ $< -I$(B)/tools/inc -Icsrc/include/uapi/drm $$(pkg-config --cflags --libs libdrm)
# The sample render driver's libdrm client (examples/tinyrender, docs/render-driver.md).
$(B)/tools/tinyrender-client: examples/tinyrender/client.c \
		examples/tinyrender/include/uapi/drm/tinyrender_drm.h $(B)/tools/nova-drm-client
	@echo "  CC      $<"
	@$(CC) -O2 -Wall -o $@ $< -I$(B)/tools/inc/uapi -Iexamples/tinyrender/include/uapi/drm \
		$$(pkg-config --cflags --libs libdrm)

# Kernel files and the C under them: an implicit declaration, an int used as a
# pointer or a mismatched pointer is an error, not a warning.
KCFLAGS += -Werror=implicit-function-declaration -Werror=int-conversion \
	-Werror=incompatible-pointer-types

# No kernel file may pick a header of the system's /usr/include/linux (an older
# uapi) where the kernel tree has its own: checked from each file's -M output.
KHDRS := $(patsubst %.c,$(B)/obj/kernel/%.hdr,$(KERNEL_SRCS) $(KTEST_SRCS))
$(B)/obj/kernel/%.hdr: $(B)/obj/kernel/%.o scripts/check-kernel-headers.sh
	@$(CC) $(KCFLAGS) $(KFLAGS_$*) -M -MP -MT $(B)/obj/kernel/$*.o $(K)/$*.c > $@.tmp
	@sh scripts/check-kernel-headers.sh $(K) $@.tmp
	@mv $@.tmp $@
$(EXT): $(KHDRS)
# -MMD leaves out every header reached from a system directory (the kernel's
# include/ is one, via -idirafter), shims included: these full lists are the
# objects' real dependencies.
-include $(wildcard $(KHDRS))
CFLAGS_csrc/helpers/device := -I$(K)/drivers/base

# The tree's uapi (drm/drm.h, drm/drm_fourcc.h ...) after include/, as the
# kernel's own -I include/uapi; names the system also has are caught above.
KCFLAGS += -idirafter $(K)/include/uapi

# KMS stays out: the KMS functions the compiled DRM core references are
# generated stubs (scripts/kms-stubs.txt lists them; docs/kms-stubs.md).
$(B)/gen/kms_stubs.c: scripts/kms-stubs.py scripts/kms-stubs.txt $(K)/.stamp
	@mkdir -p $(dir $@)
	@echo "  GEN     kms_stubs.c"
	@$(PYTHON) scripts/kms-stubs.py $(K) $@
$(B)/obj/gen/kms_stubs.o: $(B)/gen/kms_stubs.c Makefile
	@mkdir -p $(dir $@)
	@echo "  CC      kms_stubs.c"
	@$(CC) $(KCFLAGS) -include $(CURDIR)/csrc/include/pfl/kernel_stdint.h \
		-I$(K)/drivers/gpu/drm -c $< -o $@
$(B)/libpfl.a: $(B)/obj/gen/kms_stubs.o

# The kernel's DRM KUnit suites (drivers/gpu/drm/tests), unmodified.
DRM_KTESTS := $(addprefix drivers/gpu/drm/tests/,drm_mm_test.c drm_rect_test.c drm_format_test.c)
KTEST_SRCS += $(DRM_KTESTS)
$(foreach f,$(DRM_KTESTS:.c=),$(eval KFLAGS_$(f) += -include $(CURDIR)/csrc/include/pfl/kernel_stdint.h))
$(B)/libpfl.a: $(patsubst %.c,$(B)/obj/kernel/%.o,$(DRM_KTESTS))
$(EXT): $(patsubst %.c,$(B)/obj/kernel/%.hdr,$(DRM_KTESTS))

# The kernel's ww_mutex self-test (wound/wait and wait/die: AA, ABBA, cycles,
# stress) against the runtime's ww_mutex. Its workqueue.h comes, in the
# kernel, through headers the runtime's sched.h does not include.
KTEST_WW := kernel/locking/test-ww_mutex.c
KFLAGS_kernel/locking/test-ww_mutex := -DPFL_MODULE=test_ww_mutex -include linux/workqueue.h
$(B)/libpfl.a: $(patsubst %.c,$(B)/obj/kernel/%.o,$(KTEST_WW))
$(EXT): $(patsubst %.c,$(B)/obj/kernel/%.hdr,$(KTEST_WW))

# KUnit's own resources/actions and kunit_device_register() (over the real
# driver core), for the DRM suites that need them.
KUNIT_SRCS := lib/kunit/resource.c lib/kunit/device.c
$(B)/libpfl.a: $(patsubst %.c,$(B)/obj/kernel/%.o,$(KUNIT_SRCS))
$(EXT): $(patsubst %.c,$(B)/obj/kernel/%.hdr,$(KUNIT_SRCS))

# drm.ko's module_init (drm_core_init) runs at boot (runtime/init.c).
KFLAGS_drivers/gpu/drm/drm_drv += -DPFL_MODULE=drm
CFLAGS_csrc/helpers/drm_core := -include $(CURDIR)/csrc/include/pfl/kernel_stdint.h

# The same full dependency lists for the runtime and helpers (they include the
# kernel's headers too, which include shims -MMD does not see).
RHDRS := $(patsubst %.c,$(B)/obj/%.hdr,$(filter-out csrc/runtime/urcu.c,$(RUNTIME_SRCS)))
$(B)/obj/csrc/%.hdr: $(B)/obj/csrc/%.o
	@$(CC) $(KCFLAGS) $(CFLAGS_csrc/$*) -M -MP -MT $< csrc/$*.c > $@.tmp && mv $@.tmp $@
$(EXT): $(RHDRS)
-include $(wildcard $(RHDRS))

# Issue 14: the render-driver parts, unmodified: dma-buf (PRIME), sync_file
# (with dma-fence-unwrap.c, which sorts with lib/sort.c), syncobj and shmem
# GEM objects (over runtime/shmem.c), and the dma-buf selftests of dma-resv
# and fence unwrapping (drivers/dma-buf/selftests.h; csrc/kunit registers them).
R14_SRCS := lib/sort.c drivers/dma-buf/dma-fence-unwrap.c drivers/dma-buf/sync_file.c \
	drivers/gpu/drm/drm_syncobj.c drivers/dma-buf/dma-buf.c drivers/gpu/drm/drm_gem_shmem_helper.c
R14_KTESTS := drivers/dma-buf/st-dma-resv.c drivers/dma-buf/st-dma-fence-unwrap.c
KERNEL_SRCS += $(R14_SRCS)
KTEST_SRCS += $(R14_KTESTS)
$(foreach f,$(R14_SRCS:.c=) $(R14_KTESTS:.c=),$(eval KFLAGS_$(f) += -include $(CURDIR)/csrc/include/pfl/kernel_stdint.h))
$(B)/libpfl.a: $(patsubst %.c,$(B)/obj/kernel/%.o,$(R14_SRCS) $(R14_KTESTS))
$(EXT): $(patsubst %.c,$(B)/obj/kernel/%.hdr,$(R14_SRCS) $(R14_KTESTS))
CFLAGS_csrc/helpers/render_selftest := -include $(CURDIR)/csrc/include/pfl/kernel_stdint.h
CFLAGS_csrc/helpers/dma_resv := -include $(CURDIR)/csrc/include/pfl/kernel_stdint.h
CFLAGS_csrc/helpers/shmem := -include $(CURDIR)/csrc/include/pfl/kernel_stdint.h
CFLAGS_csrc/helpers/drm_exec := -include $(CURDIR)/csrc/include/pfl/kernel_stdint.h

# The KMS slice drm_exec_test/drm_managed_test reach (issue 11 item 6): the
# kernel's mock device (drm_kunit_helpers.c) calls drmm_mode_config_init(),
# whose real closure is these files (plus lib/llist.c for
# drm_connector.c); what they reference beyond is stubbed (docs/kms-stubs.md).
DRM_KMS_SRCS := $(addprefix drivers/gpu/drm/,drm_mode_config.c drm_mode_object.c \
	drm_property.c drm_modeset_lock.c drm_connector.c drm_plane.c drm_crtc.c \
	drm_encoder.c drm_client.c)
$(foreach f,$(DRM_KMS_SRCS:.c=),$(eval KFLAGS_$(f) += -include $(CURDIR)/csrc/include/pfl/kernel_stdint.h))
DRM_KTESTS_KMS := $(addprefix drivers/gpu/drm/tests/,drm_kunit_helpers.c drm_exec_test.c drm_managed_test.c \
	drm_gem_shmem_test.c)
KTEST_SRCS += $(DRM_KTESTS_KMS)
$(foreach f,$(DRM_KTESTS_KMS:.c=),$(eval KFLAGS_$(f) += -include $(CURDIR)/csrc/include/pfl/kernel_stdint.h))
$(B)/libpfl.a: $(patsubst %.c,$(B)/obj/kernel/%.o,$(DRM_KMS_SRCS) lib/llist.c $(DRM_KTESTS_KMS))
$(EXT): $(patsubst %.c,$(B)/obj/kernel/%.hdr,$(DRM_KMS_SRCS) lib/llist.c $(DRM_KTESTS_KMS))

# Header dependencies of every kernel object, including those added to
# KERNEL_SRCS/KTEST_SRCS after KOBJS and KHDRS were expanded above (without
# this, a changed header or autoconf.h left e.g. dma-buf.o stale).
-include $(wildcard $(patsubst %.c,$(B)/obj/kernel/%.hdr,$(KERNEL_SRCS) $(KTEST_SRCS) \
	$(DRM_KMS_SRCS) lib/llist.c $(KUNIT_SRCS) $(KTEST_WW)))
