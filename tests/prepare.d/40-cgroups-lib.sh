#!/bin/bash
# Host-side preparation for tests/integration/testhost/cgroups-lib.bats: build
# the live cgroups test (cgroups/ + common/ only, so it does not wait for the
# rest of the tree) into build/cache/cgroups/, where compiling under TCG would
# be slow.  Rebuilt when a source is newer than the binary.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=$root/build/cache/cgroups
bin=$out/test_cgroups_live
mkdir -p "$out"
cd "$root"
srcs=(tests/unit/cgroups/test_cgroups_live.c cgroups/*.c cgroups/*.h common/*.c common/*.h)
if [ -x "$bin" ] && [ -z "$(find "${srcs[@]}" -newer "$bin" 2>/dev/null)" ]; then
	exit 0
fi
# shellcheck disable=SC2046
gcc -std=gnu17 -D_GNU_SOURCE -I. -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter \
	$(pkg-config --cflags json-c libsystemd) -o "$bin.new" \
	tests/unit/cgroups/test_cgroups_live.c cgroups/*.c common/*.c \
	$(pkg-config --libs json-c libsystemd) -lpthread -lcmocka
mv "$bin.new" "$bin"
