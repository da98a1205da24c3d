# SPDX-License-Identifier: Apache-2.0
# Shared setup for the OCI CLI suites.
#
# The runtime under test is $HULL (default build/bin/hull); the same suites run
# against Debian's runc to check the tests themselves:  HULL=/usr/sbin/runc bats tests/integration
# Tests of hull-only behaviour (message format, features JSON, version lines)
# call `hull_only`, which skips only when the runtime is runc.
#
# Each test gets its own --root ($ROOT), bundle dir ($BUNDLE, whose config
# points at the shared read-only rootfs) and container ids from new_id; the
# teardown force-deletes every id it handed out, so nothing leaks on failure.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
bats_require_minimum_version 1.5.0

# Every test is bounded (bounded.bash: BATS_TEST_TIMEOUT, every descendant
# of the timed-out test killed).  Here the test's containers go too: called by
# bats' countdown subshell, forked before setup() ran, so ROOT and IDS_FILE
# are found from BATS_TEST_TMPDIR; delete --force thaws and kills them (a
# process in a frozen v1 cgroup does not even die of SIGKILL until thawed),
# and a hull among the first descendants killed may have held their lock.
source "$(dirname "${BASH_SOURCE[0]}")/bounded.bash"
bats_kill_childprocesses_of() {
	local parent=$1
	kill_descendants "$parent"
	ROOT=${ROOT:-$BATS_TEST_TMPDIR/root} IDS_FILE=${IDS_FILE:-$BATS_TEST_TMPDIR/ids} \
		teardown_common >/dev/null 2>&1 || true
	kill_descendants "$parent"
}

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RUNTIME=${HULL:-$REPO/build/bin/hull}
[[ $RUNTIME == */* ]] || RUNTIME=$(command -v "$RUNTIME" || echo "$RUNTIME")
[[ $RUNTIME == /* ]] || RUNTIME=$REPO/$RUNTIME
BASE_BUNDLE=${HULL_BUNDLE:-$REPO/build/bundle}
[[ $BASE_BUNDLE == /* ]] || BASE_BUNDLE=$REPO/$BASE_BUNDLE
HELPER=/bin/hull-test-helper # path inside the container
HOST_HELPER=$BASE_BUNDLE/rootfs/bin/hull-test-helper

runtime_is_runc() {
	[[ $(basename "$RUNTIME") == runc* ]]
}

# Skip only when validating the tests against runc; never when testing hull.
hull_only() {
	if runtime_is_runc; then
		skip "hull-specific behaviour (${1:-message format}); runtime is runc"
	fi
}

# Expected prefix of a one-line error (runc prints its own format).
err_prefix() {
	if runtime_is_runc; then echo ''; else echo '^hull: '; fi
}

setup_common() {
	[[ -x $RUNTIME ]] || fail "runtime $RUNTIME not built"
	[[ -f $BASE_BUNDLE/config.json ]] || fail "bundle $BASE_BUNDLE missing: run make bundle"
	ROOT=$BATS_TEST_TMPDIR/root
	BUNDLE=$BATS_TEST_TMPDIR/bundle
	IDS_FILE=$BATS_TEST_TMPDIR/ids
	mkdir -p "$BUNDLE"
	: >"$IDS_FILE"
	jq --arg r "$BASE_BUNDLE/rootfs" '.root.path = $r' "$BASE_BUNDLE/config.json" >"$BUNDLE/config.json"
	mounts_baseline
}

# The host's mounts that assert_nothing_left compares with: setup takes them;
# a test that mounts objects of its own on the host (ip netns add) takes them
# again after.
mounts_baseline() {
	MOUNTS_BEFORE=$(wc -l </proc/self/mountinfo)
	cp /proc/self/mountinfo "$BATS_TEST_TMPDIR/mountinfo.before"
}

teardown_common() {
	local id
	[[ -f ${IDS_FILE:-/nonexistent} ]] || return 0
	while read -r id; do
		[[ -n $id ]] || continue
		"$RUNTIME" --root "$ROOT" kill "$id" KILL >/dev/null 2>&1 || true
		"$RUNTIME" --root "$ROOT" delete --force "$id" >/dev/null 2>&1 || true
	done <"$IDS_FILE"
	# a process left behind by a failed test is still ours: it carries the id
	while read -r id; do
		[[ -n $id ]] && pkill -KILL -f -- "$id" 2>/dev/null || true
	done <"$IDS_FILE"
}

setup() { setup_common; }
teardown() { teardown_common; }

# run_nopipe CMD...: `run --separate-stderr` through files: a container that
# unexpectedly starts would otherwise hold the bats pipe open forever.
run_nopipe() {
	local o=$BATS_TEST_TMPDIR/run.out e=$BATS_TEST_TMPDIR/run.err
	status=0
	"$@" >"$o" 2>"$e" </dev/null || status=$?
	output=$(cat "$o")
	stderr=$(cat "$e")
	mapfile -t lines <"$o"
	mapfile -t stderr_lines <"$e"
}

# jail_uid ID: the uid (and gid) the jailed VMM of VM container ID was
# given: its claim ROOT/@vm-uids/UID -> ID (docs/vm-containers.md, "The
# jail's uid"); status 1 when there is none.
jail_uid() {
	local l
	for l in "$ROOT"/@vm-uids/*; do
		if [[ -L $l && $(readlink "$l") == "$1" ]]; then
			echo "${l##*/}"
			return 0
		fi
	done
	return 1
}

