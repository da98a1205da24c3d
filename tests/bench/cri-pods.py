#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""cri-pods.py SOCKET RUNS HANDLER...: for each HANDLER, RUNS pods (after one
warm-up pod) through the CRI plugin on SOCKET, timed from this side of the
gRPC socket as the kubelet sees them: RunPodSandbox (the pause container and
CNI), then CreateContainer + StartContainer of one container (sleep), then
StopPodSandbox + RemovePodSandbox.  Prints one line per handler:
HANDLER run_mean run_sd ctr_mean ctr_sd stop_mean stop_sd (milliseconds)."""
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cri"))
import importlib.util  # noqa: E402

spec = importlib.util.spec_from_file_location(
    "cri_client", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cri", "cri-client.py"))
cri_client = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cri_client)


def pod(c, handler, n, logs, cgroup):
    pcfg = {"metadata": {"name": f"bench-{handler}-{n}", "uid": f"uid-{handler}-{n}", "namespace": "bench"},
            "hostname": "bench", "log_directory": logs, "linux": {"cgroup_parent": cgroup}}
    t0 = time.monotonic()
    pid = c.call("RunPodSandbox", {"config": pcfg, "runtime_handler": handler})["pod_sandbox_id"]
    t1 = time.monotonic()
    cid = c.call("CreateContainer", {"pod_sandbox_id": pid, "sandbox_config": pcfg, "config": {
        "metadata": {"name": "c"}, "image": {"image": "localhost/hull-test:latest"},
        "command": ["sleep", "1000000"], "log_path": f"c-{n}.log"}})["container_id"]
    c.call("StartContainer", {"container_id": cid})
    t2 = time.monotonic()
    c.call("StopPodSandbox", {"pod_sandbox_id": pid})
    c.call("RemovePodSandbox", {"pod_sandbox_id": pid})
    t3 = time.monotonic()
    return (t1 - t0) * 1000, (t2 - t1) * 1000, (t3 - t2) * 1000


def main():
    sock, runs, handlers = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    logs = os.environ["CRI_BENCH_LOGS"]
    cgroup = os.environ["CRI_BENCH_CGROUP"]
    c = cri_client.Client(sock)
    for h in handlers:
        pod(c, h, 0, logs, cgroup)  # warm-up: the shim binary and image in the page cache
        samples = [pod(c, h, n, logs, cgroup) for n in range(1, runs + 1)]
        out = [h]
        for i in range(3):
            xs = [s[i] for s in samples]
            out += [f"{statistics.mean(xs):.1f}", f"{statistics.stdev(xs) if len(xs) > 1 else 0:.1f}"]
        print(" ".join(out), flush=True)


if __name__ == "__main__":
    main()
