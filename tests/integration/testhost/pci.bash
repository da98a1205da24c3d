# SPDX-License-Identifier: Apache-2.0
# PCI functions from sysfs, for the passthrough suites (vfio*.bats).

# pci_find VENDOR CLASS: the BDF of the first function with that vendor id and
# class code (0xVVVV, 0xCCCCCC).
pci_find() {
	local d
	for d in /sys/bus/pci/devices/*; do
		if [ "$(cat "$d/vendor")" = "$1" ] && [ "$(cat "$d/class")" = "$2" ]; then
			basename "$d"
			return 0
		fi
	done
	return 1
}

# driver_of BDF: the name of the driver bound to it, or "none".
driver_of() {
	local l
	l=$(readlink "/sys/bus/pci/devices/$1/driver") || { echo none; return; }
	basename "$l"
}
