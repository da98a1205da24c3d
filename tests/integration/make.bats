#!/usr/bin/env bats
# The Makefile on a machine where the packages are not installed yet: the
# README's goals must install them (`deps`) and only then ask pkg-config.
#
# Regression: `make demo` on a fresh machine read `pkg-config --cflags` when
# make parsed the Makefile, before `deps` had installed libnl, and failed on
# `netlink/netlink.h: No such file`; the second run worked.
#
# Each test runs the real Makefile in a miniature tree: cli/main.c includes a
# header that only pkg-config's flags can find, tools/deps.sh "installs" the
# library by creating a marker, and a stand-in pkg-config fails until the
# marker exists (as the real one does before libnl-3-dev is installed).
# tests/demo, tests/bench/run and tests/run-all run the hull it built (a
# script the Makefile starts to run needs a stand-in here, like tools/lint.sh).
# `make check-fresh` proves the same on a whole fresh Debian root.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
bats_require_minimum_version 1.5.0

REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)

setup() {
	T=$BATS_TEST_TMPDIR/tree
	S=$BATS_TEST_TMPDIR/sys # the "machine": pkg-config and the library's header
	mkdir -p "$T/cli" "$T/tools" "$T/tests/helper" "$T/tests/bundle" "$T/tests/bench" \
		"$S/bin" "$S/include"
	cp "$REPO/Makefile" "$T/"
	echo '#define FRESHDEP_ANSWER 42' >"$S/include/freshdep.h"
	cat >"$S/bin/pkg-config" <<-EOF
		#!/bin/sh
		echo "\$*" >>"$S/pkg-config.log"
		if [ ! -e "$S/installed" ]; then
			echo "Package libnl-3.0 was not found in the pkg-config search path." >&2
			exit 1
		fi
		case " \$* " in
		*" --cflags "*) echo "-I$S/include -DFRESHDEP_FLAGS" ;;
		*) echo "-lm" ;;
		esac
	EOF
	cat >"$T/tools/deps.sh" <<-EOF
		#!/bin/sh
		echo "deps: installing freshdep"
		touch "$S/installed"
	EOF
	cat >"$T/cli/main.c" <<-'EOF'
		#include <stdio.h>
		#include <freshdep.h>
		#ifndef FRESHDEP_FLAGS
		#error "compiled without pkg-config's flags"
		#endif
		int main(void) { printf("hull %d\n", FRESHDEP_ANSWER); return 0; }
	EOF
	echo 'int main(void) { return 0; }' >"$T/tests/helper/hull-test-helper.c"
	cat >"$T/tests/bundle/make-bundle.sh" <<-'EOF'
		#!/bin/sh
		mkdir -p "$1" && echo '{}' >"$1/config.json"
	EOF
	printf '#!/bin/sh\necho "lint: $1"\n' >"$T/tools/lint.sh"
	for f in tests/demo tests/bench/run tests/run-all; do
		printf '#!/bin/sh\necho "%s: $(build/bin/hull)"\n' "$f" >"$T/$f"
	done
	chmod +x "$S/bin/pkg-config" "$T/tools/deps.sh" "$T/tools/lint.sh" "$T/tests/bundle/make-bundle.sh" \
		"$T/tests/demo" "$T/tests/bench/run" "$T/tests/run-all"
}

# fresh_make ARGS...: make in the tree with the stand-in pkg-config first on PATH.
fresh_make() {
	run --separate-stderr env -u MAKEFLAGS -u MAKELEVEL PATH="$S/bin:$PATH" \
		timeout 300 make -C "$T" --no-print-directory "$@"
}

@test "make demo on a fresh machine: installs, then builds with pkg-config's flags, then runs the demo" {
	fresh_make demo
	assert_success
	assert_line 'deps: installing freshdep'
	assert_line 'tests/demo: hull 42'
}

@test "make -j2 demo on a fresh machine: nothing compiles before deps has installed" {
	fresh_make -j2 demo
	assert_success
	assert_line 'tests/demo: hull 42'
}

@test "make bench on a fresh machine: installs, builds, runs the benchmarks" {
	fresh_make -j2 bench
	assert_success
	assert_line 'deps: installing freshdep'
	assert_line 'tests/bench/run: hull 42'
}

@test "make check on a fresh machine: installs, builds (plain and ASan), runs the suites" {
	fresh_make -j2 check
	assert_success
	assert_line 'deps: installing freshdep'
	assert_line 'tests/run-all: hull 42'
	[[ -x $T/build/asan/bin/hull ]]
}

@test "make before make deps fails naming pkg-config and make deps, compiling nothing" {
	fresh_make
	assert_failure
	refute_output --partial 'cli/main.c'
	[[ $stderr == *'pkg-config --cflags '*'failed: `make deps` installs the libraries'* ]] ||
		fail "stderr: $stderr"
	[[ ! -e $T/build/obj/cli/main.o ]]
}

@test "make deps and make clean on a fresh machine do not ask pkg-config" {
	fresh_make clean
	assert_success
	fresh_make deps
	assert_success
	assert_line 'deps: installing freshdep'
	[[ ! -e $S/pkg-config.log ]] || fail "pkg-config ran: $(cat "$S/pkg-config.log")"
}
