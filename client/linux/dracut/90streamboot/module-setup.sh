#!/bin/bash
# dracut module "streamboot": the Streamboot client boot component for
# dracut-based distributions (Fedora, RHEL, openSUSE). The same shell
# library as the initramfs-tools boot script does the work; this module
# only wires it into dracut's network root flow (netroot=streamboot ->
# /sbin/streambootroot, run by the network module once an interface is up).
#
# Tested by the project with Debian's dracut 059 (systemd in the
# initramfs, network-legacy): client/testimage/build-dracut.sh and
# tests/Streamboot.Boot.Tests/DracutBootTests.cs.

# called by dracut
check() {
	require_binaries nbd-client || return 1
	# Only when asked for (add_dracutmodules+=" streamboot "): a golden
	# image built on a machine with a local root must still get it.
	return 255
}

# called by dracut
depends() {
	echo network
	return 0
}

# called by dracut
installkernel() {
	instmods nbd overlay ext4
}

# called by dracut
install() {
	local lib="$moddir/streamboot-lib.sh"
	[[ -r $lib ]] || lib=/usr/lib/streamboot/streamboot-lib.sh
	inst_simple "$lib" /lib/streamboot/streamboot-lib.sh
	inst_multiple nbd-client blockdev hostname sed tr readlink grep
	# The connection keeper (reconnects after a server restart).
	local keeper="$moddir/streamboot-nbd"
	[[ -x $keeper ]] || keeper=/usr/lib/streamboot/streamboot-nbd
	if [[ -x $keeper ]]; then
		inst_simple "$keeper" /sbin/streamboot-nbd
	else
		dwarn "streamboot: $keeper is missing: clients will not reconnect after a server restart"
	fi
	inst_multiple -o mke2fs curl wget timeout blkid
	inst_hook cmdline 90 "$moddir/parse-streamboot.sh"
	inst_script "$moddir/streambootroot.sh" /sbin/streambootroot
	dracut_need_initqueue
}
