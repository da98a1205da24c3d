# SPDX-License-Identifier: Apache-2.0
# Sourced by tests/bench/*.sh: the repository, and the binaries and bundle to
# measure (HULL, RUNC, HULL_BUNDLE may override; relative paths are taken
# from the repository).
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HULL_BIN=${HULL:-$repo/build/bin/hull}
[[ $HULL_BIN == /* ]] || HULL_BIN=$repo/$HULL_BIN
RUNC_BIN=${RUNC:-/usr/sbin/runc}
BUNDLE_SRC=${HULL_BUNDLE:-$repo/build/bundle}
[[ $BUNDLE_SRC == /* ]] || BUNDLE_SRC=$repo/$BUNDLE_SRC
