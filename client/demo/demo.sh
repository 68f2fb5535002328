#!/usr/bin/env bash
# Streamboot demo: one diskless VM boots the test OS from Streamboot, start to
# finish, on this machine alone. Run through './streamboot demo' (which checks
# the flags and passes them on):
#
#   demo.sh --bin STREAMBOOT --timeout SECONDS [--data DIR] [--check]
#
# 1. installs the Debian packages it needs (apt-get, root),
# 2. builds the test OS (client/testimage/build.sh, cached in artifacts/testos),
# 3. sets up a data folder: the test OS as vDisk 'testos' with its boot
#    files, collection 'demo', the VM's MAC as device DEMO-01, assigned,
# 4. makes a private network namespace with a bridge (the host's own
#    interfaces are never touched) and runs 'streamboot serve' in it as the
#    network's DHCP server (full mode), TFTP, HTTP and NBD server,
# 5. boots one diskless QEMU VM on a tap of that bridge and shows its serial
#    console live until the test OS reports from its streamed root.
# Then it explains what happened and waits for Ctrl+C (or, with --check,
# checks the test OS's hostname against the device's name and exits:
# 0 it did, 1 it did not, with the reason). It always cleans up: VM, server,
# namespace, and the data folder unless --data named it.
set -uo pipefail

here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
bin="" timeout=300 data="" check=0
while (($#)); do
	case "$1" in
	--bin) bin="$2"; shift 2 ;;
	--timeout) timeout="$2"; shift 2 ;;
	--data) data="$2"; shift 2 ;;
	--check) check=1; shift ;;
	*) echo "demo.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
[[ -x $bin ]] || { echo "demo.sh: give --bin with the streamboot binary (run it as './streamboot demo')" >&2; exit 2; }

if [[ -t 1 && $check -eq 0 ]]; then
	B=$'\e[1m' C=$'\e[1;36m' G=$'\e[1;32m' R=$'\e[1;31m' N=$'\e[0m'
else
	B="" C="" G="" R="" N=""
fi
say() { printf '%s==> %s%s\n' "$C" "$*" "$N"; }
fail() { printf '%sstreamboot demo: FAILED: %s%s\n' "$R" "$*" "$N" >&2; exit 1; }

export PATH="$PATH:/usr/sbin:/sbin"
if [[ $(id -u) -ne 0 ]]; then
	echo "streamboot demo: needs root: it installs Debian packages, creates a network namespace and a tap device for the VM; run: sudo ./streamboot demo" >&2
	exit 1
fi

# 1. Packages: the VM and its firmware, the test OS builder's tools, the network.
packages=(
	qemu-system-x86 ipxe-qemu ipxe                                  # the VM, its NIC's iPXE ROM, iPXE for TFTP
	linux-image-amd64 initramfs-tools busybox-static nbd-client     # the test OS's kernel, initrd and userland
	e2fsprogs dosfstools mtools syslinux syslinux-common fdisk zstd # the test OS's disk
	iproute2 curl socat                                             # namespace and tap; health probe; console
)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	say "installing Debian packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get update -q >/tmp/streamboot-demo-apt.log 2>&1 ||
		! apt-get install -y -q --no-install-recommends "${missing[@]}" >>/tmp/streamboot-demo-apt.log 2>&1; then
		tail -n 20 /tmp/streamboot-demo-apt.log >&2
		fail "apt-get install ${missing[*]} failed (log: /tmp/streamboot-demo-apt.log)"
	fi
else
	say "packages: all ${#packages[@]} present"
fi

# 2. The test OS (build.sh keeps outputs newer than its inputs).
testos="$repo/artifacts/testos"
say "test OS: client/testimage/build.sh $testos"
"$repo/client/testimage/build.sh" "$testos" || fail "client/testimage/build.sh failed (output above)"

start=$SECONDS
deadline=$((SECONDS + timeout))
left() { echo $((deadline - SECONDS)); }

