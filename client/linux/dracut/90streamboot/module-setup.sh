#!/bin/bash
# dracut module "streamboot": the Streamboot client boot component for
# dracut-based distributions (Fedora, RHEL, openSUSE). The same shell
# library as the initramfs-tools boot script does the work; this module
# only wires it into dracut's network root flow (netroot=streamboot ->
# /sbin/streambootroot, run by the network module once an interface is up).
#
# Written against dracut's documented module API; unlike the
# initramfs-tools side it is not exercised by the project's tests (they
# run on Debian). See ../../README.md.

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
	[[ -x /usr/lib/streamboot/streamboot-nbd ]] && inst_simple /usr/lib/streamboot/streamboot-nbd /sbin/streamboot-nbd
	inst_multiple -o mke2fs curl wget timeout blkid
	inst_hook cmdline 90 "$moddir/parse-streamboot.sh"
	inst_script "$moddir/streambootroot.sh" /sbin/streambootroot
	dracut_need_initqueue
}
