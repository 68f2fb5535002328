#!/usr/bin/env bash
# Builds the Streamboot test OS from this machine's Debian packages, with no
# loop mounts and no root privileges beyond reading /boot:
#
#   OUTDIR/vmlinuz     the host's Debian kernel
#   OUTDIR/initrd.img  mkinitramfs -d CONF with the client boot component
#                      (client/linux), so the initramfs-tools hook is the
#                      one an installed image runs
#   OUTDIR/disk.img    raw MBR disk: p1 FAT16 with SYSLINUX, the kernel and
#                      initrd (for iPXE sanboot: the BIOS boots the disk
#                      itself), p2 ext4 root with a busybox userland
#   OUTDIR/cmdline     kernel parameters for a network boot of the disk
#   OUTDIR/disk-iscsi.img  the same disk whose boot loader starts the kernel
#                      with iscsi_auto: the initramfs (open-iscsi's
#                      initramfs-tools scripts, iscsistart -b) takes the
#                      disk iPXE SAN-booted over from the iBFT, as Windows
#                      does, and mounts its root from there
#
# The test OS's init prints one line the tests wait for,
#   STREAMBOOT-TEST-OS up: hostname=... machine-id=... root=... cache=... secureboot=on|off|unknown
# then runs a shell on ttyS0. Outputs newer than every input are kept.
#
# Usage: client/testimage/build.sh OUTDIR
set -euo pipefail

here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
client="$(cd "$here/../linux" && pwd)"
out="${1:?usage: build.sh OUTDIR}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

die() { echo "build.sh: $*" >&2; exit 1; }