# 3. The data folder and the site in it.
own_data=0
if [[ -z $data ]]; then
	data="$(mktemp -d /tmp/streamboot-demo.XXXXXX)"
	own_data=1
fi
mkdir -p "$data" && data="$(cd "$data" && pwd)"
ns="sbdemo-$$"
mac="52:54:00:de:00:01"
vdisk=testos
subnet=10.213.0
run="$data/demo"
mkdir -p "$run"
console="$run/console.log" serial="$run/console.sock" serve_log="$run/serve.log"
: >"$console"
serve_pid="" qemu_pid="" tail_pid="" ns_made=0

cleanup() {
	trap - EXIT INT TERM
	local rc=${1:-$?}
	[[ -n $tail_pid ]] && kill "$tail_pid" 2>/dev/null
	if ((rc == 1)) && [[ -s ${serve_log:-} ]]; then
		echo "streamboot demo: the server's last log lines:" >&2
		tail -n 15 "$serve_log" >&2
	fi
	if [[ -n $qemu_pid ]] && kill -0 "$qemu_pid" 2>/dev/null; then
		kill "$qemu_pid" 2>/dev/null
		wait "$qemu_pid" 2>/dev/null
	fi
	if [[ -n $serve_pid ]] && kill -0 "$serve_pid" 2>/dev/null; then
		kill -TERM "$serve_pid" 2>/dev/null
		for _ in $(seq 100); do kill -0 "$serve_pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$serve_pid" 2>/dev/null
		wait "$serve_pid" 2>/dev/null
		serve_rc=$?
		((serve_rc == 0)) || echo "streamboot demo: warning: streamboot serve exited $serve_rc when stopped (log: $serve_log)" >&2
	fi
	if ((ns_made)); then
		# Anything still running in the namespace is this demo's: it goes too.
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
		ip netns delete "$ns" 2>/dev/null
	fi
	if ((own_data)); then rm -rf "$data"; fi
	echo "streamboot demo: cleaned up (VM, server, network namespace $ns$( ((own_data)) && echo ", data folder $data"))"
	exit "$rc"
}
trap 'cleanup $?' EXIT
trap 'echo; cleanup 130' INT
trap 'cleanup 143' TERM

sb() { "$bin" --data "$data" "$@"; }
say "data folder $data: vDisk, collection, device, assignment"
if ! sb vdisk show "$vdisk" >/dev/null 2>&1; then
	sb vdisk import "$vdisk" "$testos/disk.img" --format raw >/dev/null || fail "vdisk import failed"
