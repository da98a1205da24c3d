# hull: top-level build.  Sources are discovered per folder, so adding a file
# to a module needs no change here.  See docs/architecture.md.

PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
CC      ?= gcc

# Library folders: each is one door header (<folder>/<folder>.h) plus sources.
MODULES := common api oci namespaces confine runtime cgroups net microvm guest vmcontainer virtiofs shim vfio jail

PKGS    := libseccomp libcap json-c libnl-3.0 libnl-route-3.0 libsystemd
COMMIT  := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)

CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2 -Wvla
# pkg-config runs when a recipe needs its answer, not when make parses this
# file: on a fresh machine that is before `make deps` installed the libraries
# (and their .pc files), and flags read then stayed empty for the whole run.
# A failing pkg-config stops the build naming the cause, never compiles
# without the flags (which failed far away, on a missing netlink/netlink.h).
pkg_config = $(shell pkg-config $(1))$(if $(filter 0,$(.SHELLSTATUS)),,$(error \
	pkg-config $(1) failed: `make deps` installs the libraries))
CPPFLAGS_ALL = -std=gnu17 -D_GNU_SOURCE -I. -I$(GEN) $(call pkg_config,--cflags $(PKGS)) \
	-DHULL_COMMIT='"$(COMMIT)"' -MMD -MP
# The hull binary is fully static, glibc included: each hull command is a fresh
# exec, and ld.so's relocations plus the ~1.4 MiB of libc.so pages it faults in
# were most of `hull run`'s peak RSS and a large share of its time.
# libsystemd is dlopen'd by cgroups/systemd.c only when --systemd-cgroup asks
# for it (glibc's static dlopen loads libc.so.6 for it; hull hands it plain
# data only), hence the linker's warning about dlopen.
# libcriu.a: the protobuf-c code of CRIU's rpc.proto (runtime/checkpoint.c).
STATIC_PKGS := libseccomp libcap json-c libnl-route-3.0 libnl-3.0 libprotobuf-c
# libhttp-parser-dev ships libhttp_parser.a but no .pc file (api/http.c).
HTTP_LIBS := -lhttp_parser
# Unit tests may drive sd-bus directly (a stand-in systemd on a private bus).
TEST_LIBS = $(call pkg_config,--libs libsystemd)
LIBS    = -Wl,-Bstatic -lcriu $(HTTP_LIBS) $(call pkg_config,--libs $(STATIC_PKGS)) -Wl,-Bdynamic -lpthread -ldl
HULL_LDFLAGS := -static
HULL_LIBS = -lcriu $(HTTP_LIBS) $(call pkg_config,--static --libs $(STATIC_PKGS)) -lpthread -ldl

ifeq ($(SAN),1)
CFLAGS  := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
BUILD   := build/asan
# The sanitizers' runtimes need the dynamic loader.
HULL_LDFLAGS :=
HULL_LIBS = $(LIBS)
endif

OBJDIR  := $(BUILD)/obj
# A module's parts may live one folder down (microvm/virtio/, microvm/x86/).
LIB_SRC := $(foreach m,$(MODULES),$(wildcard $(m)/*.c $(m)/*/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(OBJDIR)/%.o)

# shim/: containerd's messages as protobuf-c code, generated at build time from
# the .proto files Debian installs (golang-github-containerd-containerd-dev;
# golang-github-gogo-protobuf-dev for gogo.proto and google/protobuf/*.proto)
# plus shim/ttrpc.proto; never checked in.  GEN is on every include path.
# A tree without shim/ (tests/integration/make.bats's miniature) generates nothing.
GOSRC   := /usr/share/gocode/src
GEN     := $(BUILD)/gen
ifneq ($(wildcard shim/ttrpc.proto),)
GEN_STAMP := $(GEN)/stamp
PROTOS  := shim/ttrpc.proto shim/options.proto \
	github.com/containerd/containerd/runtime/v2/task/shim.proto \
	github.com/containerd/containerd/runtime/v2/runc/options/oci.proto \
	github.com/containerd/cgroups/stats/v1/metrics.proto \
	github.com/containerd/cgroups/v2/stats/metrics.proto \
	github.com/containerd/containerd/api/types/mount.proto \
	github.com/containerd/containerd/api/types/task/task.proto \
	github.com/containerd/containerd/api/events/task.proto \
	github.com/containerd/containerd/api/services/ttrpc/events/v1/events.proto \
	github.com/containerd/containerd/protobuf/plugin/fieldpath.proto \
	gogoproto/gogo.proto google/protobuf/descriptor.proto google/protobuf/any.proto \
	google/protobuf/empty.proto google/protobuf/timestamp.proto
endif
PROTO_I := -I. -I$(GOSRC) -I$(GOSRC)/github.com/gogo/protobuf -I$(GOSRC)/github.com/gogo/protobuf/protobuf
GEN_C   := $(PROTOS:%.proto=$(GEN)/%.pb-c.c)
GEN_OBJ := $(GEN_C:$(GEN)/%.c=$(OBJDIR)/gen/%.o)
LIB_OBJ += $(GEN_OBJ)
CLI_SRC := $(wildcard cli/*.c)
CLI_OBJ := $(CLI_SRC:%.c=$(OBJDIR)/%.o)
LIBHULL := $(BUILD)/libhull.a
HULL    := $(BUILD)/bin/hull

UNIT_SRC := $(wildcard tests/unit/*/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)

HELPER  := build/bin/hull-test-helper
BUNDLE  := build/bundle

.PHONY: all deps check check-unit check-integration check-testhost check-fresh bench bench-io demo install \
	clean bundle unit asan lint testhost-shell guest
all: $(HULL)

deps:
	@tools/deps.sh

$(OBJDIR)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CPPFLAGS) $(CFLAGS) $(WARN) -c $< -o $@

