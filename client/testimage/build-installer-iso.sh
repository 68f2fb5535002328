#!/usr/bin/env bash
# Builds a tiny bootable installer ISO for the VM tests, from this
# machine's Debian packages: ISOLINUX, the host's Debian kernel and a
# busybox initramfs whose init
#   - mounts each CD-ROM; on the easy-install seed (label cidata) it reads
#     user-data and prints
#       TESTISO seed: user=... fullname=... hostname=...
#   - prints what the VM's hardware is
#       TESTISO hardware: cpus=N mem_kib=N disk=vda disk_bytes=N
#       TESTISO disks: vda=BYTES nvme0n1=BYTES ...   (every disk, by kernel name)
#       TESTISO nics: eth0=MAC ...                    (every network card)
#       TESTISO tpm: tpm0 version=2                   (or "TESTISO tpm: none")
#   - "installs": when the VM's disk is blank and big enough, it writes the
#     test OS disk image (client/testimage/build.sh's disk.img) onto it, as
#     an installer would, and prints
#       TESTISO installed: N bytes to /dev/vda
#   - prints "TESTISO ready" and waits; the ACPI power button (vm stop)
#     makes it print "TESTISO power button" and power off.
#
# Usage: client/testimage/build-installer-iso.sh TESTOS_DIR OUT.iso
#   TESTOS_DIR holds build.sh's vmlinuz and disk.img. OUT.iso is rebuilt
#   only when an input is newer.
set -euo pipefail

