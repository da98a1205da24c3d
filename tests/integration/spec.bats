#!/usr/bin/env bats
# spec: the starter config.json.

load helpers

@test "spec writes a valid config.json that the runtime can run" {
	mkdir "$BATS_TEST_TMPDIR/gen"
	cd "$BATS_TEST_TMPDIR/gen"
	run hull spec
	assert_success
	[ -f config.json ]
	jq -e '.ociVersion and .process.args == ["sh"] and .root.path == "rootfs" and
		(.linux.namespaces | map(.type) | index("mount") != null)' config.json
	# the starter config runs a real container once pointed at a rootfs
	jq --arg r "$BASE_BUNDLE/rootfs" --arg h "$HELPER" \
		'.root.path = $r | .process.terminal = false | .process.args = [$h, "read", "/etc/motd"]' \
		config.json >"$BUNDLE/config.json"
	id=$(new_id)
	run hull run --bundle "$BUNDLE" "$id" </dev/null
	assert_success
	assert_output "hull test rootfs"
}

@test "spec refuses to overwrite an existing config.json" {
	mkdir "$BATS_TEST_TMPDIR/gen"
	cd "$BATS_TEST_TMPDIR/gen"
	echo '{}' >config.json
	run --separate-stderr hull spec
	assert_one_line_error 'config.json'
	run cat config.json
	assert_output '{}'
}

@test "spec --bundle writes into that directory" {
	mkdir "$BATS_TEST_TMPDIR/gen"
	run hull spec --bundle "$BATS_TEST_TMPDIR/gen"
	assert_success
	jq -e .ociVersion "$BATS_TEST_TMPDIR/gen/config.json"
}

@test "spec --rootless adds a user namespace with mappings for the caller" {
	mkdir "$BATS_TEST_TMPDIR/gen"
	cd "$BATS_TEST_TMPDIR/gen"
	run hull spec --rootless
	assert_success
	jq -e --argjson u "$(id -u)" '
		(.linux.namespaces | map(.type) | index("user") != null) and
		(.linux.namespaces | map(.type) | index("network") == null) and
		.linux.uidMappings[0].containerID == 0 and .linux.uidMappings[0].hostID == $u and
		.linux.gidMappings[0].size >= 1' config.json
}

@test "spec declares runtime-spec 1.2" {
	hull_only "hull implements runtime-spec 1.2"
	mkdir "$BATS_TEST_TMPDIR/gen"
	cd "$BATS_TEST_TMPDIR/gen"
	hull spec
	jq -e '.ociVersion | test("^1\\.2\\.")' config.json
}
