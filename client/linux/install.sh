#!/bin/sh
# Installs the Streamboot client boot component into a Linux image (or this
# machine), for initramfs-tools (Debian, Ubuntu) and/or dracut (Fedora,
# RHEL, openSUSE), then optionally rebuilds the image's initramfs.
#
#   install.sh [--root DIR] [--initramfs-tools] [--dracut] [--update]
#
# Without --initramfs-tools or --dracut it installs for whichever generator
# DIR has. --update runs update-initramfs -u -k all or dracut -f
# --regenerate-all inside DIR (chroot unless DIR is /).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=/
itools=n
dracut=n
update=n
while [ $# -gt 0 ]; do
	case "$1" in
	--root) root=${2:?--root needs a folder}; shift ;;
	--root=*) root=${1#--root=} ;;
	--initramfs-tools) itools=y ;;
	--dracut) dracut=y ;;
	--update) update=y ;;
	-h | --help) sed -n '2,11p' "$0"; exit 0 ;;
	*) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done
# A packaging DESTDIR may not exist yet when the generators are named.
if [ ! -d "$root" ]; then
	if [ $itools = y ] || [ $dracut = y ]; then mkdir -p "$root"; else
		echo "install.sh: $root is not a folder" >&2
		exit 1
	fi
fi
root=${root%/}
if [ $itools = n ] && [ $dracut = n ]; then
	[ -d "$root/usr/share/initramfs-tools" ] && itools=y
	[ -d "$root/usr/lib/dracut" ] && dracut=y
	if [ $itools = n ] && [ $dracut = n ]; then
		echo "install.sh: ${root:-/} has neither initramfs-tools nor dracut; install one, or say --initramfs-tools or --dracut" >&2
		exit 1
	fi
fi
if [ ! -x "$root/usr/sbin/nbd-client" ] && [ ! -x "$root/sbin/nbd-client" ]; then
	echo "install.sh: warning: ${root:-/} has no nbd-client yet (apt-get install nbd-client / dnf install nbd); the initramfs needs it" >&2
fi

put() { # SOURCE DEST MODE
	mkdir -p "$(dirname "$2")"
	cp "$1" "$2"
	chmod "$3" "$2"
	echo "  ${2#"$root"}"
}

# streamboot-nbd keeps the root disk connected across server restarts;
# without it the initramfs falls back to nbd-client, which cannot.
nbd="$here/nbd/streamboot-nbd"
if [ ! -x "$nbd" ] || [ "$here/nbd/streamboot-nbd.c" -nt "$nbd" ]; then
	if command -v "${CC:-cc}" >/dev/null 2>&1; then
		make -s -C "$here" all || { echo "install.sh: building nbd/streamboot-nbd failed (see above)" >&2; exit 1; }
	else
		echo "install.sh: warning: no C compiler (apt-get install gcc libc6-dev): nbd/streamboot-nbd is not built, so the client cannot reconnect after a server restart (nbd-client is used instead)" >&2
	fi
fi

echo "install.sh: installing the Streamboot client boot component into ${root:-/}"
put "$here/lib/streamboot-lib.sh" "$root/usr/lib/streamboot/streamboot-lib.sh" 0644
[ -x "$nbd" ] && put "$nbd" "$root/usr/lib/streamboot/streamboot-nbd" 0755
if [ $itools = y ]; then
	t="$root/usr/share/initramfs-tools"
	put "$here/initramfs-tools/hooks/streamboot" "$t/hooks/streamboot" 0755
	put "$here/initramfs-tools/scripts/init-top/streamboot" "$t/scripts/init-top/streamboot" 0755
	put "$here/initramfs-tools/scripts/streamboot" "$t/scripts/streamboot" 0644
fi
if [ $dracut = y ]; then
	m="$root/usr/lib/dracut/modules.d/90streamboot"
	put "$here/dracut/90streamboot/module-setup.sh" "$m/module-setup.sh" 0755
	put "$here/dracut/90streamboot/parse-streamboot.sh" "$m/parse-streamboot.sh" 0755
	put "$here/dracut/90streamboot/streambootroot.sh" "$m/streambootroot.sh" 0755
	put "$here/lib/streamboot-lib.sh" "$m/streamboot-lib.sh" 0644
	mkdir -p "$root/etc/dracut.conf.d"
	echo 'add_dracutmodules+=" streamboot "' >"$root/etc/dracut.conf.d/90-streamboot.conf"
	echo "  /etc/dracut.conf.d/90-streamboot.conf"
fi

if [ $update = y ]; then
	run() { if [ -z "$root" ]; then "$@"; else chroot "$root" "$@"; fi; }
	[ $itools = y ] && run update-initramfs -u -k all
	[ $dracut = y ] && run dracut -f --regenerate-all
else
	echo "install.sh: now rebuild the image's initramfs (update-initramfs -u -k all, or dracut -f --regenerate-all), or run again with --update"
fi
