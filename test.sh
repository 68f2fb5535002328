#!/usr/bin/env bash
# Runs every Streamboot test on this machine: installs the Debian packages
# the tests use as real peers (when missing), builds everything in Release,
# runs each test project, and ends with one line: N passed, N failed, N skipped.
set -uo pipefail

root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
cd "$root"

# Third-party peers and servers the tests run against (see ../shared/DESIGN.md).
packages=(
  postgresql   # a real PostgreSQL server for the database suite (initdb, pg_ctl)
  qemu-utils   # qemu-img, qemu-io, qemu-nbd: storage interop peers, NBD peers
  libnbd-bin   # nbdinfo, nbdcopy: NBD clients
  python3-libnbd  # nbdsh: scripted NBD client
  nbdkit       # the NBD server Streamboot is measured against
  fio          # I/O load generator with an nbd engine
  libiscsi-bin # iscsi-ls, iscsi-inq, iscsi-readcapacity16, iscsi-swp, iscsi-perf, iscsi-test-cu: iSCSI initiators and conformance
  tgt          # tgtd: the iSCSI target Streamboot's is measured and checked against
  open-iscsi   # iscsistart: the test OS's initramfs takes its root over from the iBFT, as Windows does
  qemu-block-extra # qemu's libiscsi driver: qemu-io reads and writes iSCSI targets
  curl         # HTTP client; also a TFTP client (tftp://) for the TFTP suite
  xorriso         # streamboot bootstrap writes its ISO with it (El Torito BIOS and EFI entries, isohybrid MBR and GPT)
  isolinux        # the bootstrap ISO's boot loader
  syslinux-common # ldlinux.c32 for ISOLINUX
  ipxe            # iPXE binaries: undionly.kpxe, ipxe.efi, ipxe.lkrn
  qemu-system-x86 # diskless VMs that boot from Streamboot
  ipxe-qemu       # the iPXE NIC ROMs those VMs boot with
  swtpm           # a VM's TPM 2.0 (vm create --tpm, Windows guests): the test guest finds /dev/tpm0
  swtpm-tools     # swtpm_setup, to manufacture a TPM's endorsement key and certificates
  ovmf            # UEFI firmware: a VM whose own PXE loads ipxe.efi over TFTP; OVMF_CODE_4M.secboot.fd with Microsoft's keys for Secure Boot
  shim-signed     # shimx64.efi.signed: the Microsoft-signed shim a Secure Boot client gets first (its certificate is what a kernel must chain to)
  grub-efi-amd64-signed # grubnetx64.efi.signed: Debian's signed network GRUB the shim loads (over PXE, and from the bootstrap ISO)
  shim-helpers-amd64-signed # mmx64.efi.signed: shim's MOK manager, served over TFTP and put on the bootstrap ISO (shim-signed depends on it)
  sbsigntool      # sbverify, sbattach, sbsign: the reference the kernel signature check is tested against, and unsigned kernels for the refusal test
  dnsmasq-base    # a site's existing DHCP server in the boot tests
  linux-image-amd64 # the test OS's kernel and modules (nbd, overlay, ext4, e1000, virtio)
  initramfs-tools # mkinitramfs builds the test OS's initrd with client/linux's hook
  busybox-static  # the test OS's userland and the initramfs's shell tools
  nbd-client      # the NBD client the initramfs falls back to (and a peer of the NBD suite)
  dracut-core     # builds the test OS's dracut initramfs (beside initramfs-tools) for the dracut module's VM test
  dracut-network  # dracut's network modules (network-legacy) that module depends on
  gcc             # builds client/linux's streamboot-nbd (the test OS's connection keeper)
  libc6-dev       # its headers (linux/nbd-netlink.h) and the static libc it links
  make            # client/linux's Makefile
  e2fsprogs       # mke2fs -d: the test OS's root file system without a loop mount
  dosfstools      # mkfs.fat: the test disk's boot partition, and the bootstrap ISO's EFI partition
  mtools          # mcopy: files into those FAT partitions without a mount (and mdir to read the ISO's back)
  syslinux        # the test disk's own boot loader (installed through mtools)
  fdisk           # sfdisk: the test disk's MBR partition table
  zstd            # the initrd's compression
  iproute2     # ip netns / veth: the DHCP tests' private links
  socat        # streamboot demo's hint for the VM's console (the demo test runs it; it installs it itself too)
  udhcpc       # busybox DHCP client against the DHCP server
  isc-dhcp-client  # dhclient: DHCP client with custom options (93, 60)
  nmap         # broadcast-dhcp-discover and dhcp-discover (INFORM) scripts
  tcpdump      # records the DHCP server's replies and router advertisements
  tshark       # decodes them as a second opinion on the wire format
  ndisc6       # rdisc6: router solicitation / advertisement peer
  tftp-hpa     # tftp: the TFTP client most Linux boxes have
  atftp        # atftp: TFTP client with blksize/windowsize/tsize options (not atftpd: it removes tftpd-hpa)
  tftpd-hpa    # in.tftpd: the TFTP server Streamboot is measured against (bench/Streamboot.Tftp.Bench)
  cloud-init   # 'cloud-init schema' judges the easy-install seeds vm create writes
  tmux         # drives the vm create wizard's prompts as a terminal would
  openssl      # 'openssl passwd -6' checks the seeds' password hashes; a CA of its own that --server https must refuse
  bsdutils     # script(1): a terminal for the remote import's progress bar (Essential, listed for the record)
  cpio         # packs the test installer ISO's initramfs
  kmod         # modprobe --show-depends: that initramfs's drivers
  systemd      # systemd-analyze verify and security: the unit in deploy/
  prometheus   # promtool check metrics: judges /metrics as Prometheus would parse it
  dpkg-dev     # dpkg-shlibdeps: deploy/deb/build.sh derives the .deb's Depends from its binaries
  lintian      # judges the .deb deploy/deb/build.sh makes (Streamboot.Packaging.Tests)
  chromium     # the browser Playwright drives in Streamboot.WebConsole.Tests (Playwright's own download does not work here)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "test.sh: installing ${missing[*]}"
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null; then sudo="sudo"; else
      echo "test.sh: need root (or sudo) to install: ${missing[*]}" >&2
      echo "0 passed, 1 failed"
      exit 1
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! { $sudo apt-get update -q && $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"; } >artifacts-apt.log 2>&1; then
    cat artifacts-apt.log >&2
    echo "test.sh: apt-get install ${missing[*]} failed (log above)" >&2
    echo "0 passed, 1 failed"
    exit 1
  fi
  rm -f artifacts-apt.log
fi

if ! command -v dotnet >/dev/null; then
  echo "test.sh: the .NET SDK 10 is needed (dotnet not on PATH)" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
echo "test.sh: building (Release)"
if ! dotnet build Streamboot.slnx -c Release -nologo -clp:ErrorsOnly -v quiet; then
  echo "test.sh: build failed" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

# The launcher the tests call (./streamboot) publishes the CLI on its first
# use: done here, once, so that no test pays that build inside its time limit.
echo "test.sh: publishing the command line (./streamboot)"
if ! ./streamboot --version; then
  echo "test.sh: ./streamboot did not build" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

results="$root/artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"
passed=0 failed=0 skipped=0

attr() { sed -n "s/.*<Counters[^>]* $1=\"\([0-9]*\)\".*/\1/p" "$2" | head -1; }

for project in tests/*/*.Tests.csproj; do
  name="$(basename "$project" .csproj)"
  echo "test.sh: $name"
  dotnet test "$project" -c Release --no-build --nologo \
    --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=minimal" \
    --results-directory "$results" -- RunConfiguration.TestSessionTimeout=3000000
  code=$?
  trx="$results/$name.trx"
  if [[ -f "$trx" ]]; then
    p=$(attr passed "$trx"); f=$(attr failed "$trx"); t=$(attr total "$trx"); e=$(attr executed "$trx")
    p=${p:-0} f=${f:-0} t=${t:-0} e=${e:-0}
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + t - e))
    # A test host that crashed or hung fails the run even when no test did.
    if [[ $code -ne 0 && $f -eq 0 ]]; then failed=$((failed + 1)); fi
  else
    echo "test.sh: $name produced no results (exit $code)" >&2
    failed=$((failed + 1))
  fi
done

echo "$passed passed, $failed failed, $skipped skipped"
[[ $failed -eq 0 ]]
