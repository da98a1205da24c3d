#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A small CRI v1 client for the tests (tests/integration/cri.bash).

    cri-client.py SOCKET METHOD [REQUEST_JSON]

Sends one call of runtime.v1.RuntimeService to the gRPC server on the unix
socket SOCKET (containerd's CRI plugin) and prints the response as JSON with
the .proto's field names, fields left at their defaults included (an enum
as its name, bytes in base64, 64-bit integers as strings: protobuf's JSON
mapping).  REQUEST_JSON is the request message in the same JSON
(default {}).  A gRPC error prints "cri: METHOD: CODE: DETAILS" on stderr and
exits 1; a request that does not parse exits 2.

The messages come from tests/cri/api.proto, compiled at first use by protoc
(Debian's protobuf-compiler) into $CRI_GEN_DIR (default: a directory under
$TMPDIR named after the .proto's hash); nothing generated is checked in.
Calls have a deadline of $CRI_TIMEOUT seconds (default 600: the test host
is QEMU TCG).
"""
import hashlib
import importlib
import json
import os
import subprocess
import sys
import tempfile

import grpc
from google.protobuf import json_format

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO = os.path.join(HERE, "api.proto")


def load_api():
    with open(PROTO, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:16]
    gen = os.environ.get("CRI_GEN_DIR") or os.path.join(
        tempfile.gettempdir(), "hull-cri-" + digest)
    mod = os.path.join(gen, "api_pb2.py")
    if not os.path.exists(mod):
        os.makedirs(gen, exist_ok=True)
        # into a directory of its own, renamed in: a concurrent client
        # never imports a half-written module
        tmp = tempfile.mkdtemp(dir=gen)
        subprocess.run(["protoc", "-I", HERE, "--python_out", tmp, PROTO], check=True)
        os.rename(os.path.join(tmp, "api_pb2.py"), mod)
        os.rmdir(tmp)
    sys.path.insert(0, gen)
    return importlib.import_module("api_pb2")


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: cri-client.py SOCKET METHOD [REQUEST_JSON]")
    sock, method = sys.argv[1], sys.argv[2]
    api = load_api()
    service = api.DESCRIPTOR.services_by_name["RuntimeService"]
    m = service.methods_by_name.get(method)
    if m is None:
        sys.exit(f"cri: {method}: not a method of {service.full_name} in {PROTO}")
    req_cls = getattr(api, m.input_type.name)
    resp_cls = getattr(api, m.output_type.name)
    req = req_cls()
    try:
        json_format.Parse(sys.argv[3] if len(sys.argv) == 4 else "{}", req)
    except json_format.ParseError as e:
        print(f"cri: {method}: request: {e}", file=sys.stderr)
        sys.exit(2)
    timeout = float(os.environ.get("CRI_TIMEOUT", "600"))
    with grpc.insecure_channel("unix://" + sock) as ch:
        call = ch.unary_unary(f"/{service.full_name}/{method}",
                              request_serializer=req_cls.SerializeToString,
                              response_deserializer=resp_cls.FromString)
        try:
            resp = call(req, timeout=timeout)
        except grpc.RpcError as e:
            print(f"cri: {method}: {e.code().name}: {e.details()}", file=sys.stderr)
            sys.exit(1)
    print(json.dumps(json_format.MessageToDict(resp, preserving_proto_field_name=True,
                                                  including_default_value_fields=True),
                     sort_keys=True))


if __name__ == "__main__":
    main()
