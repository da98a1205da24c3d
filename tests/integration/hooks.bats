#!/usr/bin/env bats
# hooks: every kind gets the state on stdin; failure and timeout semantics.

load helpers

# The hooks write under $HOOKDIR, which is also bind-mounted at the same path
# inside the container, so hooks that run in the container write there too.
setup() {
	setup_common
	HOOKDIR=$BATS_TEST_TMPDIR/hooks
	mkdir -p "$HOOKDIR"
	private_rootfs
	update_config '.mounts += [{"destination": $d, "type": "bind", "source": $d, "options": ["rbind"]}]' --arg d "$HOOKDIR"
}

# hook KIND SCRIPT [TIMEOUT]: append a /bin/sh -c SCRIPT hook of KIND.
hook() {
	local h
	h=$(jq -nc --arg s "$2" --arg t "${3:-}" '{path: "/bin/sh", args: ["sh", "-c", $s], env: ["HOOKVAR=hv"]}
		+ (if $t == "" then {} else {timeout: ($t | tonumber)} end)')
	update_config ".hooks.$1 += [\$h]" --argjson h "$h"
}

# record KIND: a hook that saves its stdin and appends KIND to the order file.
record() {
	hook "$1" "cat > $HOOKDIR/$1.json; echo $1 >> $HOOKDIR/order"
}

@test "every hook kind runs in lifecycle order with the state on stdin" {
	for k in prestart createRuntime createContainer startContainer poststart poststop; do
		record "$k"
	done
	id=$(new_id)
	create_ctr "$id" "$HELPER" sleep 100 "$id"
	hull start "$id"
	wait_for_status "$id" running
	hull delete --force "$id"
	run cat "$HOOKDIR/order"
	if runtime_is_runc; then
		# runc 1.1 races startContainer (in the container) against poststart
		run sort "$HOOKDIR/order"
		assert_output "$(printf '%s\n' createContainer createRuntime poststart poststop prestart startContainer)"
	else
		assert_output "$(printf '%s\n' prestart createRuntime createContainer startContainer poststart poststop)"
	fi
	for k in prestart createRuntime createContainer startContainer poststart poststop; do
		jq -e --arg id "$id" --arg b "$BUNDLE" '.id == $id and .bundle == $b and (.ociVersion | type) == "string"' \
			"$HOOKDIR/$k.json" || fail "$k: $(cat "$HOOKDIR/$k.json")"
	done
	# the hooks that run while the process is alive see its pid
	pid_of() { jq -r .pid "$HOOKDIR/$1.json"; }
	[[ $(pid_of prestart) -gt 0 && $(pid_of prestart) == $(pid_of poststart) ]]
}

@test "hooks get their args and env" {
	hook prestart "echo \"\$0 \$HOOKVAR\" > $HOOKDIR/env"
	run_helper exit 0
	assert_success
	run cat "$HOOKDIR/env"
	assert_output "sh hv"
}

@test "the state given to poststart says running" {
	runtime_is_runc && skip "runc 1.1 passes status created to poststart"
	record poststart
	id=$(new_id)
	start_detached "$id" "$HELPER" sleep 100 "$id"
	for _ in $(seq 50); do [[ -s $HOOKDIR/poststart.json ]] && break; sleep 0.1; done
	run jq -r .status "$HOOKDIR/poststart.json"
	assert_output running
}

@test "a failing prestart hook aborts create and leaves nothing" {
	hook prestart "exit 3"
	record poststart
	id=$(new_id)
	set_args "$HELPER" sleep 100 "$id"
	run_nopipe hull create --bundle "$BUNDLE" "$id"
	assert_one_line_error 'prestart'
	assert_nothing_left "$id"
	[ ! -e "$HOOKDIR/poststart.json" ]
}

@test "a failing createRuntime hook aborts create and leaves nothing" {
	hook createRuntime "exit 1"
	id=$(new_id)
	set_args "$HELPER" sleep 100 "$id"
	run_nopipe hull create --bundle "$BUNDLE" "$id"
	assert_one_line_error 'createRuntime'
	assert_nothing_left "$id"
}

@test "a hook that runs past its timeout is killed and create fails" {
	naptime=30.$RANDOM
	hook prestart "exec sleep $naptime" 1
	id=$(new_id)
	set_args "$HELPER" sleep 100 "$id"
	SECONDS=0
	run_nopipe hull create --bundle "$BUNDLE" "$id"
	[[ $SECONDS -lt 15 ]] || fail "took $SECONDS s"
	assert_one_line_error 'prestart|timed out|timeout'
	assert_nothing_left "$id"
	run pgrep -f "sleep $naptime"
	assert_failure
}

@test "a failing poststart hook only warns; the container runs" {
	runtime_is_runc && skip "runc 1.1 fails start on a poststart error (runtime-spec 1.2 says warn)"
	hook poststart "exit 1"
	id=$(new_id)
	create_ctr "$id" "$HELPER" sleep 100 "$id"
	run_nopipe hull start "$id"
	assert_success
	assert_equal "$(state_field "$id" status)" running
}

@test "a failing poststop hook only warns; delete succeeds and leaves nothing" {
	hook poststop "exit 1"
	record poststop
	id=$(new_id)
	start_detached "$id" "$HELPER" exit 0
	wait_for_status "$id" stopped
	run hull delete "$id"
	assert_success
	assert_nothing_left "$id"
	# the hooks after the failing one still run (runtime-spec 1.2)
	runtime_is_runc || [ -s "$HOOKDIR/poststop.json" ]
}

@test "a hook path that does not exist fails create and leaves nothing" {
	update_config '.hooks.prestart = [{"path": "/does/not/exist"}]'
	id=$(new_id)
	set_args "$HELPER" sleep 100 "$id"
	run_nopipe hull create --bundle "$BUNDLE" "$id"
	assert_one_line_error '/does/not/exist'
	assert_nothing_left "$id"
}

@test "createContainer hooks run with their cwd in the container's rootfs" {
	hook createContainer "pwd -P > $HOOKDIR/cwd"
	run_helper exit 0
	assert_success
	run cat "$HOOKDIR/cwd"
	assert_output "$(realpath "$BUNDLE/rootfs")"
}