# Each tool and the Debian package that has it.
need() { # PATH-OR-COMMAND PACKAGE
	if [[ $1 == /* ]]; then [[ -e $1 ]] && return 0; else command -v "$1" >/dev/null && return 0; fi
	die "$1 is missing: apt-get install $2"
}
export PATH="$PATH:/usr/sbin:/sbin"
need mkinitramfs initramfs-tools
need mke2fs e2fsprogs
need mkfs.fat dosfstools
need mcopy mtools
need syslinux syslinux
need /usr/lib/syslinux/mbr/mbr.bin syslinux-common
need sfdisk fdisk
need /bin/busybox busybox-static
need nbd-client nbd-client
need zstd zstd
need cc gcc
need iscsistart open-iscsi

kver="${STREAMBOOT_TEST_KERNEL:-$(cd /lib/modules && ls | sort -V | tail -n 1)}"
kernel="/boot/vmlinuz-$kver"
[[ -r $kernel ]] || die "$kernel is missing: apt-get install linux-image-amd64"
[[ -d /lib/modules/$kver ]] || die "/lib/modules/$kver is missing: apt-get install linux-image-amd64"
file /bin/busybox 2>/dev/null | grep -q "statically linked" || [[ ! -x /usr/bin/file ]] || die "/bin/busybox is not static: apt-get install busybox-static"

# Up to date when every output is newer than every input.
inputs=("$here" "$client/lib" "$client/initramfs-tools" "$client/nbd/streamboot-nbd.c" "$kernel" /bin/busybox "$(command -v nbd-client)")
outputs=("$out/vmlinuz" "$out/initrd.img" "$out/disk.img" "$out/disk-iscsi.img" "$out/cmdline")
exec 9>"$out/.lock"
flock 9
fresh=1
for o in "${outputs[@]}"; do
	[[ -e $o ]] || { fresh=0; break; }
	if [[ -n $(find "${inputs[@]}" -newer "$o" -print -quit 2>/dev/null) ]]; then fresh=0; break; fi
done
if ((fresh)); then
	echo "build.sh: $out is up to date"
	exit 0
fi

work="$out/.work"
rm -rf "$work"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
# Fixed times and ids, so two builds of the same inputs match.
export SOURCE_DATE_EPOCH=1767225600 E2FSPROGS_FAKE_TIME=1767225600

# 1. The initramfs, with the client component as an installed image has it.
conf="$work/initramfs-conf"
mkdir -p "$conf"/{conf.d,hooks,scripts/init-top}
cat >"$conf/initramfs.conf" <<'EOF'
MODULES=list
BUSYBOX=y
KEYMAP=n
COMPRESS=zstd
DEVICE=
NFSROOT=auto
RUNSIZE=10%
FSTYPE=auto
EOF
# Beyond what the hooks add: the VM's disk and NIC drivers.
printf '%s\n' e1000 virtio_pci virtio_net virtio_blk ata_piix sd_mod >"$conf/modules"
cp "$client/initramfs-tools/hooks/streamboot" "$conf/hooks/"
cp "$client/initramfs-tools/scripts/streamboot" "$conf/scripts/"
cp "$client/initramfs-tools/scripts/init-top/streamboot" "$conf/scripts/init-top/"
# Test VMs only ever have an e1000 or virtio NIC: drop the other NIC drivers
# the nbd hooks add (auto_add_modules net, 40 MiB), so that iPXE and the
# emulated CPU load a small initrd. CONFDIR hooks run after the packages'
# and before depmod. An installed image keeps them all.
cat >"$conf/hooks/zz-testos-trim" <<'TRIM'
#!/bin/sh
case "$1" in prereqs) exit 0 ;; esac
find "${DESTDIR}/lib/modules/${version}/kernel/drivers/net" -name '*.ko*' \
	! -name 'e1000.ko*' ! -name 'virtio_net.ko*' ! -name 'net_failover.ko*' ! -name 'failover.ko*' -delete
TRIM
chmod +x "$conf/hooks/zz-testos-trim" "$conf/hooks/streamboot"
# The connection keeper, built as install.sh builds it.
make -s -C "$client" all || die "building client/linux/nbd/streamboot-nbd failed"
STREAMBOOT_LIB="$client/lib/streamboot-lib.sh" STREAMBOOT_NBD="$client/nbd/streamboot-nbd" mkinitramfs -d "$conf" -o "$work/initrd.img" "$kver" \
	|| die "mkinitramfs failed"
# The hook must really have run: its library and nbd-client are inside.
listing="$(unmkinitramfs -h >/dev/null 2>&1; cd "$work" && mkdir -p x && unmkinitramfs initrd.img x && find x -type f | sed 's|^x/\(main/\)\?||; s|^usr/||')"
for f in lib/streamboot/streamboot-lib.sh sbin/nbd-client sbin/streamboot-nbd scripts/streamboot scripts/init-top/streamboot; do
	grep -qx "$f" <<<"$listing" || die "the initramfs lacks $f: the streamboot hook did not run"
done
grep -q '/nbd.ko' <<<"$listing" || die "the initramfs lacks nbd.ko"
grep -q '/overlay.ko' <<<"$listing" || die "the initramfs lacks overlay.ko"
# open-iscsi's hook: the iBFT hand-over of disk-iscsi.img.
grep -qx 'sbin/iscsistart' <<<"$listing" || die "the initramfs lacks iscsistart: apt-get install open-iscsi"
grep -q '/iscsi_ibft.ko' <<<"$listing" || die "the initramfs lacks iscsi_ibft.ko"
rm -rf "$work/x"
cp "$kernel" "$work/vmlinuz"

# 2. The root file system: busybox, an init that reports and gives a shell.
root="$work/root"
mkdir -p "$root"/{bin,sbin,etc/init.d,dev,proc,sys,run,tmp,root,mnt,var/log}
chmod 1777 "$root/tmp"
cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list); do
	[[ $applet == busybox ]] || ln -sf busybox "$root/bin/$applet"
done
ln -sf ../bin/busybox "$root/sbin/init"
# Debian's nbd-client and the libraries it links (GnuTLS for -x): the VM test
# of NBD over TLS runs it on the booted OS, beside the streamed root.
nbd_client="$(command -v nbd-client)"
cp "$nbd_client" "$root/sbin/nbd-client"
for lib in $(ldd "$nbd_client" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\/.*ld-linux/ { print $1 }'); do
	mkdir -p "$root$(dirname "$lib")"
	cp -L "$lib" "$root$lib"
done
cat >"$root/etc/inittab" <<'EOF'
::sysinit:/etc/init.d/rcS
ttyS0::respawn:-/bin/sh
::ctrlaltdel:/bin/reboot
::shutdown:/bin/sync
::shutdown:/bin/umount -a -r
EOF
cat >"$root/etc/init.d/rcS" <<'EOF'
#!/bin/sh
# Streamboot test OS: mount what the initramfs did not hand over, report.
mounted() { grep -q " $1 " /proc/mounts 2>/dev/null; }
mounted /proc || mount -t proc proc /proc
mounted /sys || mount -t sysfs sysfs /sys
mounted /dev || mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts && { mounted /dev/pts || mount -t devpts devpts /dev/pts; }
mounted /run || mount -t tmpfs tmpfs /run
mount -o remount,rw / 2>/dev/null
[ -r /run/streamboot/session.env ] && . /run/streamboot/session.env
set -- $(awk '$2 == "/" { src = $1; fs = $3 } END { print src, fs }' /proc/mounts)
# What the kernel saw of Secure Boot (it locks itself down when it is on).
case "$(dmesg | grep -o 'Secure boot [a-z]*')" in
	*enabled*) secureboot=on ;;
	*disabled*) secureboot=off ;;
	*) secureboot=unknown ;;
esac
echo "STREAMBOOT-TEST-OS up: hostname=$(hostname) machine-id=$(cat /etc/machine-id) root=$1 fs=$2 cache=${STREAMBOOT_CACHE:-?} export=${STREAMBOOT_EXPORT:-?} secureboot=$secureboot uptime=$(cut -d' ' -f1 /proc/uptime)"
EOF
chmod +x "$root/etc/init.d/rcS"
echo testos >"$root/etc/hostname"
# An OS tree has one; systemd's switch-root (a dracut initramfs) refuses a root without it.
printf 'NAME="Streamboot test OS"\nID=streamboot-testos\nPRETTY_NAME="Streamboot test OS"\n' >"$root/etc/os-release"
: >"$root/etc/machine-id"
printf '127.0.0.1\tlocalhost\n127.0.1.1\ttestos\n' >"$root/etc/hosts"
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"
cat >"$root/etc/profile" <<'EOF'
export PATH=/bin:/sbin
export PS1='testos# '
EOF

# 3. The disk: MBR, p1 FAT16 (SYSLINUX, kernel, initrd), p2 ext4 root.
mib=$((1024 * 1024))
sizeof() { stat -c %s "$1"; }
boot_mib=$(( ($(sizeof "$work/vmlinuz") + $(sizeof "$work/initrd.img")) / mib + 4 ))
((boot_mib >= 20)) || boot_mib=20
root_mib=48
boot_start=2048                          # sectors: the usual 1 MiB gap
boot_sectors=$((boot_mib * 2048))
root_start=$((boot_start + boot_sectors))
root_sectors=$((root_mib * 2048))
cat >"$work/syslinux.cfg" <<'EOF'
SERIAL 0 115200
PROMPT 0
TIMEOUT 0
DEFAULT streamboot
LABEL streamboot
  KERNEL /vmlinuz
  INITRD /initrd.img
  APPEND console=ttyS0 boot=streamboot
EOF
# Hidden sectors (-h) tell the boot sector where its partition starts.
export MTOOLS_SKIP_CHECK=1
bootfs() { # IMAGE CONFIG
	mkfs.fat -F 16 -n STREAMBOOT -i 5b007e57 -h "$boot_start" -C "$1" $((boot_mib * 1024)) >/dev/null
	cp "$2" "$work/cfg/syslinux.cfg"
	mcopy -m -i "$1" "$work/vmlinuz" "$work/initrd.img" "$work/cfg/syslinux.cfg" ::/
	syslinux --install "$1"
}
mkdir -p "$work/cfg"
bootfs "$work/boot.img" "$work/syslinux.cfg"
# The iSCSI disk's kernel finds its disk in the iBFT (iscsi_auto: iscsistart -N, then -b) and its root on it.
sed 's|APPEND console=ttyS0 boot=streamboot|APPEND console=ttyS0 iscsi_auto root=/dev/sda2 rootdelay=30|' "$work/syslinux.cfg" >"$work/syslinux-iscsi.cfg"
bootfs "$work/boot-iscsi.img" "$work/syslinux-iscsi.cfg"
mke2fs -q -t ext4 -L testos-root -U 5b007e57-0000-4000-8000-000000000002 \
	-E hash_seed=5b007e57-0000-4000-8000-000000000003,root_owner=0:0 \
	-d "$root" "$work/root.img" "${root_mib}M" >/dev/null

disk="$work/disk.img"
truncate -s $(((root_start + root_sectors) * 512)) "$disk"
sfdisk --quiet --no-reread --no-tell-kernel "$disk" <<EOF
label: dos
label-id: 0x5b007e57
start=$boot_start, size=$boot_sectors, type=e, bootable
start=$root_start, size=$root_sectors, type=83
EOF
dd if=/usr/lib/syslinux/mbr/mbr.bin of="$disk" bs=440 count=1 conv=notrunc status=none
dd if="$work/boot.img" of="$disk" bs=1M seek=$((boot_start * 512)) oflag=seek_bytes conv=notrunc,sparse status=none
dd if="$work/root.img" of="$disk" bs=1M seek=$((root_start * 512)) oflag=seek_bytes conv=notrunc,sparse status=none
cp --sparse=always "$disk" "$work/disk-iscsi.img"
dd if="$work/boot-iscsi.img" of="$work/disk-iscsi.img" bs=1M seek=$((boot_start * 512)) oflag=seek_bytes conv=notrunc,sparse status=none

echo "console=ttyS0 root=/dev/nbd0p2" >"$work/cmdline"
for f in vmlinuz initrd.img disk.img disk-iscsi.img cmdline; do
	mv -f "$work/$f" "$out/$f"
done
echo "build.sh: built $out (initrd $(($(sizeof "$out/initrd.img") / 1024)) KiB, disk $((boot_mib + root_mib + 1)) MiB)"
