#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# fake-bzimage.py FILE: a syntactically valid bzImage setup header and nothing
# else: enough for hull's kernel checks, so a test reaches /dev/kvm (vm.bats,
# vmserve.bats) without a real kernel.
import struct
import sys

img = bytearray(5 * 512 + 4096)
img[0x1f1] = 4                                   # setup_sects
struct.pack_into('<H', img, 0x1fe, 0xaa55)       # boot_flag
struct.pack_into('<I', img, 0x202, 0x53726448)   # "HdrS"
struct.pack_into('<H', img, 0x206, 0x020f)       # protocol 2.15
img[0x211] = 1                                   # LOADED_HIGH
struct.pack_into('<H', img, 0x236, 1)            # XLF_KERNEL_64
open(sys.argv[1], 'wb').write(img)