ifneq ($(GEN_STAMP),)
# Makefile too: a proto added to PROTOS is generated in an existing tree.
$(GEN_STAMP): $(filter shim/%,$(PROTOS)) Makefile
	@command -v protoc-c >/dev/null && [ -f $(GOSRC)/github.com/containerd/containerd/runtime/v2/task/shim.proto ] && \
		[ -f $(GOSRC)/github.com/gogo/protobuf/gogoproto/gogo.proto ] && \
		[ -f $(GOSRC)/github.com/containerd/cgroups/v2/stats/metrics.proto ] || \
		{ echo "protoc-c or containerd's .proto files missing: \`make deps\` installs them" >&2; exit 1; }
	@mkdir -p $(GEN)
	protoc-c $(PROTO_I) --c_out=$(GEN) $(PROTOS) 2>$(GEN)/protoc.log || { cat $(GEN)/protoc.log; exit 1; }
	@touch $@
$(GEN_C) $(GEN_C:.c=.h): $(GEN_STAMP) ;
endif

# Generated code: compiled without -Werror (its style is protoc-c's).
$(OBJDIR)/gen/%.o: $(GEN)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CPPFLAGS) $(CFLAGS) -w -c $< -o $@
$(filter-out $(GEN_OBJ),$(LIB_OBJ)) $(CLI_OBJ) $(UNIT_BIN): | $(GEN_STAMP)

$(LIBHULL): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(HULL): $(CLI_OBJ) $(LIBHULL)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $(HULL_LDFLAGS) -o $@ $(CLI_OBJ) $(LIBHULL) $(HULL_LIBS) 2>$(OBJDIR)/hull-link.log || \
		{ cat $(OBJDIR)/hull-link.log; exit 1; }
	@grep -v -e "in statically linked applications requires" -e ": in function" $(OBJDIR)/hull-link.log || true

$(BUILD)/tests/unit/%: tests/unit/%.c $(LIBHULL)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CPPFLAGS) $(CFLAGS) $(WARN) $(LDFLAGS) -o $@ $< $(LIBHULL) $(LIBS) $(TEST_LIBS) -lcmocka

unit: $(UNIT_BIN)

# The in-container assertion helper is static: the busybox rootfs has no libc.
$(HELPER): tests/helper/hull-test-helper.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu17 -O2 -Wall -Wextra -Werror -static -o $@ $<

bundle: $(BUNDLE)/config.json
$(BUNDLE)/config.json: tests/bundle/make-bundle.sh $(HELPER) $(HULL)
	tests/bundle/make-bundle.sh $(BUNDLE) $(HELPER) $(HULL)

asan:
	$(MAKE) SAN=1 all unit

# Doors and dead code (tools/lint.sh): reads the objects of `all`.
lint: $(HULL)
	tools/lint.sh $(OBJDIR)

check: deps
	$(MAKE) all unit bundle
	$(MAKE) lint
	$(MAKE) asan
	tests/run-all

# Goals that need tools/deps.txt installed run `deps` first and build in a
# sub-make, which parses this file anew once the packages are there (a
# prerequisite list `deps all` would also let -j build beside `deps`).
# The README's `make demo` in a minimal Debian 12 root (tests/fresh/run).
check-fresh: deps
	tests/fresh/run

bench: deps
	$(MAKE) all bundle
	tests/bench/run

# Only the I/O benchmarks (virtio-net and VFIO passthrough against QEMU, in
# the test host); their sections of BENCHMARKS.md are replaced, the rest kept.
bench-io: deps
	$(MAKE) all
	tests/bench/run net vfio

demo: deps
	$(MAKE) all bundle
	tests/demo

# SOAK_N lifecycles of each shape under load; nothing may hang or leak
# (tests/soak/run, docs/testing.md).
.PHONY: soak
soak: deps
	$(MAKE) all bundle
	tests/soak/run

# The guest image of VM-isolated containers: Debian's cloud kernel and an
# initramfs whose /init is the static hull (guest/build-image.sh).  The
# script rebuilds only when the kernel version, hull or itself changed.
GUEST := build/guest
guest: $(HULL)
	guest/build-image.sh image $(GUEST) $(HULL)

# hull-vm: the same binary; argv[0] hull-vm asks for VM isolation (podman
# --runtime /usr/local/bin/hull-vm).  The guest image goes in when built,
# refreshed first so its /init is the hull installed beside it.
install: $(HULL)
	install -D -m 0755 $(HULL) $(DESTDIR)$(PREFIX)/bin/hull
	ln -sfn hull $(DESTDIR)$(PREFIX)/bin/hull-vm
	ln -sfn hull $(DESTDIR)$(PREFIX)/bin/containerd-shim-hull-v2
	if [ -f $(GUEST)/initramfs.cpio ]; then \
		guest/build-image.sh image $(GUEST) $(HULL) && \
		install -D -m 0644 $(GUEST)/vmlinuz $(DESTDIR)$(PREFIX)/lib/hull/vmlinuz && \
		install -D -m 0644 $(GUEST)/initramfs.cpio $(DESTDIR)$(PREFIX)/lib/hull/initramfs.cpio; \
	else echo "install: no $(GUEST)/initramfs.cpio: run \`make guest\` for VM-isolated containers"; fi

clean:
	rm -rf build



testhost-shell: deps
	tests/testhost/run --shell

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
