#!/usr/bin/env bats
# hull agent: the guest's PID 1, driven without a VM.  `hull agent
# --listen-unix SOCK` serves the agent protocol (guest/guest.h) on a Unix
# socket and skips the PID-1 set-up; it runs in its own mount and pid
# namespaces (its pid 1, as in the guest), and tests/integration/
# agent-client.py speaks the protocol to it.  The VM end to end is
# tests/integration/testhost/vmcontainer.bats.

load helpers

CLIENT=$REPO/tests/integration/agent-client.py

setup() {
	hull_only "the guest agent"
	setup_common
	SOCK=$BATS_TEST_TMPDIR/agent.sock
	mkdir -p "$BATS_TEST_TMPDIR/run"
	# The containers' pids are the agent namespace's: never teardown_common's
	# host-side kill of their ids (IDS_FILE stays empty).
	unshare --mount --pid --fork --mount-proc --propagation private \
		"$RUNTIME" --root "$ROOT" agent --listen-unix "$SOCK" --run-dir "$BATS_TEST_TMPDIR/run" \
		>"$BATS_TEST_TMPDIR/agent.log" 2>&1 </dev/null &
	AGENT=$!
	local i
	for ((i = 0; i < 200; i++)); do
		[[ -S $SOCK ]] && return 0
		kill -0 "$AGENT" 2>/dev/null || break
		sleep 0.05
	done
	fail "the agent did not listen: $(cat "$BATS_TEST_TMPDIR/agent.log")"
}

teardown() {
	# shutdown: delete --force of every container the agent made, then it exits.
	if [[ -n ${AGENT:-} ]]; then
		"$CLIENT" "$SOCK" shutdown >/dev/null 2>&1 || true
		wait "$AGENT" 2>/dev/null || true
		kill_descendants "$AGENT"
		kill -KILL "$AGENT" 2>/dev/null || true
	fi
	teardown_common
}

# Container ids carry this prefix (other suites run beside this one, and
# cgroup paths are named after ids); the tests write the short names.
PFX=hull-agent-$$-

# agent OP [JSON]: one request; $output is the response line.
agent() {
	run "$CLIENT" "$SOCK" "$1" ${2:+"${2//\"id\":\"/\"id\":\"$PFX}"}
}

# request_for ID: a create request's JSON for $BUNDLE/config.json.
request_for() {
	jq -nc --arg id "$PFX$1" --rawfile c "$BUNDLE/config.json" '{id: $id, config: $c}'
}

# create_bg ID [client flags]: create over a connection that stays open and
# relays the container's stdio: $BATS_TEST_TMPDIR/ID.{resp,out,err,rc}.
create_bg() {
	local id=$1
	shift
	local d=$BATS_TEST_TMPDIR
	# (bats runs this with set -e: the status goes through rc, not $?)
	(rc=0; "$CLIENT" --response "$d/$id.resp" "$@" "$SOCK" create "$(request_for "$id")" \
		>"$d/$id.out" 2>"$d/$id.err" </dev/null || rc=$?; echo $rc >"$d/$id.rc") &
	for ((i = 0; i < 600; i++)); do
		[[ -s $d/$id.resp || -s $d/$id.rc ]] && break
		sleep 0.05
	done
	[[ -s $d/$id.resp ]] || fail "no create response: $(cat "$d/$id.err")"
}

# wait_rc ID: the EXIT code the create connection got.
wait_rc() {
	local i
	for ((i = 0; i < 2000; i++)); do
		[[ -s $BATS_TEST_TMPDIR/$1.rc ]] && break
		sleep 0.05
	done
	cat "$BATS_TEST_TMPDIR/$1.rc"
}

exec_req() {
	jq -nc --arg id "$PFX$1" --argjson args "$2" \
		'{id: $id, process: {args: $args, cwd: "/", env: ["PATH=/bin:/usr/bin", "TERM=dumb"], user: {uid: 0, gid: 0}}}'
}

@test "agent: create, start, stdio through pipes, EXIT carries the status" {
	set_args /bin/sh -c 'echo out; echo err >&2; read x; echo "got $x"; exit 7'
	create_bg c1 --stdin $'hello\n'
	run jq -e '.ok == true and .pid > 1' "$BATS_TEST_TMPDIR/c1.resp"
	assert_success
	agent state '{"id":"c1"}'
	assert_success
	assert_output --partial '"status": "created"'
	agent start '{"id":"c1"}'
	assert_success
	assert_equal "$(wait_rc c1)" 7
	assert_equal "$(cat "$BATS_TEST_TMPDIR/c1.out")" $'out\ngot hello'
	assert_equal "$(cat "$BATS_TEST_TMPDIR/c1.err")" err
	agent state '{"id":"c1"}'
	assert_output --partial '"status": "stopped"'
	agent delete '{"id":"c1"}'
	assert_success
	agent state '{"id":"c1"}'
	assert_failure
	assert_output --partial '"errno": 2'
	[[ ! -e $BATS_TEST_TMPDIR/run/bundles/${PFX}c1 ]]
}

