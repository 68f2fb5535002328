#!/bin/sh
# dracut netroot handler for netroot=streamboot, called by the network
# module as: streambootroot NETIF NETROOT NEWROOT. Connects the streamed
# disk over NBD and mounts the root on NEWROOT (with an overlay for
# client-side write caches) before the initqueue finishes.
command -v getarg >/dev/null || . /lib/dracut-lib.sh
. /lib/streamboot/streamboot-lib.sh

PATH=/usr/sbin:/usr/bin:/sbin:/bin
netif=$1
NEWROOT=${3:-/sysroot}

# Once, for whichever interface came up first.
[ -e /run/streamboot/done ] && exit 0

sb_panic() {
	die "$*"
}

sb_parse_cmdline
# What the DHCP client recorded for this interface (dhclient or NetworkManager).
if [ -r "/tmp/dhclient.$netif.dhcpopts" ]; then
	. "/tmp/dhclient.$netif.dhcpopts"
fi
SB_DHCP_SERVER=${new_next_server:-${new_dhcp_server_identifier:-}}
SB_DHCP_FILENAME=${new_filename:-}
SB_MAC=$(cat "/sys/class/net/$netif/address" 2>/dev/null)

sb_boot "$NEWROOT" || exit 1
# nbd-client carries the @ mark (systemd spares it at switch-root); dracut's
# shutdown hook needs the initramfs kept to disconnect cleanly.
command -v need_shutdown >/dev/null && need_shutdown
: >/run/streamboot/done
exit 0
