#!/usr/bin/env bash
# Records the boot trace the storm replays: the test OS
# (client/testimage/build.sh) boots once in QEMU (TCG) with its kernel and
# initrd given directly and its root over NBD from nbdkit on loopback
# (QEMU user networking: the guest reaches the host's 127.0.0.1 as
# 10.0.2.2). nbdkit's log filter writes every request the guest's kernel
# sends; the cow filter keeps the guest's writes off the image, as a
# write cache would. The log becomes boot-trace.txt: one request a line,
#
#   MILLISECONDS OP OFFSET LENGTH
#
# (OP R or W, milliseconds since the NBD connection opened). Only the
# connection that carries the root is kept (streamboot-nbd probes once
# before connecting the kernel device, if it does).
#
# Usage: bench/Streamboot.Storm/record-trace.sh [TESTOS_DIR] [OUT]
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
root="$(cd "$here/../.." && pwd)"
testos="${1:-$root/artifacts/testos}"
out="${2:-$here/boot-trace.txt}"

die() { echo "record-trace.sh: $*" >&2; exit 1; }
command -v nbdkit >/dev/null || die "nbdkit is missing: apt-get install nbdkit"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 is missing: apt-get install qemu-system-x86"
[[ -r $testos/disk.img ]] || "$root/client/testimage/build.sh" "$testos"

work="$(mktemp -d)"
nbdkit_pid="" qemu_pid=""
cleanup() {
	[[ -n $qemu_pid ]] && kill "$qemu_pid" 2>/dev/null || true
	[[ -n $nbdkit_pid ]] && kill "$nbdkit_pid" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 10809)
# Filters nearest the client come first: the log sees what the guest sent.
nbdkit --foreground --ipaddr 127.0.0.1 --port "$port" --filter=log --filter=cow \
	file "$testos/disk.img" logfile="$work/nbd.log" &
nbdkit_pid=$!
sleep 1

append="$(cat "$testos/cmdline") panic=-1 streamboot.url=http://10.0.2.2:9 streamboot.nbd=10.0.2.2:$port"
append+=" streamboot.export=testos/trace streamboot.name=trace streamboot.cache=server-disk"
append+=" streamboot.machine_id=0123456789abcdef0123456789abcdef"
qemu-system-x86_64 -accel tcg -m 256 -display none -monitor none -no-reboot \
	-kernel "$testos/vmlinuz" -initrd "$testos/initrd.img" -append "$append" \
	-netdev user,id=n0 -device e1000,netdev=n0 -serial "file:$work/console.log" &
qemu_pid=$!

started=$(date +%s)
until grep -q "STREAMBOOT-TEST-OS up:" "$work/console.log" 2>/dev/null; do
	(($(date +%s) - started < 240)) || { tail -n 30 "$work/console.log" >&2; die "the test OS did not come up in 240 s"; }
	kill -0 "$qemu_pid" 2>/dev/null || { cp "$work/console.log" "$here/.last-console.log"; die "QEMU exited (the guest's console: $here/.last-console.log)"; }
	sleep 0.5
done
echo "up after $(($(date +%s) - started)) s: $(grep -a "STREAMBOOT-TEST-OS up:" "$work/console.log" | tr -d '\r')"
# What the shell and the kernel still read right after init's line.
sleep 3
kill "$qemu_pid"; wait "$qemu_pid" 2>/dev/null || true; qemu_pid=""
kill "$nbdkit_pid"; wait "$nbdkit_pid" 2>/dev/null || true; nbdkit_pid=""

# nbdkit's log filter: "TIMESTAMP connection=N Read id=.. offset=0x.. count=0x.. ..."
# (a request line, then a "...Read ... return=" line with the same id; the
# request lines are kept). The connection with the most requests is the
# root's. Flushes are kept as "F 0 0". mawk has no strtonum: hex by hand.
awk '
function hex(h,   i, v) { v = 0; h = tolower(substr(h, 3)); for (i = 1; i <= length(h); i++) v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1; return v }
function ts(t,   a) { split(t, a, ":"); return a[1] * 3600 + a[2] * 60 + a[3] }
$3 ~ /^connection=/ && ($4 == "Read" || $4 == "Write" || $4 == "Flush") {
	c = substr($3, 12)
	op = substr($4, 1, 1); off = 0; len = 0
	for (i = 5; i <= NF; i++) {
		if ($i ~ /^offset=/) { off = hex(substr($i, 8)) }
		if ($i ~ /^count=/) { len = hex(substr($i, 7)) }
	}
	n[c]++; line[c, n[c]] = sprintf("%.6f %s %.0f %.0f", ts($2), op, off, len)
}
END {
	best = ""; for (c in n) if (best == "" || n[c] > n[best]) best = c
	split(line[best, 1], f, " "); t0 = f[1]
	print "# Boot trace of the Streamboot test OS (client/testimage), recorded by record-trace.sh"
	print "# from nbdkit --filter=log: one NBD request a line, in the order the guest sent them:"
	print "# MILLISECONDS-SINCE-FIRST-REQUEST OP(R|W|F) OFFSET LENGTH"
	for (i = 1; i <= n[best]; i++) { split(line[best, i], f, " "); printf "%.1f %s %s %s\n", (f[1] - t0) * 1000, f[2], f[3], f[4] }
}' "$work/nbd.log" >"$out"
echo "wrote $out: $(grep -c ' R ' "$out") reads, $(grep -c ' W ' "$out") writes," \
	"$(awk '$2=="R"{r+=$4} $2=="W"{w+=$4} END{printf "%.2f MB read, %.2f MB written", r/1e6, w/1e6}' "$out")"
