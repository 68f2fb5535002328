#!/usr/bin/env bash
# Builds OUTDIR/initrd-dracut.img: the test OS's initramfs made by dracut
# (as Fedora and RHEL make theirs: systemd in the initramfs, dracut's
# network module) with client/linux's dracut module, for the same kernel
# build.sh puts in OUTDIR/vmlinuz. The system's dracut stays untouched: the
# module is added to a private copy of dracut's module tree.
#
# Debian's dracut-core and dracut-network install beside initramfs-tools.
#
# Usage: client/testimage/build-dracut.sh OUTDIR
set -euo pipefail

here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
client="$(cd "$here/../linux" && pwd)"
out="${1:?usage: build-dracut.sh OUTDIR}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
die() { echo "build-dracut.sh: $*" >&2; exit 1; }
export PATH="$PATH:/usr/sbin:/sbin"

command -v dracut >/dev/null || die "dracut is missing: apt-get install dracut-core"
[[ -d /usr/lib/dracut/modules.d/35network-legacy ]] || die "dracut's network modules are missing: apt-get install dracut-network"
command -v dhclient >/dev/null || die "dhclient is missing: apt-get install isc-dhcp-client"
command -v nbd-client >/dev/null || die "nbd-client is missing: apt-get install nbd-client"
kver="${STREAMBOOT_TEST_KERNEL:-$(cd /lib/modules && ls | sort -V | tail -n 1)}"
[[ -d /lib/modules/$kver ]] || die "/lib/modules/$kver is missing: apt-get install linux-image-amd64"

target="$out/initrd-dracut.img"
inputs=("$here/build-dracut.sh" "$client/dracut" "$client/lib" "$client/nbd/streamboot-nbd.c" "/lib/modules/$kver")
exec 9>"$out/.lock-dracut"
flock 9
if [[ -e $target && -z $(find "${inputs[@]}" -maxdepth 0 -newer "$target" -print -quit 2>/dev/null) ]]; then
	echo "build-dracut.sh: $target is up to date"
	exit 0
fi

work="$out/.work-dracut"
rm -rf "$work"
mkdir -p "$work/conf.d"
trap 'rm -rf "$work"' EXIT

make -s -C "$client" all || die "building client/linux/nbd/streamboot-nbd failed"
# A private dracut tree: links to the system's modules, plus ours, installed
# as install.sh would (the module, the library beside it, the keeper).
cp -rs /usr/lib/dracut "$work/dracut"
module="$work/dracut/modules.d/90streamboot"
rm -rf "$module"
mkdir -p "$module"
cp "$client"/dracut/90streamboot/* "$module/"
cp "$client/lib/streamboot-lib.sh" "$module/"
cp "$client/nbd/streamboot-nbd" "$module/"

# network-legacy (dhclient) is what a non-NetworkManager image uses; the
# test VMs have e1000 or virtio NICs. Only those NIC drivers go in.
dracutbasedir="$work/dracut" dracut --force --no-hostonly --no-early-microcode \
	--conf /dev/null --confdir "$work/conf.d" \
	--add "streamboot network-legacy" --omit "plymouth i18n network-manager connman systemd-networkd crypt dm lvm mdraid multipath nvdimm iscsi nfs cifs fcoe fcoe-uefi" \
	--add-drivers "e1000 virtio_pci virtio_net virtio_blk nbd overlay ext4" \
	--compress zstd "$work/initrd.img" "$kver" >"$work/dracut.log" 2>&1 \
	|| { tail -n 30 "$work/dracut.log" >&2; die "dracut failed"; }
listing=$(lsinitrd "$work/initrd.img" 2>/dev/null)
for f in streamboot-lib.sh streambootroot streamboot-nbd parse-streamboot.sh nbd.ko; do
	grep -q "$f" <<<"$listing" || die "the dracut initramfs lacks $f: the streamboot module did not go in (log: see above)"
done
mv -f "$work/initrd.img" "$target"
echo "build-dracut.sh: built $target ($(($(stat -c %s "$target") / 1024)) KiB)"
