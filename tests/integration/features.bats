#!/usr/bin/env bats
# features: the runtime-spec "features" document.

load helpers

@test "features prints the features JSON" {
	run --separate-stderr hull features
	assert_success
	echo "$output" | jq -e '
		(.ociVersionMin | test("^1\\.")) and (.ociVersionMax | test("^1\\.")) and
		(.hooks | sort) == (["createContainer","createRuntime","poststart","poststop","prestart","startContainer"]) and
		(.mountOptions | index("bind") != null and index("ro") != null) and
		(.linux.namespaces | index("pid") != null and index("user") != null) and
		(.linux.capabilities | index("CAP_SYS_ADMIN") != null) and
		.linux.seccomp.enabled == true and
		(.linux.seccomp.actions | index("SCMP_ACT_NOTIFY") != null) and
		(.linux.seccomp.operators | index("SCMP_CMP_MASKED_EQ") != null)'
}

@test "features lists the capabilities this kernel knows" {
	last=$(cat /proc/sys/kernel/cap_last_cap)
	run hull features
	echo "$output" | jq -e --argjson n $((last + 1)) '.linux.capabilities | length == $n'
}

@test "features declares runtime-spec 1.2 with time namespaces" {
	hull_only "hull's features JSON"
	run hull features
	assert_success
	echo "$output" | jq -e '
		(.ociVersionMax | test("^1\\.2\\.")) and
		(.linux.namespaces | index("time") != null) and
		(.linux.namespaces | sort) == (["cgroup","ipc","mount","network","pid","time","user","uts"]) and
		.linux.cgroup.v2 == true and .linux.cgroup.systemd == true and
		(.annotations | type) == "object"'
}

@test "features takes no arguments" {
	hull_only "hull rejects stray arguments"
	run --separate-stderr hull features extra
	assert_one_line_error
}
