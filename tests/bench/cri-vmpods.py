#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""cri-vmpods.py SOCKET RUNS: the VM part of the pod benchmark (cri-vm.sh),
inside the test host.  Per round, interleaved (the order rotates each round,
after one warm-up round):
  bare    `hull vm run` of the pods' guest kernel, /init powering off at once
          ($BARE_CMD, a shell command line), process start to exit;
  hull-vm RunPodSandbox + CreateContainer + StartContainer of one container
          with the hull-vm handler (the shim, isolation = vm: the pod is one
          microVM), from the RunPodSandbox call to StartContainer's return;
  hull    the same with the hull handler (containerd's runc shim, BinaryName =
          hull: container isolation).
Each pod is stopped and removed after it is timed (not timed).  Then, for
each handler, one pod with two sleeping containers: the host memory of its
processes (the shim and every process below it, or naming the pod's or a
container's id), from /proc/PID/smaps, with and without the guest RAM mapping
("hull-guest-ram"); with the hull handler the containers' own `sleep`
processes are on the host, marked "workload".  Prints one JSON object on
stdout."""
import json
import os
import statistics
import subprocess
import sys
import time

spec_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cri")
import importlib.util  # noqa: E402

spec = importlib.util.spec_from_file_location("cri_client", os.path.join(spec_dir, "cri-client.py"))
cri_client = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cri_client)


def pcfg(handler, n, logs, cgroup):
    return {"metadata": {"name": f"vmb-{handler}-{n}", "uid": f"uid-vmb-{handler}-{n}", "namespace": "bench"},
            "hostname": "bench", "log_directory": logs, "linux": {"cgroup_parent": cgroup}}


def ctr(c, pod, cfg, name, n):
    cid = c.call("CreateContainer", {"pod_sandbox_id": pod, "sandbox_config": cfg, "config": {
        "metadata": {"name": name}, "image": {"image": "localhost/hull-test:latest"},
        "command": ["sleep", "1000000"], "log_path": f"{name}-{n}.log"}})["container_id"]
    c.call("StartContainer", {"container_id": cid})
    return cid


def end(c, pod):
    c.call("StopPodSandbox", {"pod_sandbox_id": pod})
    c.call("RemovePodSandbox", {"pod_sandbox_id": pod})


def pod_start(c, handler, n, logs, cgroup):
    cfg = pcfg(handler, n, logs, cgroup)
    t0 = time.monotonic()
    pod = c.call("RunPodSandbox", {"config": cfg, "runtime_handler": handler})["pod_sandbox_id"]
    t1 = time.monotonic()
    ctr(c, pod, cfg, "c", n)
    t2 = time.monotonic()
    end(c, pod)
    return (t2 - t0) * 1000, (t1 - t0) * 1000


def bare(cmd):
    t0 = time.monotonic()
    r = subprocess.run(["bash", "-c", cmd], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=300)
    t1 = time.monotonic()
    if r.returncode != 0:
        sys.exit(f"cri-vmpods: the bare boot failed ({r.returncode}): {r.stderr.decode()[-2000:]}")
    return (t1 - t0) * 1000


def procs():
    """pid -> (ppid, comm, cmdline) of every process."""
    out = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                st = f.read()
            with open(f"/proc/{p}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        comm = st[st.index("(") + 1:st.rindex(")")]
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        out[int(p)] = (ppid, comm, cmd)
    return out


def smaps(pid):
    """(rss, rss_guest, pss, pss_guest, private, private_guest) in KiB, threads."""
    v = [0] * 6
    guest = False
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            w = line.split()
            if not w:
                continue
            if not w[0].endswith(":"):
                guest = "hull-guest-ram" in line
                continue
            k = {"Rss:": 0, "Pss:": 2, "Private_Clean:": 4, "Private_Dirty:": 4}.get(w[0])
            if k is None:
                continue
            v[k] += int(w[1])
            if guest:
                v[k + 1] += int(w[1])
    with open(f"/proc/{pid}/status") as f:
        thr = next(int(l.split()[1]) for l in f if l.startswith("Threads:"))
    return v, thr


def memory(c, logs, cgroup, sock, handler):
    cfg = pcfg(handler, "mem", logs, cgroup)
    pod = c.call("RunPodSandbox", {"config": cfg, "runtime_handler": handler})["pod_sandbox_id"]
    try:
        ids = [pod, ctr(c, pod, cfg, "a", "mem"), ctr(c, pod, cfg, "b", "mem")]
        time.sleep(5)  # let the guest settle
        ps = procs()
        # the pod's shim(s): containerd's only ones now (every other pod is gone)
        roots = {p for p, (_, _, cmd) in ps.items() if f"-address {sock}" in cmd}
        roots |= {p for p, (_, _, cmd) in ps.items() if any(i in cmd for i in ids)}
        sel = set(roots)
        grew = True
        while grew:
            new = {p for p, (pp, _, _) in ps.items() if pp in sel} - sel
            grew = bool(new)
            sel |= new
        rows = []
        for p in sorted(sel):
            try:
                v, thr = smaps(p)
            except OSError:
                continue
            # a container's own process on the host (container isolation:
            # ctr()'s command) is the workload, not the runtime's overhead;
            # the pause image's `sleep 2147483647` is the sandbox's, counted
            rows.append({"pid": p, "comm": ps[p][1], "cmd": ps[p][2][:160], "threads": thr, "kib": v,
                         "workload": ps[p][2].split() == ["sleep", "1000000"]})
        return rows
    finally:
        end(c, pod)


def main():
    sock, runs = sys.argv[1], int(sys.argv[2])
    logs, cgroup, bare_cmd = os.environ["CRI_BENCH_LOGS"], os.environ["CRI_BENCH_CGROUP"], os.environ["BARE_CMD"]
    c = cri_client.Client(sock)
    kinds = ["bare", "hull-vm", "hull"]
    res = {k: [] for k in kinds}
    run_sandbox = {"hull-vm": [], "hull": []}
    load = []
    for i in range(runs + 1):  # round 0: warm-up
        load.append(open("/proc/loadavg").read().split()[0])
        order = kinds[i % 3:] + kinds[:i % 3]
        for k in order:
            if k == "bare":
                t = bare(bare_cmd)
            else:
                t, ts = pod_start(c, k, i, logs, cgroup)
                if i:
                    run_sandbox[k].append(ts)
            if i:
                res[k].append(t)
            print(f"round {i} {k}: {t:.0f} ms", file=sys.stderr, flush=True)
    ratios = [v / b for v, b in zip(res["hull-vm"], res["bare"])]
    mem = {h: memory(c, logs, cgroup, sock, h) for h in ("hull-vm", "hull")}
    print(json.dumps({"runs": runs, "times": res, "run_sandbox": run_sandbox, "ratios": ratios,
                      "ratio_median": statistics.median(ratios), "load": load, "memory": mem}))


if __name__ == "__main__":
    main()