@test "agent: exit 0 is EXIT 0; a container killed by a signal is 128+n" {
	set_args "$HELPER" exit 0
	create_bg c0
	agent start '{"id":"c0"}'
	assert_equal "$(wait_rc c0)" 0
	set_args /bin/sleep 1000
	create_bg s1
	agent start '{"id":"s1"}'
	agent kill '{"id":"s1","signal":9}'
	assert_success
	assert_equal "$(wait_rc s1)" 137
}

@test "agent: exec with pipes and with a tty; ps, stats, update" {
	set_args /bin/sleep 1000
	create_bg s2
	agent start '{"id":"s2"}'
	run "$CLIENT" --response "$BATS_TEST_TMPDIR/e.resp" "$SOCK" exec \
		"$(exec_req s2 '["/bin/sh","-c","echo hi; echo bad >&2; exit 3"]')"
	assert_equal "$status" 3
	assert_output --partial hi
	run jq -e '.ok == true and .pid > 1' "$BATS_TEST_TMPDIR/e.resp"
	assert_success
	# a tty: the RESIZE frame sets its size, stdout carries the terminal
	run "$CLIENT" --tty --resize 33x77 --stdin $'stty size; tty; exit 4\n' "$SOCK" exec \
		"$(exec_req s2 '["/bin/sh"]')"
	assert_equal "$status" 4
	assert_output --partial $'33 77\r'
	assert_output --partial /dev/pts/
	agent ps '{"id":"s2"}'
	assert_success
	run jq -e '.pids | length == 1' <<<"$output"
	assert_success
	agent update '{"id":"s2","resources":{"pids":{"limit":55}}}'
	assert_success
	agent stats '{"id":"s2"}'
	assert_success
	run jq -e '.stats.pids.limit == 55' <<<"$output"
	assert_success
	agent kill '{"id":"s2","signal":9,"all":true}'
	assert_success
	assert_equal "$(wait_rc s2)" 137
}

@test "agent: create with a tty" {
	set_args /bin/sh -c 'stty size; tty; exit 5'
	update_config '.process.terminal = true'
	create_bg t1 --tty --resize 20x90
	agent start '{"id":"t1"}'
	assert_equal "$(wait_rc t1)" 5
	run cat "$BATS_TEST_TMPDIR/t1.out"
	assert_output --partial /dev/pts/
}

@test "agent: failures answer ok=false with hull's message and errno" {
	agent start '{"id":"nope"}'
	assert_failure
	assert_output --partial 'nope\" does not exist'
	agent bogus
	assert_output '{"ok": false, "error": "unknown op \"bogus\": Invalid argument", "errno": 22}'
	agent state '{"id":7}'
	assert_output --partial 'request.id: expected string, got integer'
	agent state '{"id":"../x"}'
	assert_output --partial 'invalid container id'
	agent kill '{"id":"x","signal":"KILL"}'
	assert_output --partial 'request.signal: expected integer'
	run "$CLIENT" "$SOCK" create "{\"id\":\"${PFX}bad1\",\"config\":\"{not json\"}"
	assert_failure
	assert_output --partial '"ok": false'
	[[ ! -e $BATS_TEST_TMPDIR/run/bundles/${PFX}bad1 ]]
	# the same id twice: the second create fails, the first container stays
	set_args /bin/sleep 1000
	create_bg d1
	run "$CLIENT" "$SOCK" create "$(request_for d1)"
	assert_failure
	assert_output --partial '"errno": 17'
	agent state '{"id":"d1"}'
	assert_output --partial '"status": "created"'
}

@test "agent: hostile frames close only their connection" {
	# a wrong version is answered, then the connection closes
	run "$CLIENT" "$SOCK" state '{"v":2,"id":"x"}'
	assert_failure
	assert_output --partial '"errno": 71'
	# oversize length, unknown type, nonzero reserved byte, JSON that is not
	# an object, a header cut short: nothing comes back
	local bad
	for bad in 0000110001000000 0000000009000000 02000000010000017b7d 02000000010000005b5d 0100; do
		run "$CLIENT" --raw "$SOCK" "$bad"
		assert_success
		assert_output ''
	done
	# and the agent still serves
	agent state '{"id":"none"}'
	assert_output --partial '"errno": 2'
}

@test "agent: the host closing a create connection does not kill the container" {
	set_args /bin/sleep 1000
	"$CLIENT" --detach --response "$BATS_TEST_TMPDIR/k.resp" "$SOCK" create "$(request_for k1)"
	agent start '{"id":"k1"}'
	agent state '{"id":"k1"}'
	assert_output --partial '"status": "running"'
	agent delete '{"id":"k1","force":true}'
	assert_success
	agent state '{"id":"k1"}'
	assert_failure
}

