# Streamboot client boot component: the steps every initramfs generator
# shares (sourced by the initramfs-tools boot script and the dracut module).
#
# Plain POSIX sh for busybox ash, dash and bash. The adapter that sources
# this file brings the network up first, then sets
#   SB_DHCP_SERVER    the DHCP answer's next-server (siaddr) or server id
#   SB_DHCP_FILENAME  the DHCP boot file name (an http:// URL names the server)
#   SB_MAC            the MAC address of the interface that got the address
# and defines sb_panic MESSAGE (its framework's way to stop with a shell).
# Then it calls sb_boot NEWROOT, which returns non-zero after sb_panic.
#
# Nothing here knows the server's database: the session comes from the
# kernel command line (streamboot.*, written by the server's iPXE script)
# or, for images booted another way (SAN boot of a whole disk), from
# GET SERVER/boot/identity?mac=MAC.
#
# The boot's key (it opens this device's disk; without it the server serves
# only a read-only view) is never on the command line, which every user of
# the running OS can read: the boot script loads it as an initramfs piece
# of its own (SB_KEY_FILE), or /boot/identity hands it over once. It goes to
# streamboot-nbd through its environment (readable by root only), never in
# an argument or in session.env.

SB_HTTP_PORT=8080
SB_NBD_PORT=10809
SB_RUN=/run/streamboot
SB_KEY_FILE=/etc/streamboot/boot.key
SB_CA_FILE=/etc/streamboot/ca-cert.pem

sb_log() {
	echo "streamboot: [$(sb_uptime)] $*"
}

sb_uptime() {
	read -r up _ </proc/uptime
	echo "$up"
}

# One line that says what failed, then the framework's shell.
sb_fail() {
	sb_panic "streamboot: ERROR: $*"
	return 1
}

# Reads streamboot.* and the generic root parameters from /proc/cmdline.
sb_parse_cmdline() {
	SB_URL="" SB_NBD="" SB_EXPORT="" SB_NAME="" SB_MACHINE_ID="" SB_CACHE=""
	SB_LOCALDISK="" SB_ROOT="" SB_NBDDEV=/dev/nbd0 SB_TIMEOUT="" SB_WAIT=60
	SB_RAMSIZE=50% SB_FSTYPE="" SB_FLAGS="" SB_BOOTIF="" SB_RECONNECT="" SB_NBDCLIENT="" SB_KEY="" SB_TLS="" SB_SERVERS="" SB_IP=""
	sb_root_param=""
	[ -r "$SB_KEY_FILE" ] && read -r SB_KEY <"$SB_KEY_FILE"
	for x in $(cat /proc/cmdline); do
		case "$x" in
		streamboot.url=*) SB_URL=${x#*=} ;;
		streamboot.nbd=*) SB_NBD=${x#*=} ;;
		streamboot.servers=*) SB_SERVERS=${x#*=} ;;
		streamboot.export=*) SB_EXPORT=${x#*=} ;;
		streamboot.key=*) SB_KEY=${x#*=} ;;
		streamboot.tls=*) SB_TLS=${x#*=} ;;
		streamboot.name=*) SB_NAME=${x#*=} ;;
		streamboot.machine_id=*) SB_MACHINE_ID=${x#*=} ;;
		streamboot.cache=*) SB_CACHE=${x#*=} ;;
		streamboot.ip=*) SB_IP=${x#*=} ;;
		streamboot.localdisk=*) SB_LOCALDISK=${x#*=} ;;
		streamboot.root=*) SB_ROOT=${x#*=} ;;
		streamboot.nbddev=*) SB_NBDDEV=${x#*=} ;;
		streamboot.timeout=*) SB_TIMEOUT=${x#*=} ;;
		streamboot.wait=*) SB_WAIT=${x#*=} ;;
		streamboot.reconnect=*) SB_RECONNECT=${x#*=} ;;
		streamboot.nbdclient=*) SB_NBDCLIENT=${x#*=} ;;
		streamboot.ramsize=*) SB_RAMSIZE=${x#*=} ;;
		streamboot.debug) set -x ;;
		# root= names a partition of the NBD disk; anything else (a
		# generator's own root=, UUID=...) is not ours to interpret.
		root=/dev/nbd*) sb_root_param=${x#root=} ;;
		rootfstype=*) SB_FSTYPE=${x#*=} ;;
		rootflags=*) SB_FLAGS=${x#*=} ;;
		BOOTIF=*) SB_BOOTIF=${x#*=} ;;
		esac
	done
	[ -n "$SB_ROOT" ] || SB_ROOT=$sb_root_param
	case "$SB_ROOT" in auto) SB_ROOT="" ;; esac
}