fi
store="$(sb vdisk show "$vdisk" --json | sed -n 's/.*"storePath": *"\([^"]*\)".*/\1/p' | head -n 1)"
[[ -d $store ]] || fail "cannot find vDisk $vdisk's folder (vdisk show --json has no storePath)"
# The kernel, initrd and kernel parameters beside the vDisk make the boot script load them over HTTP.
mkdir -p "$store/boot"
cp -f "$testos/vmlinuz" "$testos/initrd.img" "$testos/cmdline" "$store/boot/"
sb collection show demo >/dev/null 2>&1 || sb collection add demo --pattern DEMO-## --default-vdisk "$vdisk" >/dev/null || fail "collection add failed"
sb device show "$mac" >/dev/null 2>&1 || sb device add "$mac" --collection demo >/dev/null || fail "device add failed"
device="$(sb device show "$mac" --json | sed -n 's/.*"name": *"\([^"]*\)".*/\1/p' | head -n 1)"
[[ -n $device ]] || fail "device $mac has no name"
sb assign "$device" "$vdisk" >/dev/null 2>&1 || sb device show "$device" | grep -q "$vdisk" || fail "assign $device $vdisk failed"
echo "    vDisk $vdisk ($(du -h --apparent-size "$testos/disk.img" | cut -f1), boot files in $store/boot), collection demo, device $device = $mac, assigned"

# 4. The private boot network and the server in it.
say "network namespace $ns: bridge sbbr0 $subnet.1/24 (the host's interfaces are not touched)"
ip netns add "$ns" || fail "cannot create network namespace $ns"
ns_made=1
inns() { ip netns exec "$ns" "$@"; }
inns ip link set lo up &&
	inns ip link add sbbr0 type bridge &&
	inns ip addr add "$subnet.1/24" dev sbbr0 &&
	inns ip link set sbbr0 up &&
	inns ip tuntap add dev sbtap0 mode tap &&
	inns ip link set sbtap0 master sbbr0 &&
	inns ip link set sbtap0 up &&
	# A veth pair on the bridge gives it a carrier before the VM starts, so it
	# has its IPv6 link-local address when serve sends router advertisements
	# (without one, iPXE waits for them: DESIGN.md).
	inns ip link add sbport0 type veth peer name sbport1 &&
	inns ip link set sbport0 master sbbr0 &&
	inns ip link set sbport0 up &&
	inns ip link set sbport1 up || fail "cannot set up the bridge and tap in $ns"

say "streamboot serve --dhcp full --dhcp-interface sbbr0 --dhcp-range $subnet.100-$subnet.199 (log: $serve_log)"
# Started with ip itself (not the inns function), so that $! is the server:
# ip netns exec execs the program in place.
STREAMBOOT_DATA= STREAMBOOT_DB= ip netns exec "$ns" "$bin" serve --data "$data" --bind 0.0.0.0 --http-port 8080 --nbd-port 10809 \
	--dhcp full --dhcp-interface sbbr0 --dhcp-range "$subnet.100-$subnet.199" >"$serve_log" 2>&1 &
serve_pid=$!
until inns curl -sf -o /dev/null http://127.0.0.1:8080/healthz; do
	kill -0 "$serve_pid" 2>/dev/null || fail "streamboot serve exited"
	(($(left) > 0)) || fail "streamboot serve did not answer on :8080 within the time limit (${timeout} s)"
	sleep 0.3
done
echo "    serving: HTTP :8080, NBD :10809, TFTP :69, DHCP on sbbr0"

# 5. The VM: no disk, boots from its NIC (iPXE ROM), console on the serial port.
accel=tcg
say "QEMU VM $mac, diskless, $accel emulation (KVM cannot boot a kernel on this kind of machine), NIC on sbtap0"
ip netns exec "$ns" qemu-system-x86_64 -accel "$accel" -m 256 -display none -monitor none -no-reboot -machine graphics=off \
	-chardev "socket,id=serial0,path=$serial,server=on,wait=off,logfile=$console" -serial chardev:serial0 \
	-netdev tap,id=n0,ifname=sbtap0,script=no,downscript=no -device "e1000,netdev=n0,mac=$mac" -boot n \
	>"$run/qemu.log" 2>&1 &
qemu_pid=$!
vm_start=$SECONDS
say "the VM's serial console, live:"
echo "------------------------------------------------------------------------"

# Milestones: a header before the console line that starts each step.
steps=(
	"iPXE|1. firmware: the NIC's iPXE ROM starts and asks for an address (DHCP)"
	"net0: $subnet.|2. DHCP: Streamboot (full mode) gave an address and the boot file: the boot script over HTTP"
	"Streamboot:|3. the boot script: Streamboot looked up the MAC in its database and chose the vDisk"
	"Linux version|4. the kernel: iPXE loaded vmlinuz and initrd.img over HTTP from the vDisk's boot folder"
	"streamboot:|5. the initramfs (client/linux): it connects the root over NBD to Streamboot"
	"STREAMBOOT-TEST-OS up:|6. the test OS runs from the streamed vDisk"
)
# The console without carriage returns and terminal controls (SeaBIOS and
# iPXE reset and clear the screen, which would wipe what this printed).
csi=$'\e''\[[0-9;?]*[A-Za-z]'
plain() {
	local s="${1//$'\r'/}"
	s="${s//$'\e'c/}"
	while [[ $s =~ $csi ]]; do s="${s/"${BASH_REMATCH[0]}"/}"; done
	printf '%s' "$s"
}
next=0
up_line=""
exec 8< <(exec tail -n +1 -F "$console" 2>/dev/null)
tail_pid=$!
while :; do
	if IFS= read -r -t 1 -u 8 line; then
		clean="$(plain "$line")"
		# A step's header before its first line (a later step seen first skips the ones between).
		for ((i = next; i < ${#steps[@]}; i++)); do
			if [[ $clean == *"${steps[i]%%|*}"* ]]; then
				printf '\n%s--- %s%s\n' "$B" "${steps[i]#*|}" "$N"
				next=$((i + 1))
				break
			fi
		done
		printf '%s\n' "$clean"
		if [[ $clean == *"STREAMBOOT-TEST-OS up:"* ]]; then
			up_line="${clean#*STREAMBOOT-TEST-OS up:}"
			break
		fi
	else
		[[ -n ${line:-} ]] && plain "$line"
		kill -0 "$qemu_pid" 2>/dev/null || { cat "$run/qemu.log" >&2; fail "QEMU exited before the test OS came up (its output above)"; }
		kill -0 "$serve_pid" 2>/dev/null || fail "streamboot serve exited during the boot"
		(($(left) > 0)) || fail "the VM did not reach the test OS within the time limit (${timeout} s)"
	fi
done
boot_seconds=$((SECONDS - vm_start))
kill "$tail_pid" 2>/dev/null
tail_pid=""
echo "------------------------------------------------------------------------"

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $up_line"; }
hostname="$(field hostname)" root="$(field root)" cache="$(field cache)"
sessions="$(sb session list 2>&1)"
if [[ $hostname != "$device" ]]; then
	fail "the test OS came up as hostname=$hostname, not as the device's name $device"
fi
if ! grep -q "$device" <<<"$sessions"; then
	fail "no session for $device in 'streamboot session list'"
fi

printf '\n%sThe VM booted diskless from Streamboot as %s in %d s (QEMU start to test OS).%s\n' "$G" "$device" "$boot_seconds" "$N"
cat <<EOF
What happened:
  1. The VM has no disk. Its NIC's iPXE ROM asked the network for an address.
  2. Streamboot's DHCP (full mode on sbbr0) answered: an address from
     $subnet.100-199 and, for iPXE, http://$subnet.1:8080/boot.ipxe?mac=$mac
     (with iPXE's uuid, buildarch and platform: one fetch, the decision).
  3. The boot script found MAC $mac as device $device (collection demo),
     assigned vDisk $vdisk, and loaded the kernel and initrd beside the vDisk.
  4. The initramfs (client/linux) connected NBD export $vdisk/$device
     to $subnet.1:10809, mounted $root as the root (write cache: $cache),
     and named the machine $device as the database says.
  5. The test OS printed its line from the streamed root.

streamboot session list:
$sessions
EOF

if ((check)); then
	echo "streamboot demo: OK: $device runs the test OS from vDisk $vdisk (hostname=$hostname root=$root) after ${boot_seconds} s"
	exit 0
fi

cat <<EOF

Go on (in another terminal, while this one runs):
  ./streamboot --data $data session list       # who streams what
  ./streamboot --data $data device list        # more: README.md "Quick start"
  ip netns exec $ns curl -s localhost:8080/healthz
  socat -,rawer,escape=0x1d UNIX-CONNECT:$serial   # the VM's console (Enter for its prompt; Ctrl+] leaves)
  less $serve_log                               # the server's log: DHCP, HTTP, NBD
Press Ctrl+C here to stop: the VM, the server and the namespace go$( ((own_data)) && echo ", and the data folder")
EOF
while kill -0 "$qemu_pid" 2>/dev/null && kill -0 "$serve_pid" 2>/dev/null; do
	sleep 1
done
fail "the VM or the server stopped"
