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


class Client:
    """CRI calls on one channel: call(METHOD, dict) returns the response as a
    dict (as the command line prints it); a gRPC error raises grpc.RpcError."""

    def __init__(self, sock):
        self.api = load_api()
        self.service = self.api.DESCRIPTOR.services_by_name["RuntimeService"]
        self.channel = grpc.insecure_channel("unix://" + sock)
        self.timeout = float(os.environ.get("CRI_TIMEOUT", "600"))

    def method(self, name):
        m = self.service.methods_by_name.get(name)
        if m is None:
            sys.exit(f"cri: {name}: not a method of {self.service.full_name} in {PROTO}")
        return getattr(self.api, m.input_type.name), getattr(self.api, m.output_type.name)

    def call(self, name, request):
        req_cls, resp_cls = self.method(name)
        stub = self.channel.unary_unary(f"/{self.service.full_name}/{name}",
                                        request_serializer=req_cls.SerializeToString,
                                        response_deserializer=resp_cls.FromString)
        resp = stub(json_format.ParseDict(request, req_cls()), timeout=self.timeout)
        return json_format.MessageToDict(resp, preserving_proto_field_name=True,
                                         including_default_value_fields=True)


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: cri-client.py SOCKET METHOD [REQUEST_JSON]")
    sock, method = sys.argv[1], sys.argv[2]
    client = Client(sock)
    client.method(method)
    try:
        req = json.loads(sys.argv[3] if len(sys.argv) == 4 else "{}")
        resp = client.call(method, req)
    except (ValueError, json_format.ParseError) as e:
        print(f"cri: {method}: request: {e}", file=sys.stderr)
        sys.exit(2)
    except grpc.RpcError as e:
        print(f"cri: {method}: {e.code().name}: {e.details()}", file=sys.stderr)
        sys.exit(1)
    print(json.dumps(resp, sort_keys=True))


if __name__ == "__main__":
    main()
