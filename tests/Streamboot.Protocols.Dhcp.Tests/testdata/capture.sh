#!/usr/bin/env bash
# Re-records the DHCP captures the golden tests parse (GoldenTests.cs): real
# clients talking to dnsmasq, all inside two network namespaces this script
# makes and removes (nothing touches the host's interfaces). Run as root:
#   tests/Streamboot.Protocols.Dhcp.Tests/testdata/capture.sh
# then STREAMBOOT_UPDATE_GOLDEN=1 dotnet test ... --filter GoldenTests to
# rewrite the .parsed files, and read the diff.
# Needs: udhcpc isc-dhcp-client nmap tcpdump dnsmasq-base qemu-system-x86
# ipxe-qemu python3.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
id=$$
srv="sbcap-s$id" cli="sbcap-c$id" work="$(mktemp -d)"
pids=()

cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  ip netns del "$srv" 2>/dev/null || true
  ip netns del "$cli" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$srv"
ip netns add "$cli"
ip link add "cs$id" type veth peer name "cc$id"
ip link set "cs$id" netns "$srv"
ip link set "cc$id" netns "$cli"
ip -n "$srv" link set lo up
ip -n "$srv" addr add 10.99.0.1/24 dev "cs$id"
ip -n "$srv" link set "cs$id" up
ip -n "$cli" link set lo up
ip -n "$cli" link add br0 type bridge
ip -n "$cli" link set "cc$id" master br0
ip -n "$cli" link set "cc$id" up
ip -n "$cli" link set br0 up

ip netns exec "$srv" dnsmasq --no-daemon --conf-file=/dev/null --port=0 --interface="cs$id" --bind-interfaces \
  --dhcp-range=10.99.0.100,10.99.0.150,255.255.255.0,1h --dhcp-boot=undionly.kpxe \
  --dhcp-leasefile="$work/leases" --pid-file="$work/dnsmasq.pid" >"$work/dnsmasq.log" 2>&1 &
pids+=($!)
sleep 1

# capture NAME COMMAND...: runs the command in the client namespace while tcpdump records br0.
capture() {
  local name="$1"; shift
  ip netns exec "$cli" tcpdump -i br0 -U -w "$here/$name.pcap" 'udp port 67 or udp port 68 or udp port 4011' 2>"$work/tcpdump.log" &
  local dump=$!
  sleep 1
  ip netns exec "$cli" "$@" >"$work/$name.log" 2>&1 || true
  sleep 1
  kill -INT "$dump"; wait "$dump" || true
  echo "capture.sh: $name: $(tcpdump -r "$here/$name.pcap" 2>/dev/null | wc -l) packets"
}

capture udhcpc udhcpc -i br0 -f -q -n -t 3 -T 1 -s /bin/true -V PXEClient:Arch:00000:UNDI:002001 -x 0x5d:0000 -x 0x61:00112233445566778899aabbccddeeff00

printf 'option pxe-arch code 93 = unsigned integer 16;\nsend vendor-class-identifier "PXEClient:Arch:00007:UNDI:003016";\nsend pxe-arch 7;\n' >"$work/dhclient.conf"
dh=(-cf "$work/dhclient.conf" -lf "$work/dhclient.leases" -pf "$work/dhclient.pid" -sf /bin/true)
capture dhclient sh -c "dhclient ${dh[*]} -1 br0 && sleep 1 && dhclient ${dh[*]} -r br0"

ip -n "$cli" addr add 10.99.0.250/24 dev br0
capture nmap nmap -n -e br0 --script broadcast-dhcp-discover --script-args broadcast-dhcp-discover.timeout=2s,broadcast-dhcp-discover.mac=de:ad:c0:de:ca:fe

# Crafted: a DISCOVER whose options continue in file and sname (option 52 = 3),
# with option 60 split into three pieces (RFC 3396), as no common client sends.
capture crafted python3 - <<'PY'
import socket, struct
def opt(code, data): return bytes([code, len(data)]) + data
header = struct.pack("!BBBBIHH4s4s4s4s16s", 1, 1, 6, 0, 0x5b000001, 0, 0x8000, bytes(4), bytes(4), bytes(4), bytes(4), bytes.fromhex("525400c0ffee") + bytes(10))
sname = (opt(60, b":Arch:00000") + b"\xff").ljust(64, b"\0")
file = (opt(60, b"PXEClient") + opt(93, b"\0\0") + opt(97, b"\0" + bytes(range(16))) + b"\xff").ljust(128, b"\0")
options = b"\x63\x82\x53\x63" + opt(53, b"\x01") + opt(52, b"\x03") + opt(60, b"") + opt(55, bytes([1, 3, 43, 60, 66, 67])) + b"\xff"
packet = header + sname + file + options
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"br0")
s.bind(("0.0.0.0", 68))
s.sendto(packet, ("255.255.255.255", 67))
PY

# A real PXE ROM: QEMU's e1000 boot ROM is iPXE (Debian's ipxe-qemu), under emulation.
ip -n "$cli" tuntap add tap0 mode tap
ip -n "$cli" link set tap0 master br0
ip -n "$cli" link set tap0 up
capture ipxe-qemu timeout 30 qemu-system-x86_64 -accel tcg -m 128 -display none -serial none -monitor none -no-reboot -boot n \
  -netdev tap,id=n0,ifname=tap0,script=no,downscript=no -device e1000,netdev=n0,mac=52:54:00:5b:00:01