# A fresh container id, remembered for teardown.
new_id() {
	local id="hull-t${BATS_TEST_NUMBER}-$$-$RANDOM"
	echo "$id" >>"$IDS_FILE"
	echo "$id"
}

# The runtime with this test's --root.
hull() {
	"$RUNTIME" --root "$ROOT" "$@"
}

# update_config JQ_FILTER [jq args...]: edit $BUNDLE/config.json in place.
update_config() {
	local filter=$1
	shift
	jq "$filter" "$BUNDLE/config.json" "$@" >"$BUNDLE/config.json.new" &&
		mv "$BUNDLE/config.json.new" "$BUNDLE/config.json"
}

# set_args ARG...: process.args.
set_args() {
	update_config '.process.args = $a' --argjson a "$(json_array "$@")"
}

# json_array ARG...: a JSON array of strings (jq's --args would eat "-c").
json_array() {
	local i=0 a jqargs=() names=()
	for a in "$@"; do
		jqargs+=(--arg "a$i" "$a")
		names+=("\$a$i")
		i=$((i + 1))
	done
	jq -nc "${jqargs[@]}" "[$(IFS=,; echo "${names[*]}")]"
}

# run_ctr ARG...: run a foreground container with these args; output in $output.
run_ctr() {
	set_args "$@"
	CID=$(new_id)
	run hull run --bundle "$BUNDLE" "$CID" </dev/null
}

# run_helper SUBCOMMAND ARG...: run_ctr with hull-test-helper.
run_helper() {
	run_ctr "$HELPER" "$@"
}

# start_detached ID ARG...: `run -d` with output to $BATS_TEST_TMPDIR/ID.out
# (never through a bats pipe: the container would hold it open).
start_detached() {
	local id=$1
	shift
	set_args "$@"
	hull run -d --bundle "$BUNDLE" "$id" >"$BATS_TEST_TMPDIR/$id.out" 2>&1 </dev/null
}

# create_ctr ID ARG...: create (not started), output to $BATS_TEST_TMPDIR/ID.out.
create_ctr() {
	local id=$1
	shift
	set_args "$@"
	hull create --bundle "$BUNDLE" "$id" >"$BATS_TEST_TMPDIR/$id.out" 2>&1 </dev/null
}

ctr_output() {
	cat "$BATS_TEST_TMPDIR/$1.out"
}

# wait_for_output ID TEXT [SECONDS]: until the container printed a line TEXT.
wait_for_output() {
	local i n=$((${3:-10} * 20))
	for ((i = 0; i < n; i++)); do
		grep -qx -- "$2" "$BATS_TEST_TMPDIR/$1.out" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "container $1 never printed '$2'; output:" >&2
	cat "$BATS_TEST_TMPDIR/$1.out" >&2
	return 1
}