# GET a URL to stdout with whichever client the initramfs has.
sb_http_get() {
	if command -v curl >/dev/null 2>&1; then
		curl -fsS --max-time 10 "$1"
	elif command -v timeout >/dev/null 2>&1; then
		# Not wget -T: busybox 1.35's wget crashes with it.
		timeout 15 wget -q -O - "$1"
	else
		wget -q -O - "$1"
	fi
}

# The value of a string field of the flat JSON object /boot/identity
# returns ("name":"LAB-001"); empty for null or missing.
sb_json_field() {
	printf '%s' "$1" | tr -d '\n' | sed -n "s/.*\"$2\"[[:space:]]*:[[:space:]]*\"\\([^\"]*\\)\".*/\\1/p"
}

# Which server to ask when the command line does not say: the DHCP boot
# file's URL (an iPXE script URL points at the server), else the DHCP
# next-server.
sb_resolve_url() {
	[ -n "$SB_URL" ] && return 0
	case "$SB_DHCP_FILENAME" in
	http://*)
		hostport=${SB_DHCP_FILENAME#http://}
		hostport=${hostport%%/*}
		SB_URL="http://$hostport"
		return 0
		;;
	esac
	if [ -n "$SB_NBD" ]; then
		SB_URL="http://$(sb_host_of "$SB_NBD"):$SB_HTTP_PORT"
	elif [ -n "$SB_DHCP_SERVER" ] && [ "$SB_DHCP_SERVER" != 0.0.0.0 ]; then
		SB_URL="http://$SB_DHCP_SERVER:$SB_HTTP_PORT"
	fi
}

# The boot NIC's address as iPXE got it (streamboot.ip=ADDRESS:NETMASK:GATEWAY:DNS)
# in the ip= form of klibc's ipconfig (client::gateway:netmask:::off:dns), so
# the initramfs configures it without a second DHCP; nothing (and status 1)
# when iPXE had no IPv4 address to give.
sb_static_ip() {
	[ -n "$SB_IP" ] || return 1
	old_ifs=$IFS
	IFS=:
	# shellcheck disable=SC2086
	set -- $SB_IP
	IFS=$old_ifs
	case "$1" in
	"" | 0.0.0.0 | *[!0-9.]*) return 1 ;;
	esac
	case "$2" in
	"" | 0.0.0.0 | *[!0-9.]*) return 1 ;;
	esac
	# A gateway or DNS server that is not a plain address would make
	# ipconfig refuse the whole line: then DHCP it is.
	case "${3:-}${4:-}" in
	*[!0-9.]*) return 1 ;;
	esac
	gw=${3:-}
	[ "$gw" = 0.0.0.0 ] && gw=""
	echo "$1::$gw:$2:::off:${4:-}"
}

sb_host_of() {
	case "$1" in
	\[*\]*) h=${1#\[}; echo "${h%%\]*}" ;;
	*:*) echo "${1%:*}" ;;
	*) echo "$1" ;;
	esac
}

sb_port_of() {
	case "$1" in
	\[*\]:*) echo "${1##*\]:}" ;;
	\[*\]) echo "$SB_NBD_PORT" ;;
	*:*) echo "${1##*:}" ;;
	*) echo "$SB_NBD_PORT" ;;
	esac
}

# Fills what the command line left out from the server's /boot/identity.
sb_identity() {
	mac=$SB_MAC
	if [ -n "$SB_BOOTIF" ]; then
		# pxelinux style: 01-52-54-00-12-34-56
		mac=$(echo "${SB_BOOTIF#??-}" | tr '-' ':')
	fi
	[ -n "$mac" ] || { sb_fail "no MAC address to ask the server who this machine is (no network interface came up)"; return 1; }
	[ -n "$SB_URL" ] || { sb_fail "no server: give streamboot.url=http://SERVER:8080 or a DHCP next-server"; return 1; }
	deadline=$(($(sb_now) + SB_WAIT))
	while :; do
		json=$(sb_http_get "$SB_URL/boot/identity?mac=$mac${SB_KEY:+&key=$SB_KEY}" 2>/dev/null) && break
		if [ "$(sb_now)" -ge "$deadline" ]; then
			sb_fail "$SB_URL/boot/identity?mac=$mac did not answer in $SB_WAIT s (not registered, its boot's key was already given out, or the server is down)"
			return 1
		fi
		sleep 2
	done
	[ -n "$SB_NAME" ] || SB_NAME=$(sb_json_field "$json" name)
	[ -n "$SB_MACHINE_ID" ] || SB_MACHINE_ID=$(sb_json_field "$json" machineId)
	[ -n "$SB_EXPORT" ] || SB_EXPORT=$(sb_json_field "$json" export)
	[ -n "$SB_CACHE" ] || SB_CACHE=$(sb_json_field "$json" writeCache)
	[ -n "$SB_NBD" ] || SB_NBD=$(sb_json_field "$json" nbd)
	[ -n "$SB_KEY" ] || SB_KEY=$(sb_json_field "$json" key)
	[ -n "$SB_SERVERS" ] || SB_SERVERS=$(sb_json_field "$json" servers)
	[ -n "$SB_EXPORT" ] || { sb_fail "the server knows $mac but assigns it no vDisk"; return 1; }
	return 0
}

sb_now() {
	read -r up _ </proc/uptime
	echo "${up%%.*}"
}

# Everything the session needs, from the command line or the server.
sb_session() {
	sb_resolve_url
	if [ -z "$SB_EXPORT" ] || [ -z "$SB_NBD" ] || [ -z "$SB_NAME" ] || [ -z "$SB_CACHE" ]; then
		sb_identity || return 1
	fi
	[ -n "$SB_NBD" ] || SB_NBD="$(sb_host_of "${SB_URL#http://}"):$SB_NBD_PORT"
	[ -n "$SB_CACHE" ] || SB_CACHE=server-disk
	case "$SB_CACHE" in
	server-disk | server-ram | none | client-ram | client-disk) ;;
	*) sb_fail "unknown write cache mode streamboot.cache=$SB_CACHE"; return 1 ;;
	esac
	case "$SB_MACHINE_ID" in
	"") ;;
	*[!0-9a-f]*) sb_fail "machine id '$SB_MACHINE_ID' is not 32 lower-case hex digits"; return 1 ;;
	*) [ ${#SB_MACHINE_ID} -eq 32 ] || { sb_fail "machine id '$SB_MACHINE_ID' is not 32 hex digits"; return 1; } ;;
	esac
	case "$SB_NAME" in
	*[!A-Za-z0-9.-]*) sb_fail "computer name '$SB_NAME' is not a valid host name"; return 1 ;;
	esac
	case "$SB_KEY" in
	"") ;;
	*[!0-9a-f]*) sb_fail "the boot's key is not 32 lower-case hex digits"; return 1 ;;
	*) [ ${#SB_KEY} -eq 32 ] || { sb_fail "the boot's key is not 32 hex digits"; return 1; } ;;
	esac
	return 0
}

# A line of a client's output with the boot's key replaced by KEY.
sb_hide_key() {
	if [ -n "$SB_KEY" ]; then sed "s/$SB_KEY/KEY/g"; else cat; fi
}

# Connects the NBD device. streamboot-nbd configures it over netlink with a
# dead-connection timeout and stays resident: when the connection drops
# (the server restarts), I/O waits and it reconnects. Without it,
# nbd-client connects (ioctl mode, -persist), and a lost connection fails
# the I/O queued meanwhile.
sb_connect() {
	modprobe -q nbd 2>/dev/null
	host=$(sb_host_of "$SB_NBD")
	port=$(sb_port_of "$SB_NBD")
	i=0
	while [ ! -b "$SB_NBDDEV" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	[ -b "$SB_NBDDEV" ] || { sb_fail "$SB_NBDDEV does not exist (is the nbd module in the initramfs?)"; return 1; }
	case "$SB_NBDCLIENT" in
	"" | streamboot-nbd | nbd-client) ;;
	*) sb_fail "unknown streamboot.nbdclient=$SB_NBDCLIENT (streamboot-nbd or nbd-client)"; return 1 ;;
	esac
	tlsopts=""
	case "$SB_TLS" in
	"" | 0 | off) ;;
	1 | on | require)
		# streamboot-nbd speaks no TLS: nbd-client (GnuTLS) does, checking
		# the server against the site's CA, which came with the key.
		[ -r "$SB_CA_FILE" ] || { sb_fail "streamboot.tls=$SB_TLS but the site's CA certificate ($SB_CA_FILE) is not in the initramfs"; return 1; }
		tlsopts="-x -A $SB_CA_FILE -H $host"
		[ "$SB_NBDCLIENT" = nbd-client ] || sb_log "connecting over TLS with nbd-client (streamboot-nbd has no TLS)"
		SB_NBDCLIENT=nbd-client
		;;
	*) sb_fail "unknown streamboot.tls=$SB_TLS (on or off)"; return 1 ;;
	esac
	if [ "$SB_NBDCLIENT" != nbd-client ] && command -v streamboot-nbd >/dev/null 2>&1; then
		opts="-q -w $SB_WAIT"
		[ -n "$SB_TIMEOUT" ] && opts="$opts -t $SB_TIMEOUT"
		[ -n "$SB_RECONNECT" ] && opts="$opts -r $SB_RECONNECT"
		case "$SB_CACHE" in client-ram | client-disk) opts="$opts -R" ;; esac
		# A farm's other servers (streamboot.servers): the same boot continues there if this one dies.
		# shellcheck disable=SC2086
		out=$(STREAMBOOT_KEY=$SB_KEY streamboot-nbd $opts --servers "$SB_SERVERS" "$host" "$port" "$SB_EXPORT" "$SB_NBDDEV" 2>&1) \
			|| { sb_fail "$(echo "$out" | tail -n 1)"; return 1; }
	else
		if [ "$SB_NBDCLIENT" = nbd-client ]; then
			sb_log "connecting with nbd-client${tlsopts:+ over TLS}: no reconnect after a server restart"
		else
			sb_log "streamboot-nbd is not in the initramfs: connecting with nbd-client, which cannot keep the disk through a server restart"
		fi
		# nbd-client takes the export name as an argument: with a key, any
		# user of the running OS can read it in ps. streamboot-nbd does not.
		opts="-N $SB_EXPORT${SB_KEY:+/$SB_KEY} -persist -nonetlink -systemd-mark -swap $tlsopts"
		[ -n "$SB_TIMEOUT" ] && opts="$opts -timeout $SB_TIMEOUT"
		case "$SB_CACHE" in client-ram | client-disk) opts="$opts -readonly" ;; esac
		deadline=$(($(sb_now) + SB_WAIT))
		while :; do
			# shellcheck disable=SC2086
			out=$(nbd-client "$host" "$port" "$SB_NBDDEV" $opts 2>&1) && break
			if [ "$(sb_now)" -ge "$deadline" ]; then
				sb_fail "nbd-client $host $port -N $SB_EXPORT failed for $SB_WAIT s: $(echo "$out" | tail -n 1 | sb_hide_key)"
				return 1
			fi
			sleep 2
		done
	fi
	# The kernel reads the partition table on the first open; ask once
	# more in case that open came before the size was known.
	base=${SB_NBDDEV##*/}
	i=0
	while [ "$(cat /sys/block/"$base"/size 2>/dev/null || echo 0)" = 0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	blockdev --rereadpt "$SB_NBDDEV" 2>/dev/null
	command -v udevadm >/dev/null 2>&1 && udevadm settle --timeout=10 2>/dev/null
	return 0
}

sb_fstype() {
	FSTYPE=""
	if command -v fstype >/dev/null 2>&1; then
		eval "$(fstype "$1" 2>/dev/null)"
	fi
	if { [ -z "$FSTYPE" ] || [ "$FSTYPE" = unknown ]; } && command -v blkid >/dev/null 2>&1; then
		FSTYPE=$(blkid -o value -s TYPE "$1" 2>/dev/null)
	fi
	[ "$FSTYPE" = unknown ] && FSTYPE=""
	echo "$FSTYPE"
}

# Mounts a file system of the NBD disk; ro mounts of ext3/ext4 skip the
# journal (a read-only device cannot replay it).
sb_mount_dev() { # DEV DIR ro|rw
	t=${SB_FSTYPE:-$(sb_fstype "$1")}
	o=$3
	case "$3:$t" in ro:ext3 | ro:ext4) o="ro,noload" ;; esac
	[ -n "$SB_FLAGS" ] && o="$o,$SB_FLAGS"
	if [ -n "$t" ]; then
		modprobe -q "$t" 2>/dev/null
		mount -t "$t" -o "$o" "$1" "$2"
	else
		mount -o "$o" "$1" "$2"
	fi
}

sb_has_init() {
	for f in sbin/init usr/sbin/init lib/systemd/systemd usr/lib/systemd/systemd; do
		{ [ -L "$1/$f" ] || [ -e "$1/$f" ]; } && return 0
	done
	return 1
}

# root=/dev/nbd0pN, or the first partition holding an init, or the whole disk.
sb_find_root() {
	base=${SB_NBDDEV##*/}
	if [ -n "$SB_ROOT" ]; then
		i=0
		while [ ! -b "$SB_ROOT" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		[ -b "$SB_ROOT" ] || { sb_fail "root=$SB_ROOT does not exist on the streamed disk (partitions: $(cd /sys/block/"$base" && echo "$base"p*))"; return 1; }
		return 0
	fi
	probe=$SB_RUN/probe
	mkdir -p "$probe"
	n=1
	candidates=""
	while [ $n -le 16 ]; do
		[ -e "/sys/block/$base/${base}p$n" ] && candidates="$candidates /dev/${base}p$n"
		n=$((n + 1))
	done
	for dev in $candidates "$SB_NBDDEV"; do
		if sb_mount_dev "$dev" "$probe" ro 2>/dev/null; then
			sb_has_init "$probe" && found=y || found=n
			umount "$probe"
			if [ $found = y ]; then
				SB_ROOT=$dev
				rmdir "$probe"
				return 0
			fi
		fi
	done
	rmdir "$probe"
	sb_fail "no partition of $SB_EXPORT holds /sbin/init (give root=/dev/${base}pN)"
	return 1
}

# An overlay whose upper layer lives in $SB_RUN/rw; $SB_RUN moves into the
# OS's /run with the initramfs's /run, so the layers stay visible there.
sb_overlay() { # NEWROOT
	modprobe -q overlay 2>/dev/null
	mkdir -p "$SB_RUN/lower" "$SB_RUN/rw/upper" "$SB_RUN/rw/work"
	sb_mount_dev "$SB_ROOT" "$SB_RUN/lower" ro || { sb_fail "cannot mount $SB_ROOT read-only"; return 1; }
	mount -t overlay -o "lowerdir=$SB_RUN/lower,upperdir=$SB_RUN/rw/upper,workdir=$SB_RUN/rw/work" overlay "$1" \
		|| { sb_fail "cannot mount the overlay on $1 (is the overlay module in the initramfs?)"; return 1; }
}

# client-disk: the local disk named by streamboot.localdisk is formatted at
# every boot and holds the overlay's upper layer. Never guessed.
sb_local_disk() {
	disk=$SB_LOCALDISK
	[ -n "$disk" ] || { sb_fail "write cache client-disk needs streamboot.localdisk=/dev/DISK (that disk is erased at every boot)"; return 1; }
	i=0
	while [ ! -b "$disk" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	[ -b "$disk" ] || { sb_fail "streamboot.localdisk=$disk is not a block device"; return 1; }
	case "$(readlink -f "$disk")" in
	/dev/nbd*) sb_fail "streamboot.localdisk=$disk is the streamed disk"; return 1 ;;
	esac
	if grep -q "^$(readlink -f "$disk")[p0-9]* " /proc/mounts; then
		sb_fail "streamboot.localdisk=$disk is mounted"
		return 1
	fi
	sb_log "erasing $disk for this boot's write cache"
	if ! mke2fs -q -F -t ext4 -O ^has_journal -L streamboot-wc "$disk" >/dev/null 2>&1; then
		# busybox mke2fs (ext2): enough for an overlay's upper layer
		mke2fs -F -L streamboot-wc "$disk" >/dev/null 2>&1 || { sb_fail "cannot format $disk"; return 1; }
	fi
	mkdir -p "$SB_RUN/rw"
	modprobe -q ext4 2>/dev/null
	mount -t ext4 "$disk" "$SB_RUN/rw" 2>/dev/null || mount "$disk" "$SB_RUN/rw" || { sb_fail "cannot mount $disk"; return 1; }
}

sb_mount_root() { # NEWROOT
	case "$SB_CACHE" in
	client-ram)
		mkdir -p "$SB_RUN/rw"
		mount -t tmpfs -o "mode=0755,size=$SB_RAMSIZE" streamboot-wc "$SB_RUN/rw" || { sb_fail "cannot mount a tmpfs for the write cache"; return 1; }
		sb_overlay "$1"
		;;
	client-disk)
		sb_local_disk && sb_overlay "$1"
		;;
	*)
		# Writes go to the server (the session's write cache, or the
		# image itself when private); a new cache at every boot makes fsck
		# pointless, so the root is read-write from the start.
		sb_mount_dev "$SB_ROOT" "$1" rw || { sb_fail "cannot mount $SB_ROOT read-write"; return 1; }
		;;
	esac
}

