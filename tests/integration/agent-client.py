#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A test client of the agent protocol (guest/guest.h) over a Unix socket.

  agent-client.py SOCK OP [JSON]
      One request {"v":1,"op":OP, ...JSON's fields}; prints the response
      (one JSON line) on stdout; exit 0 when ok, 1 when not.
  agent-client.py [--tty] [--resize RxC] [--stdin TEXT] [--response FILE] [--detach] SOCK create|exec JSON
      Writes the response to FILE of --response FILE (else stderr), then relays: --stdin
      TEXT (or nothing) then EOF to the process, its STDOUT/STDERR frames to
      stdout/stderr; exits with the code of the EXIT frame (100 + 1 when the
      stream ended without one).  --detach: close after the response.
  agent-client.py --raw SOCK HEX
      Writes the bytes HEX, prints what comes back as hex (hostile input tests).
  --vsock (before the others): SOCK is a VMM's hybrid vsock socket: connect
      with "CONNECT 1024", retrying while the guest's agent does not listen
      yet (up to 3000 tries, 0.1 s apart: a bound against a hung boot).
"""
import json
import socket
import time
import struct
import sys

TYPES = {1: "REQUEST", 2: "RESPONSE", 3: "STDIN", 4: "STDOUT", 5: "STDERR", 6: "EXIT", 7: "RESIZE"}


def frame(t, payload):
    return struct.pack("<IB3x", len(payload), t) + payload


def read_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            return None
        b += c
    return b


def read_frame(s):
    h = read_exact(s, 8)
    if h is None:
        return None, None
    n, t = struct.unpack("<IB3x", h)
    p = read_exact(s, n) if n else b""
    if p is None:
        raise SystemExit("agent-client: EOF inside a frame")
    return t, p


def say_response(path, line):
    if path:
        with open(path, "w") as f:
            f.write(line + "\n")
    else:
        sys.stderr.write(line + "\n")


def vsock_connect(path):
    for _ in range(3000):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            s.sendall(b"CONNECT 1024\n")
            line = b""
            while not line.endswith(b"\n"):
                c = s.recv(1)
                if not c:
                    break
                line += c
            if line.startswith(b"OK "):
                return s
        except OSError:
            pass
        s.close()
        time.sleep(0.1)
    raise SystemExit("agent-client: the agent never answered on " + path)


def main():
    args = sys.argv[1:]
    tty = detach = raw = vsock = False
    resize = None
    stdin = None
    response = None
    while args and args[0].startswith("--"):
        a = args.pop(0)
        if a == "--tty":
            tty = True
        elif a == "--detach":
            detach = True
        elif a == "--raw":
            raw = True
        elif a == "--vsock":
            vsock = True
        elif a == "--resize":
            r, c = args.pop(0).split("x")
            resize = (int(r), int(c))
        elif a == "--response":
            response = args.pop(0)
        elif a == "--stdin":
            stdin = args.pop(0).encode()
        else:
            raise SystemExit("agent-client: unknown option " + a)
    if vsock:
        s = vsock_connect(args[0])
    else:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(args[0])
    if raw:
        s.sendall(bytes.fromhex(args[1]))
        s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            try:
                c = s.recv(65536)
            except ConnectionResetError:
                break  # closed with our bytes unread: closed all the same
            if not c:
                break
            out += c
        print(out.hex())
        return 0
    op = args[1]
    req = {"v": 1, "op": op}
    if len(args) > 2:
        req.update(json.loads(args[2]))
    if op in ("create", "exec"):
        req["terminal"] = tty
    s.sendall(frame(1, json.dumps(req).encode()))
    t, p = read_frame(s)
    if t != 2:
        raise SystemExit("agent-client: no response (got %s)" % TYPES.get(t, t))
    resp = json.loads(p)
    if op not in ("create", "exec") or not resp.get("ok"):
        print(json.dumps(resp))
        return 0 if resp.get("ok") else 1
    say_response(response, json.dumps(resp))
    if detach:
        return 0
    try:
        if resize:
            s.sendall(frame(7, struct.pack("<HH", *resize)))
        if stdin:
            s.sendall(frame(3, stdin))
        if not tty:
            s.sendall(frame(3, b""))
    except BrokenPipeError:
        pass  # the process already exited: its output and EXIT are still to read
    while True:
        t, p = read_frame(s)
        if t is None:
            return 101
        if t == 4:
            sys.stdout.buffer.write(p)
            sys.stdout.flush()
        elif t == 5:
            sys.stderr.buffer.write(p)
            sys.stderr.flush()
        elif t == 6:
            return json.loads(p)["exit_code"]
        else:
            raise SystemExit("agent-client: unexpected frame %s" % TYPES.get(t, t))


sys.exit(main())