# assert_paused_counter_resumes ID SECONDS [TIMEOUT]: the counter a paused
# container prints (hull-test-helper count) stays still for SECONDS; after
# `resume` the status is running and it counts on (within TIMEOUT seconds).
assert_paused_counter_resumes() {
	local before after
	before=$(ctr_output "$1" | tail -n1)
	sleep "$2"
	after=$(ctr_output "$1" | tail -n1)
	assert_equal "$after" "$before"
	run hull resume "$1"
	assert_success
	run state_field "$1" status
	assert_output running
	wait_for_output "$1" $((after + 3)) "${3:-10}"
}

# wait_for_pgrep PATTERN [SECONDS]: until a process's command line matches
# (a detached exec returns before the process has exec'd its binary).
wait_for_pgrep() {
	local i n=$((${2:-10} * 20))
	for ((i = 0; i < n; i++)); do
		pgrep -f -- "$1" >/dev/null && return 0
		sleep 0.05
	done
	echo "no process matches '$1'" >&2
	return 1
}

# pause_at PHASE CMD...: run `hull CMD` in the background with the pause
# point PHASE (hull's HULL_TEST_PAUSE, docs/testing.md); returns once it
# stopped there (its pid in HPID, its output in $BATS_TEST_TMPDIR/paused.out).
# Fails if hull ended without reaching it.  Signals get their default action
# (a background job of a script starts with SIGINT ignored).
pause_at() {
	local phase=$1 i st
	shift
	HULL_TEST_PAUSE=$phase env --default-signal "$RUNTIME" --root "$ROOT" "$@" \
		>"$BATS_TEST_TMPDIR/paused.out" 2>&1 </dev/null &
	HPID=$!
	for ((i = 0; i < 600; i++)); do
		st=$(awk '{ sub(/.*\) /, ""); print $1 }' "/proc/$HPID/stat" 2>/dev/null) || st=gone
		[[ $st == T ]] && return 0
		[[ $st == gone || $st == Z ]] && break
		sleep 0.05
	done
	fail "hull $* never stopped at $phase (state $st): $(cat "$BATS_TEST_TMPDIR/paused.out")"
}

# state_field ID FIELD: one field of `state` (status, pid, bundle, id).
state_field() {
	hull state "$1" | jq -r ".$2"
}

# wait_for_status ID STATUS [SECONDS]
wait_for_status() {
	local i n=$((${3:-10} * 20))
	for ((i = 0; i < n; i++)); do
		[[ $(state_field "$1" status 2>/dev/null) == "$2" ]] && return 0
		sleep 0.05
	done
	echo "container $1 status: $(hull state "$1" 2>&1)" >&2
	return 1
}

# The one-line error contract: exactly one line on stderr, hull's prefix, exit 1.
# Usage: run --separate-stderr hull ...; assert_one_line_error [REGEX]
assert_one_line_error() {
	if runtime_is_runc; then
		# runc's own format and codes (exec exits 255): only "it failed"
		[[ $status -ne 0 ]] || fail "succeeded, expected a failure"
		return 0
	fi
	[[ $status -eq ${ONE_LINE_STATUS:-1} ]] || fail "exit status $status, expected ${ONE_LINE_STATUS:-1}; stderr: $stderr"
	if true; then
		local lines
		lines=$(printf '%s\n' "$stderr" | grep -c . || true)
		[[ $lines -eq 1 ]] || fail "expected one line on stderr, got $lines: $stderr"
		[[ $stderr =~ ^hull:\ [^:]+:\ .+ ]] || fail "stderr is not 'hull: <what>: <why>': $stderr"
		if [[ -n ${1:-} ]]; then
			[[ $stderr =~ $1 ]] || fail "stderr does not match /$1/: $stderr"
		fi
	fi
}

# exec's own failures exit 255, as runc's do (usage errors keep 1), so that a
# caller can tell them from the process's status; for hull, one line as above.
assert_exec_error() {
	[[ $status -eq 255 ]] || fail "exit status $status, expected 255; stderr: $stderr"
	ONE_LINE_STATUS=255 assert_one_line_error "$@"
}