here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
testos="${1:?usage: build-installer-iso.sh TESTOS_DIR OUT.iso}"
out="${2:?usage: build-installer-iso.sh TESTOS_DIR OUT.iso}"
die() { echo "build-installer-iso.sh: $*" >&2; exit 1; }
need() { # PATH-OR-COMMAND PACKAGE
	if [[ $1 == /* ]]; then [[ -e $1 ]] && return 0; else command -v "$1" >/dev/null && return 0; fi
	die "$1 is missing: apt-get install $2"
}
export PATH="$PATH:/usr/sbin:/sbin"
need xorriso xorriso
need /usr/lib/ISOLINUX/isolinux.bin isolinux
need /usr/lib/syslinux/modules/bios/ldlinux.c32 syslinux-common
need /usr/lib/ISOLINUX/isohdpfx.bin isolinux
need /bin/busybox busybox-static
need cpio cpio
need modprobe kmod
[[ -r $testos/vmlinuz && -r $testos/disk.img ]] || die "$testos has no vmlinuz and disk.img: run client/testimage/build.sh $testos first"

kver="${STREAMBOOT_TEST_KERNEL:-$(cd /lib/modules && ls | sort -V | tail -n 1)}"
mkdir -p "$(dirname "$out")"
exec 9>"$out.lock"
flock 9
if [[ -e $out && -z $(find "${BASH_SOURCE[0]}" "$testos/vmlinuz" "$testos/disk.img" -newer "$out" -print -quit) ]]; then
	echo "build-installer-iso.sh: $out is up to date"
	exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export SOURCE_DATE_EPOCH=1767225600

# The initramfs: busybox, the drivers for CD-ROMs (IDE and AHCI), virtio,
# virtio SCSI, SATA and NVMe disks, the NICs QEMU gives VMs (virtio, e1000,
# e1000e), TPMs (TIS and CRB), ISO 9660, the ACPI power button and its
# input events.
init="$work/initramfs"
mkdir -p "$init"/{bin,sbin,dev,proc,sys,mnt,etc/acpi/PWRF,lib/modules}
cp /bin/busybox "$init/bin/busybox"
for applet in $(/bin/busybox --list); do
	[[ $applet == busybox ]] || ln -sf busybox "$init/bin/$applet"
done
modules=()
for m in ata_piix ahci sr_mod sd_mod isofs virtio_blk virtio_pci virtio_scsi nvme virtio_net e1000 e1000e tpm_tis tpm_crb button evdev; do
	while read -r verb path _; do
		[[ $verb == insmod ]] || continue
		name="$(basename "$path")"
		[[ -e $init/lib/modules/$name ]] || { cp "$path" "$init/lib/modules/$name"; modules+=("$name"); }
	done < <(modprobe -S "$kver" --show-depends "$m")
done
printf '%s\n' "${modules[@]}" >"$init/lib/modules/order"

cat >"$init/etc/acpi/PWRF/00000080" <<'EOF'
#!/bin/sh
echo "TESTISO power button: powering off" >/dev/console
sync
poweroff -f
EOF
chmod +x "$init/etc/acpi/PWRF/00000080"

cat >"$init/init" <<'EOF'
#!/bin/sh
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
while read -r m; do insmod "/lib/modules/$m" 2>/dev/null; done </lib/modules/order
echo "TESTISO booted"
# Drives appear as their drivers probe them.
for i in 1 2 3 4 5 6 7 8 9 10; do
	ls /dev/sr* >/dev/null 2>&1 && [ -n "$(ls /dev/vd? /dev/sd? /dev/nvme?n? 2>/dev/null)" ] && break
	sleep 0.5
done
sleep 1
field() { sed -n "s/^$1: \"\\(.*\\)\"\$/\\1/p" "$2" | head -n 1; }
installer=""
for cd in /dev/sr*; do
	[ -b "$cd" ] || continue
	dir="/mnt/$(basename "$cd")"
	mkdir -p "$dir"
	mount -t iso9660 -o ro "$cd" "$dir" 2>/dev/null || continue
	if [ -f "$dir/user-data" ]; then
		u="$dir/user-data"
		echo "TESTISO seed: user=$(field '  - name' "$u") fullname=$(field '    gecos' "$u") hostname=$(field hostname "$u") label=$(dd if="$cd" bs=1 skip=32808 count=32 2>/dev/null | tr -d ' ')"
		grep -q '^    passwd: "\$6\$' "$u" && echo "TESTISO seed: password is a sha512-crypt hash"
	fi
	[ -f "$dir/payload/disk.img.gz" ] && installer="$dir/payload/disk.img.gz"
done
disk=""
for d in /dev/vda /dev/sda /dev/nvme0n1; do [ -b "$d" ] && { disk=$d; break; }; done
bytes=0
[ -n "$disk" ] && bytes=$(cat "/sys/class/block/${disk#/dev/}/size") && bytes=$((bytes * 512))
echo "TESTISO hardware: cpus=$(grep -c ^processor /proc/cpuinfo) mem_kib=$(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo) disk=${disk#/dev/} disk_bytes=$bytes"
disks=""
for b in /sys/block/*; do
	n=${b##*/}
	case $n in loop*|ram*|sr*|zram*) continue ;; esac
	disks="$disks $n=$(($(cat "$b/size") * 512))"
done
echo "TESTISO disks:$disks"
nics=""
for n in /sys/class/net/*; do
	[ "${n##*/}" = lo ] || nics="$nics ${n##*/}=$(cat "$n/address")"
done
echo "TESTISO nics:$nics"
if [ -e /dev/tpm0 ]; then
	echo "TESTISO tpm: tpm0 version=$(cat /sys/class/tpm/tpm0/tpm_version_major 2>/dev/null)"
else
	echo "TESTISO tpm: none"
fi
if [ -n "$disk" ] && [ -n "$installer" ]; then
	need=$(cat "${installer%.gz}.size")
	if [ "$(dd if="$disk" bs=1M count=1 2>/dev/null | tr -d '\000' | wc -c)" != 0 ]; then
		echo "TESTISO not installing: $disk is not blank"
	elif [ "$bytes" -lt "$need" ]; then
		echo "TESTISO not installing: $disk has $bytes bytes, the image needs $need"
	else
		gunzip -c "$installer" | dd of="$disk" bs=1M conv=fsync 2>/dev/null && sync &&
			echo "TESTISO installed: $need bytes to $disk"
	fi
fi
# busybox's acpid logs to /var/log/acpid.log and dies where it cannot.
mkdir -p /var/log /var/run
acpid -c /etc/acpi
echo "TESTISO ready"
# A shell on the console for whoever attaches (vm console); init stays.
while true; do setsid cttyhack sh; sleep 1; done
EOF
chmod +x "$init/init"
(cd "$init" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 >"$work/initrd.gz"

iso="$work/iso"
mkdir -p "$iso/isolinux" "$iso/payload"
cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$iso/isolinux/"
cp "/boot/vmlinuz-$kver" "$iso/isolinux/vmlinuz"
cp "$work/initrd.gz" "$iso/isolinux/initrd.gz"
gzip -1 -c "$testos/disk.img" >"$iso/payload/disk.img.gz"
stat -c %s "$testos/disk.img" >"$iso/payload/disk.img.size"
cat >"$iso/isolinux/isolinux.cfg" <<'EOF'
SERIAL 0 115200
PROMPT 0
TIMEOUT 0
DEFAULT testiso
LABEL testiso
  KERNEL /isolinux/vmlinuz
  INITRD /isolinux/initrd.gz
  APPEND console=ttyS0 panic=-1 quiet
EOF
xorriso -as mkisofs -quiet -o "$work/out.iso" -V STREAMBOOT_TESTISO -J -R \
	-b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table \
	-isohybrid-mbr /usr/lib/ISOLINUX/isohdpfx.bin "$iso"
mv -f "$work/out.iso" "$out"
echo "build-installer-iso.sh: built $out ($(($(stat -c %s "$out") / 1024 / 1024)) MiB)"
