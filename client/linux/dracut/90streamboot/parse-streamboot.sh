#!/bin/sh
# dracut cmdline hook (sourced): claims the root for Streamboot when the
# kernel command line carries streamboot.* (the server's iPXE script),
# root=streamboot or boot=streamboot (a disk's own boot loader: the session
# then comes from the server's /boot/identity).
#
# root=/dev/nbd0pN is NOT the way to name the partition under dracut:
# systemd's fstab generator would mount it as a plain block root. Use
# streamboot.root=/dev/nbd0pN (or nothing: the first partition with an init).

if [ -z "$rootok" ] || [ "$root" = streamboot ]; then
	if getarg streamboot.url= >/dev/null || getarg streamboot.export= >/dev/null \
		|| getarg streamboot.nbd= >/dev/null || [ "$(getarg root=)" = streamboot ] \
		|| [ "$(getarg boot=)" = streamboot ]; then
		root=streamboot
		netroot=streamboot
		rootok=1
		# The network module brings interfaces up (DHCP unless ip= says
		# otherwise) because netroot is set, then runs /sbin/streambootroot.
		echo '[ -e /run/streamboot/done ]' >"$hookdir/initqueue/finished/streamboot.sh"
	fi
fi