# Nothing left behind: no state under $ROOT for ID, no new host mount, no process.
assert_nothing_left() {
	local id=${1:-}
	if [[ -n $id ]]; then
		[[ ! -e $ROOT/$id ]] || fail "state dir $ROOT/$id left behind"
		run hull state "$id"
		[[ $status -ne 0 ]] || fail "container $id still known: $output"
		if pgrep -f -- "$id" >/dev/null; then
			fail "process left behind: $(pgrep -af -- "$id")"
		fi
	fi
	if [[ -d $ROOT ]]; then
		local left
		left=$(find "$ROOT" -mindepth 1 -maxdepth 1 -not -name '*.lock' | head -5)
		[[ -z $left ]] || fail "left under --root: $left"
	fi
	assert_no_new_host_mounts
	if pgrep -f -- "--root $ROOT" >/dev/null; then
		fail "runtime process left behind: $(pgrep -af -- "--root $ROOT")"
	fi
}

# No mount added to the host since setup that a container could have leaked:
# under the test's dirs, the bundle or --root, inside a rootfs, or on a path
# a container mounts (/proc, /sys, /dev...).  Under CI=true (nothing else runs
# on the machine) the host's mount count must not change at all.
assert_no_new_host_mounts() {
	local added
	added=$(awk 'NR == FNR { seen[$1] = 1; next } !($1 in seen) { print $5 }' 		"$BATS_TEST_TMPDIR/mountinfo.before" /proc/self/mountinfo |
		awk -v t="$BATS_TEST_TMPDIR" -v b="$BASE_BUNDLE" -v r="$ROOT" '
			index($0, t) == 1 || index($0, b) == 1 || index($0, r) == 1 || /\/rootfs(\/|$)/ ||
			/^\/(proc|sys|dev|tmp|run\/hull)(\/|$)/')
	if [[ -n $added ]]; then
		fail "mounts left on the host: $added"
		return 1
	fi
	if [[ ${CI:-} == true ]]; then
		local now
		now=$(wc -l </proc/self/mountinfo)
		[[ $now -eq $MOUNTS_BEFORE ]] ||
			fail "host mount count changed: $MOUNTS_BEFORE -> $now; added: $(awk 'NR == FNR { seen[$1] = 1; next } !($1 in seen) { printf "%s (%s) ", $5, $(NF - 2) }' \
				"$BATS_TEST_TMPDIR/mountinfo.before" /proc/self/mountinfo)"
	fi
}

# A private copy of the rootfs, for tests that change it.
private_rootfs() {
	cp -a "$BASE_BUNDLE/rootfs" "$BUNDLE/rootfs"
	update_config '.root.path = "rootfs"'
}

# ---- the console socket's receiving end (tests/helper/recvtty.c) ----------

# build_recvtty: in setup_file.
build_recvtty() {
	gcc -std=gnu17 -O2 -Wall -Wextra -Werror -o "$BATS_FILE_TMPDIR/recvtty" "$REPO/tests/helper/recvtty.c"
}

# start_recvtty [INPUT]: listen on $SOCK; output in $BATS_TEST_TMPDIR/tty.out.
start_recvtty() {
	SOCK=$BATS_TEST_TMPDIR/console.sock
	"$BATS_FILE_TMPDIR/recvtty" "$SOCK" "$@" >"$BATS_TEST_TMPDIR/tty.out" 2>"$BATS_TEST_TMPDIR/tty.err" &
	RECVTTY_PID=$!
	for _ in $(seq 100); do [[ -S $SOCK ]] && return 0; sleep 0.05; done
	fail "recvtty did not listen"
}

# wait_recvtty: its exit status, and the pty output without CRs in $output.
wait_recvtty() {
	local rc=0
	wait "$RECVTTY_PID" || rc=$?
	[[ $rc -eq 0 ]] || fail "recvtty failed ($rc): $(cat "$BATS_TEST_TMPDIR/tty.err") output: $(cat "$BATS_TEST_TMPDIR/tty.out")"
	run tr -d '\r' <"$BATS_TEST_TMPDIR/tty.out"
}

# Compile a C helper from tests/helper into $BATS_FILE_TMPDIR once per file.
build_c_helper() {
	local name=$1
	shift
	if [[ ! -x $BATS_FILE_TMPDIR/$name ]]; then
		gcc -std=gnu17 -O2 -Wall -Wextra -Werror -o "$BATS_FILE_TMPDIR/$name" \
			"$REPO/tests/helper/$name.c" "$@"
	fi
	echo "$BATS_FILE_TMPDIR/$name"
}

# ---- cgroups (tests/integration/cgroups.bats, testhost/cgroups-cli.bats) ----

# cgroup_dir PID CONTROLLER: the host directory of PID's cgroup for a v1
# CONTROLLER (pids, memory, cpu, freezer, devices...) read from
# /proc/PID/cgroup; on a pure cgroup v2 host, or with CONTROLLER "unified",
# the cgroup2 directory.
cgroup_dir() {
	local pid=$1 ctrl=$2 path
	if [[ $(stat -fc %T /sys/fs/cgroup) == cgroup2fs ]]; then
		path=$(sed -n 's/^0:://p' "/proc/$pid/cgroup")
		echo "/sys/fs/cgroup$path"
		return
	fi
	if [[ $ctrl == unified ]]; then
		path=$(sed -n 's/^0:://p' "/proc/$pid/cgroup")
		echo "/sys/fs/cgroup/unified$path"
		return
	fi
	path=$(awk -F: -v c="$ctrl" '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) { print $3; exit } }' \
		"/proc/$pid/cgroup")
	[[ -n $path ]] || return 1
	echo "/sys/fs/cgroup/$ctrl$path"
}

# cgroup_dirs_named NAME: every cgroup directory (any hierarchy) called NAME.
cgroup_dirs_named() {
	find /sys/fs/cgroup -maxdepth 7 -type d -name "$1" 2>/dev/null || true
}

# assert_no_cgroup NAME: no hierarchy has a directory NAME.
assert_no_cgroup() {
	local left
	left=$(cgroup_dirs_named "$1")
	[[ -z $left ]] || fail "cgroup left behind: $left"
}

# cgroup_top_listing: the top-level cgroup directories of every hierarchy
# and the children of this shell's own cgroup in each (hull's "hull" parent
# goes there), without what runtimes under test make ("hull", container ids
# "hull-t*") and podman's cgroupfs parent "libpod_parent" (podman.bats, when
# it runs alongside, makes and removes it): a suite must leave this listing as
# it found it.
cgroup_top_listing() {
	local d ctrl own v2=0
	[[ $(stat -fc %T /sys/fs/cgroup) == cgroup2fs ]] && v2=1
	{
		for d in /sys/fs/cgroup /sys/fs/cgroup/*; do
			[[ -f $d/cgroup.procs ]] && find "$d" -mindepth 1 -maxdepth 1 -type d
		done
		while IFS=: read -r _ ctrl own; do
			ctrl=${ctrl#name=}
			if [[ -z $ctrl ]]; then
				((v2)) && d=/sys/fs/cgroup$own || d=/sys/fs/cgroup/unified$own
			else
				d=/sys/fs/cgroup/${ctrl%%,*}$own
			fi
			[[ $own != / && -d $d ]] && find "$d" -mindepth 1 -maxdepth 1 -type d
		done </proc/self/cgroup
	} 2>/dev/null | grep -Ev '/(hull|hull-t[^/]*|libpod_parent)$' | sort -u
	true
}

# ---- exec --cgroup (cgroups.bats, testhost/cgroups-cli.bats) ----

# make_sub_cgroups NAME: a sub-cgroup NAME of the container's ($PID's) in each
# hierarchy that holds it (cpuset's gets its parent's cpus and mems).
make_sub_cgroups() {
	local d
	while IFS=: read -r _ ctrl path; do
		[[ $path == */"$CID" ]] || continue # not the container's own (name=systemd for hull)
		ctrl=${ctrl#name=}
		d=/sys/fs/cgroup/${ctrl%%,*}$path
		[[ -n $ctrl ]] || d=/sys/fs/cgroup/unified$path
		[[ $(stat -fc %T /sys/fs/cgroup) == cgroup2fs ]] && d=/sys/fs/cgroup$path
		mkdir "$d/$1"
		[[ $ctrl != cpuset ]] || { cp "$d/cpuset.cpus" "$d/$1/"; cp "$d/cpuset.mems" "$d/$1/"; }
	done <"/proc/$PID/cgroup"
}

# exec_cgroup_lines ARG...: `exec -d --pid-file` ARGS in $CID running a
# sleep; prints the exec'd process's /proc/PID/cgroup.
exec_cgroup_lines() {
	local pf=$BATS_TEST_TMPDIR/exec.pid
	rm -f "$pf"
	hull exec -d --pid-file "$pf" "$@" "$CID" "$HELPER" sleep 100 </dev/null >/dev/null 2>&1 || return 1
	cat "/proc/$(cat "$pf")/cgroup"
}

# expected_cgroups SUB CTRL...: $PID's /proc/PID/cgroup with SUB appended to
# the container's own cgroup in the hierarchies of CTRL... (all: every one).
expected_cgroups() {
	local sub=$1
	shift
	awk -F: -v OFS=: -v sub_="$sub" -v id="$CID" -v want=" $* " '
		{ n = split($2, a, ","); pick = want == " all "
		  for (i = 1; i <= n; i++) if (index(want, " " a[i] " ")) pick = 1
		  if (pick && $3 ~ ("/" id "$")) $3 = $3 "/" sub_; print }' "/proc/$PID/cgroup"
}

# start_with_resources RESOURCES_JSON ARG...: a detached container with these
# linux.resources running ARGS; sets CID and PID.
start_with_resources() {
	local res=$1
	shift
	update_config '.linux.resources = $r' --argjson r "$res"
	CID=$(new_id)
	start_detached "$CID" "$@" || fail "run -d failed: $(ctr_output "$CID")"
	PID=$(state_field "$CID" pid)
	[[ $PID =~ ^[0-9]+$ ]] || fail "no pid for $CID: $(hull state "$CID" 2>&1)"
}

# wait_for_match FILE REGEX [SECONDS]: until FILE has a line matching REGEX.
wait_for_match() {
	local i n=$((${3:-10} * 10))
	for ((i = 0; i < n; i++)); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	grep -q -- "$2" "$1" 2>/dev/null
}

# start_events ID FILE [SECONDS]: `events --interval 1s ID` in the background
# into FILE (the pipeline's pid in EVPID; capped at 1 MB so a runaway stream
# cannot fill the disk), returning once its first stats line says the stream
# and its OOM watch are set up.  No oom event may precede it.
start_events() {
	hull events --interval 1s "$1" </dev/null 2>&1 | head -c 1000000 >"$2" &
	EVPID=$!
	wait_for_match "$2" '"type": *"stats"' "${3:-10}" ||
		{ kill "$EVPID" 2>/dev/null; fail "no stats event from events $1 ($(grep -c '"type": *"oom"' "$2") oom lines, no OOM yet): $(head -c 300 "$2")"; }
	! grep -q '"type": *"oom"' "$2" ||
		fail "oom events before any OOM: $(grep -c '"type": *"oom"' "$2") lines, e.g. $(head -c 200 "$2")"
}

# device_probe HOST_NODE RULES_JSON: run a container with linux.resources.devices
# RULES_JSON and HOST_NODE bind-mounted at /dev/probe (so not a linux.devices
# entry); it opens /dev/probe write-only without writing, under `timeout` so a
# device whose open blocks cannot hang the suite, and prints OPENED or the
# shell's error, then NULL-OK if /dev/null (a default device) still works.
# A user namespace: container root is host uid/gid 100000.
use_user_namespace() {
	update_config '.linux.namespaces += [{"type": "user"}] |
		.linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}] |
		.linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]'
}

# listed_devices_write DEVICES_JSON PATH...: run a container with these
# linux.devices under a deny-all device cgroup; one line per PATH, the
# helper's write result (OK or the errno name).
listed_devices_write() {
	local devs=$1 p cmd=""
	shift
	update_config '.linux.devices = $d | .linux.resources.devices = [{"allow": false, "access": "rwm"}]' \
		--argjson d "$devs"
	for p in "$@"; do cmd+="timeout 10 $HELPER write $p x; "; done
	run_ctr /bin/sh -c "$cmd true"
}

device_probe() {
	update_config '.mounts += [{"destination": "/dev/probe", "type": "bind", "source": $n,
		"options": ["bind"]}] | .linux.resources.devices = $d' --arg n "$1" --argjson d "$2"
	run_ctr /bin/sh -c 'timeout 10 sh -c "exec 3>/dev/probe" 2>&1 && echo OPENED; echo x >/dev/null && echo NULL-OK'
}
