#!/bin/bash
# Host-side preparation for tests/integration/testhost/vmcontainer-guestimg.bats (and the
# VM-isolated container tests): the guest image of `make guest`, built from
# build/bin/hull (make has built it) into build/guest/.  guest/build-image.sh
# rebuilds only when the kernel, hull or the script changed.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
exec "$root/guest/build-image.sh" image "$root/build/guest" "$root/build/bin/hull"
