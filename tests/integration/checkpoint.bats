#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# checkpoint / restore input that is refused before CRIU runs, so it runs on
# the development machine (whose kernel's vDSO Debian's CRIU 3.17 cannot
# parse); the dumps and restores themselves are testhost/checkpoint.bats.

load helpers

@test "checkpoint --parent-path: absolute, missing or not a directory is one line; the container runs on" {
	local id pid
	id=$(new_id)
	start_detached "$id" sleep 600 || fail "run -d failed: $(cat "$BATS_TEST_TMPDIR/$id.out")"
	pid=$(state_field "$id" pid)
	touch "$BATS_TEST_TMPDIR/file"

	run --separate-stderr hull checkpoint --pre-dump --parent-path "$BATS_TEST_TMPDIR/pre" \
		--image-path "$BATS_TEST_TMPDIR/img" "$id"
	assert_one_line_error "--parent-path \"$BATS_TEST_TMPDIR/pre\": must be relative"
	run --separate-stderr hull checkpoint --parent-path ../none --image-path "$BATS_TEST_TMPDIR/img" "$id"
	assert_one_line_error "--parent-path ../none: No such file or directory"
	run --separate-stderr hull checkpoint --parent-path ../file --image-path "$BATS_TEST_TMPDIR/img" "$id"
	assert_one_line_error "--parent-path ../file: Not a directory"
	if ! runtime_is_runc; then
		# runc makes the image directory before it looks at the parent
		[[ ! -e $BATS_TEST_TMPDIR/img ]] || fail "a refused checkpoint made its image directory"
	fi
	# an image directory that was there stays
	mkdir "$BATS_TEST_TMPDIR/img2"
	run --separate-stderr hull checkpoint --parent-path ../none --image-path "$BATS_TEST_TMPDIR/img2" "$id"
	assert_one_line_error "--parent-path ../none: No such file or directory"
	[[ -d $BATS_TEST_TMPDIR/img2 ]] || fail "a refused checkpoint removed an image directory it did not make"

	run state_field "$id" status
	assert_output running
	assert_equal "$(state_field "$id" pid)" "$pid"
	hull kill "$id" KILL
	wait_for_status "$id" stopped
	hull delete "$id"
	assert_nothing_left "$id"
}

@test "restore --parent-path: not the image's parent is one line, nothing left" {
	hull_only "runc's restore has no --parent-path (its containerd shim passes one)"
	local id img=$BATS_TEST_TMPDIR/img
	id=$(new_id)
	# enough of an image for the checks before CRIU
	mkdir -p "$img" "$BATS_TEST_TMPDIR/pre" "$BATS_TEST_TMPDIR/other"
	touch "$img/inventory.img" "$BATS_TEST_TMPDIR/file"

	run --separate-stderr hull restore -d --parent-path ../pre --image-path "$img" --bundle "$BUNDLE" "$id"
	assert_one_line_error "--parent-path ../pre: .*/img has no parent \\(not dumped with --parent-path\\)"
	assert_nothing_left "$id"

	ln -s ../pre "$img/parent"
	run --separate-stderr hull restore -d --parent-path ../other --image-path "$img" --bundle "$BUNDLE" "$id"
	assert_one_line_error "--parent-path ../other: not the parent of .*/img"
	assert_nothing_left "$id"
	run --separate-stderr hull restore -d --parent-path "$BATS_TEST_TMPDIR/other" --image-path "$img" \
		--bundle "$BUNDLE" "$id"
	assert_one_line_error "--parent-path $BATS_TEST_TMPDIR/other: not the parent of"
	run --separate-stderr hull restore -d --parent-path ../none --image-path "$img" --bundle "$BUNDLE" "$id"
	assert_one_line_error "--parent-path ../none: No such file or directory"
	run --separate-stderr hull restore -d --parent-path ../file --image-path "$img" --bundle "$BUNDLE" "$id"
	assert_one_line_error "--parent-path ../file: Not a directory"
	run --separate-stderr hull restore -d --parent-path "" --image-path "$img" --bundle "$BUNDLE" "$id"
	assert_one_line_error "--parent-path \"\": must be relative"
	assert_nothing_left "$id"
}