@test "agent: several connections at once" {
	set_args /bin/sleep 1000
	local i
	for i in 1 2 3; do create_bg m$i; done
	for i in 1 2 3; do agent start "{\"id\":\"m$i\"}"; done
	# three stdio connections stay open while execs run beside them
	for i in 1 2 3; do
		run "$CLIENT" --response "$BATS_TEST_TMPDIR/m$i.exec" "$SOCK" exec \
			"$(exec_req m$i '["/bin/sh","-c","echo m'$i'"]')"
		assert_success
		assert_output m$i
	done
	for i in 1 2 3; do agent kill "{\"id\":\"m$i\",\"signal\":9}"; done
	for i in 1 2 3; do assert_equal "$(wait_rc m$i)" 137; done
}

@test "agent: the container's processes get stdio only, none of the agent's fds" {
	set_args "$HELPER" fds
	create_bg f1
	agent start '{"id":"f1"}'
	assert_equal "$(wait_rc f1)" 0
	run cat "$BATS_TEST_TMPDIR/f1.out"
	assert_equal "${#lines[@]}" 3
	assert_line --index 0 --regexp '^0 pipe:'
	assert_line --index 1 --regexp '^1 pipe:'
	assert_line --index 2 --regexp '^2 pipe:'
	set_args /bin/sleep 1000
	create_bg f2
	agent start '{"id":"f2"}'
	run "$CLIENT" --response "$BATS_TEST_TMPDIR/f.resp" "$SOCK" exec "$(exec_req f2 "[\"$HELPER\",\"fds\"]")"
	assert_success
	assert_equal "${#lines[@]}" 3
	assert_line --index 0 --regexp '^0 pipe:'
	assert_line --index 2 --regexp '^2 pipe:'
}

@test "agent: oom counts the container's OOM kills; a watch answers at the next one" {
	update_config '.linux.resources.memory = {"limit": 33554432}'
	set_args /bin/sleep 1000
	create_bg o1
	agent start '{"id":"o1"}'
	agent oom '{"id":"o1"}'
	assert_success
	run jq -e '.oom_kill == 0' <<<"$output"
	assert_success
	# a watch past the current count answers only once the count passes it
	("$CLIENT" "$SOCK" oom "{\"id\":\"${PFX}o1\",\"after\":0}" >"$BATS_TEST_TMPDIR/w.out" 2>&1 </dev/null
	 echo $? >"$BATS_TEST_TMPDIR/w.rc") 3>&- &
	# The hog and its pipeline ask the OOM killer to take them first: when
	# the first victim's memory is not freed in time (a busy machine), the
	# kernel takes a second task of the cgroup, and it must not be init.
	run "$CLIENT" --response "$BATS_TEST_TMPDIR/x.resp" "$SOCK" exec \
		"$(exec_req o1 '["/bin/sh","-c","echo 1000 >/proc/self/oom_score_adj; x=$(head -c 200000000 /dev/zero | tr \"\\0\" a); echo survived"]')"
	[[ $status -eq 137 ]] || fail "exec: status $status: $output"
	local i
	for ((i = 0; i < 2000; i++)); do
		[[ -s $BATS_TEST_TMPDIR/w.rc ]] && break
		sleep 0.05
	done
	assert_equal "$(cat "$BATS_TEST_TMPDIR/w.rc")" 0
	run jq -e '.oom_kill >= 1' "$BATS_TEST_TMPDIR/w.out"
	assert_success
	# the container lives on; a bad "after" and an unknown id are errors
	agent state '{"id":"o1"}'
	[[ $output == *'"status": "running"'* ]] ||
		fail "the container did not live on: $output; the kernel's last OOM kills: $(dmesg | grep 'Killed process' | tail -n 4)"
	agent oom '{"id":"o1","after":"x"}'
	assert_output --partial 'request.after: expected'
	agent oom '{"id":"none","after":3}'
	assert_failure
	assert_output --partial '"errno": 2'
}

@test "agent: exec's cgroups go to exec --cgroup; bad values are refused" {
	set_args /bin/sleep 1000
	create_bg g1
	agent start '{"id":"g1"}'
	local req
	req=$(exec_req g1 '["/bin/true"]' | jq -c '.cgroups = ["nosuch"]')
	run "$CLIENT" "$SOCK" exec "$req"
	assert_failure
	assert_output --partial '--cgroup: '
	assert_output --partial 'nosuch'
	req=$(exec_req g1 '["/bin/true"]' | jq -c '.cgroups = [""]')
	run "$CLIENT" "$SOCK" exec "$req"
	assert_failure
	assert_output --partial 'request.cgroups[0]: expected a non-empty string'
	req=$(exec_req g1 '["/bin/true"]' | jq -c '.cgroups = [range(17) | "a"]')
	run "$CLIENT" "$SOCK" exec "$req"
	assert_failure
	assert_output --partial 'request.cgroups: more than 16'
}