# The computer name and machine id are the server's, never the image's.
sb_write_identity() { # NEWROOT
	[ -d "$1/etc" ] || { sb_fail "the root file system $SB_ROOT has no /etc"; return 1; }
	if [ -n "$SB_NAME" ]; then
		hostname "$SB_NAME" 2>/dev/null || echo "$SB_NAME" >/proc/sys/kernel/hostname
		echo "$SB_NAME" >"$1/etc/hostname" || { sb_fail "cannot write /etc/hostname"; return 1; }
		if [ -f "$1/etc/hosts" ] && grep -q '^127\.0\.1\.1[[:space:]]' "$1/etc/hosts"; then
			sed -i "s/^127\.0\.1\.1[[:space:]].*/127.0.1.1	$SB_NAME/" "$1/etc/hosts"
		elif [ -f "$1/etc/hosts" ]; then
			printf '127.0.1.1\t%s\n' "$SB_NAME" >>"$1/etc/hosts"
		fi
	fi
	if [ -n "$SB_MACHINE_ID" ]; then
		echo "$SB_MACHINE_ID" >"$1/etc/machine-id" || { sb_fail "cannot write /etc/machine-id"; return 1; }
	fi
	# For the OS's own scripts: which session this boot is.
	{
		echo "STREAMBOOT_URL=$SB_URL"
		echo "STREAMBOOT_NBD=$SB_NBD"
		echo "STREAMBOOT_EXPORT=$SB_EXPORT"
		echo "STREAMBOOT_NAME=$SB_NAME"
		echo "STREAMBOOT_MACHINE_ID=$SB_MACHINE_ID"
		echo "STREAMBOOT_CACHE=$SB_CACHE"
		echo "STREAMBOOT_ROOT=$SB_ROOT"
		echo "STREAMBOOT_LOCALDISK=$SB_LOCALDISK"
	} >"$SB_RUN/session.env"
}

# The whole boot after the network is up: session, NBD, root, identity.
sb_boot() { # NEWROOT
	mkdir -p "$SB_RUN"
	sb_session || return 1
	sb_log "connecting $SB_NBDDEV to $SB_NBD export $SB_EXPORT (write cache $SB_CACHE)"
	sb_connect || return 1
	sb_find_root || return 1
	sb_mount_root "$1" || return 1
	sb_write_identity "$1" || return 1
	sb_log "root $SB_ROOT mounted (write cache $SB_CACHE), this is ${SB_NAME:-an unnamed machine}"
	return 0
}
