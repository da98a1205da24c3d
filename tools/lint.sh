#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# make lint: the two layout rules the compiler does not check.
#  1. Doors: a folder (with its parts, e.g. microvm/virtio/) includes only
#     its own headers and other folders' <folder>/<folder>.h
#     (docs/architecture.md), never their internal.h or a part's header;
#     a part (microvm/x86/) does not include another part's header.
#  2. No public function without a caller in another file: one used only in
#     its own file is static, one used nowhere is dead.  Callers are read from
#     the objects' undefined symbols (calls and function pointers alike) and,
#     for code only the unit tests drive, from tests/unit/ and tests/helper/.
# Usage: tools/lint.sh OBJDIR (objects built by `make all`).
set -eu
objdir=${1:?usage: tools/lint.sh OBJDIR}
folders="common oci namespaces confine runtime cgroups net microvm guest virtiofs shim cli"

for f in $folders; do
	# Sources and headers of the folder and of its parts (microvm/virtio/...).
	for src in $(find "$f" -name '*.[ch]'); do
		sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([a-z0-9_]*\)\/\([a-z0-9_/]*\)\.h".*/\1 \2/p' "$src" |
		while read -r dir hdr; do
			if [ "$dir" = "$f" ]; then
				# A part (F/P/x.c) uses the core's headers and its own, not
				# another part's: only the core's assembler joins them.
				part=${src#"$f"/}
				case "$part" in */*) ;; *) continue ;; esac
				case "$hdr" in */*) ;; *) continue ;; esac
				[ "${hdr%%/*}" = "${part%%/*}" ] && continue
				echo "lint: $src includes $dir/$hdr.h: another part's private header"
				echo x >> "$objdir/lint.bad"
				continue
			fi
			[ "$hdr" = "$dir" ] && continue
			echo "lint: $src includes $dir/$hdr.h: another folder's private header (use $dir/$dir.h)"
			echo x >> "$objdir/lint.bad"
		done
	done
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Only objects of sources that still exist (a removed file leaves its .o).
find "$objdir" -name '*.o' | sort | while read -r o; do
	s=${o#"$objdir"/}
	[ -f "${s%.o}.c" ] && echo "$o"
done > "$tmp/objs"
# "object symbol" for each defined global function / each reference.
xargs nm -A --defined-only < "$tmp/objs" | awk '$(NF-1) == "T" { sub(/:.*/, "", $1); print $1, $NF }' > "$tmp/defs"
xargs nm -A --undefined-only < "$tmp/objs" | awk '{ sub(/:.*/, "", $1); print $1, $NF }' > "$tmp/uses"
cat tests/unit/*/*.c tests/unit/*/*.h tests/helper/*.c 2>/dev/null |
	grep -oE '[A-Za-z_][A-Za-z0-9_]*' | sort -u > "$tmp/test_words"
while read -r obj sym; do
	case "$sym" in main) continue ;; esac
	awk -v o="$obj" -v s="$sym" '$2 == s && $1 != o { found = 1 } END { exit !found }' "$tmp/uses" && continue
	grep -qx "$sym" "$tmp/test_words" && continue
	src=${obj#"$objdir"/}
	src=${src%.o}.c
	if grep -qw "$sym" "$src" && [ "$(grep -cw "$sym" "$src")" -gt 1 ]; then
		echo "lint: $src: $sym is public but only $src calls it: make it static"
	else
		echo "lint: $src: $sym has no caller: remove it"
	fi
	echo x >> "$objdir/lint.bad"
done < "$tmp/defs"

if [ -s "$objdir/lint.bad" ]; then
	rm -f "$objdir/lint.bad"
	exit 1
fi
echo "lint: ok"
