#!/usr/bin/env bats
# make lint (tools/lint.sh), run by make check: no include of another
# folder's private header, and no public function without a caller in
# another file.  Each test runs the real script on a miniature tree; the
# last one on this checkout's own objects.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
bats_require_minimum_version 1.5.0

REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)

setup() {
	T=$BATS_TEST_TMPDIR/tree
	for f in common oci namespaces runtime cgroups net microvm cli tools tests/unit/cgroups; do
		mkdir -p "$T/$f"
	done
	cp "$REPO/tools/lint.sh" "$T/tools/"
	cat >"$T/cgroups/cgroups.h" <<-'EOF2'
		int cgroups_used(void);
	EOF2
	cat >"$T/cgroups/internal.h" <<-'EOF2'
		int cg_helper(void);
	EOF2
	cat >"$T/cgroups/a.c" <<-'EOF2'
		#include "cgroups/internal.h"
		int cg_helper(void) { return 1; }
	EOF2
	cat >"$T/cgroups/b.c" <<-'EOF2'
		#include "cgroups/cgroups.h"
		#include "cgroups/internal.h"
		int cgroups_used(void) { return cg_helper(); }
	EOF2
	cat >"$T/cli/main.c" <<-'EOF2'
		#include "cgroups/cgroups.h"
		int main(void) { return cgroups_used(); }
	EOF2
}

# lint_tree: compile every .c of the tree into obj/ and run the script.
lint_tree() {
	(cd "$T" && for c in */*.c; do
		mkdir -p "obj/$(dirname "$c")"
		gcc -I. -c "$c" -o "obj/${c%.c}.o" || exit 1
	done)
	run --separate-stderr sh -c "cd '$T' && tools/lint.sh obj"
}

@test "lint: a tree that keeps to its doors and calls what it exports passes" {
	lint_tree
	assert_success
	assert_output "lint: ok"
}

@test "lint: an include of another folder's internal.h fails naming file and header" {
	sed -i '1i #include "cgroups/internal.h"' "$T/cli/main.c"
	lint_tree
	assert_failure
	assert_output "lint: cli/main.c includes cgroups/internal.h: another folder's private header (use cgroups/cgroups.h)"
}

@test "lint: a public function only its own file calls must be static" {
	cat >>"$T/cgroups/a.c" <<-'EOF2'
		int cg_local(void) { return 2; }
		int cg_user(void) { return cg_local() + cg_helper(); }
	EOF2
	sed -i 's/return cgroups_used();/return cgroups_used() + cg_user();/; 1i int cg_user(void);' "$T/cli/main.c"
	lint_tree
	assert_failure
	assert_output "lint: cgroups/a.c: cg_local is public but only cgroups/a.c calls it: make it static"
}

@test "lint: a public function nothing calls must go, unless a unit test calls it" {
	echo 'int cg_dead(void) { return 3; }' >>"$T/cgroups/a.c"
	echo 'int cg_tested(void) { return 4; }' >>"$T/cgroups/a.c"
	echo 'int cg_tested(void); int main(void) { return cg_tested(); }' >"$T/tests/unit/cgroups/test_a.c"
	lint_tree
	assert_failure
	assert_output "lint: cgroups/a.c: cg_dead has no caller: remove it"
}

@test "lint: this checkout passes" {
	[ -d "$REPO/build/obj/cgroups" ] || skip "no build/obj (make all builds it)"
	run --separate-stderr sh -c "cd '$REPO' && tools/lint.sh build/obj"
	assert_success
	assert_output "lint: ok"
}
