#!/usr/bin/env bash
# Builds streamboot_VERSION_ARCH.deb: a self-contained publish of the
# command line (server and admin verbs; no .NET runtime needed on the
# machine) laid out as a Debian admin expects, packed by dpkg-deb.
#
#   /usr/lib/streamboot/              the program (Release, ReadyToRun)
#   /usr/bin/streamboot               -> ../lib/streamboot/streamboot
#   /etc/streamboot/appsettings.json  this machine's settings (a conffile)
#   /lib/systemd/system/streamboot.service, /usr/lib/sysusers.d/streamboot.conf
#   /var/lib/streamboot               the site's data: made by postinst,
#                                     deleted by purge only
#
# The last line on stdout is the .deb's path; progress goes to stderr.
set -euo pipefail

root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)"
here="$root/deploy/deb"

usage() {
  cat <<EOF
Usage: deploy/deb/build.sh [--out DIR] [--version VERSION] [--reuse-publish] [--compression xz|gzip]

  --out DIR          where the package and its work files go (default: artifacts/deb)
  --version VERSION  the package's version (default: the product version that
                     'streamboot --version' prints, without its +commit part)
  --reuse-publish    package DIR/publish as the last run left it instead of
                     publishing again: another version from the same binaries
  --compression C    xz (the default and the smallest: about a minute on two
                     cores) or gzip (a third larger, five times faster). Not
                     zstd: Debian 12's lintian calls such a .deb malformed.

The maintainer is \$DEBFULLNAME <\$DEBEMAIL> when both are set, as for
Debian's own tools.
EOF
}

fail() { echo "build.sh: $*" >&2; exit 1; }
usage_error() { echo "build.sh: $*" >&2; echo "Run 'deploy/deb/build.sh --help' for usage." >&2; exit 2; }

out="$root/artifacts/deb"
version=""
reuse=false
compression=xz
while (($#)); do
  case "$1" in
    --out|--version|--compression)
      [[ $# -ge 2 && -n "$2" && "$2" != --* ]] || usage_error "$1 needs a value"
      case "$1" in
        --out) out="$2" ;;
        --version) version="$2" ;;
        --compression) compression="$2" ;;
      esac
      shift 2 ;;
    --reuse-publish) reuse=true; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage_error "unknown argument '$1'" ;;
  esac
done

case "$compression" in
  xz|gzip) ;;
  *) usage_error "--compression: '$compression' is not xz or gzip" ;;
esac
for tool in dpkg dpkg-deb dpkg-shlibdeps readelf strip gzip md5sum; do
  command -v "$tool" >/dev/null || fail "$tool is missing: apt-get install dpkg-dev"
done
if [[ -n $version ]] && ! dpkg --validate-version "$version" 2>/dev/null; then
  usage_error "'$version' is not a Debian version (dpkg --validate-version: $(dpkg --validate-version "$version" 2>&1 || true))"
fi

arch="$(dpkg --print-architecture)"
case "$arch" in
  amd64) rid=linux-x64 ;;
  arm64) rid=linux-arm64 ;;  # as the launcher maps it; no test has packed one yet
  *) fail "no .NET runtime for Debian architecture '$arch' (amd64 and arm64 have one)" ;;
esac

mkdir -p "$out" || fail "cannot make $out"
out="$(cd "$out" && pwd)"
publish="$out/publish"

if $reuse; then
  [[ -x "$publish/streamboot" && -f "$publish/libcoreclr.so" ]] \
    || fail "--reuse-publish: no self-contained publish in $publish; run once without --reuse-publish"
else
  command -v dotnet >/dev/null || fail "the .NET SDK is needed (dotnet not on PATH): install dotnet-sdk-10.0"
  echo "build.sh: publishing for $rid (self-contained, Release, ReadyToRun)..." >&2
  rm -rf "$publish"
  # A build folder of its own (--artifacts-path): the launcher's
  # framework-dependent publish for the same RID lives in artifacts/obj, and
  # the two must not rebuild over each other. No build servers: nothing of
  # this build stays running after it.
  if ! dotnet publish "$root/src/Streamboot.Cli/Streamboot.Cli.csproj" -c Release -r "$rid" --self-contained true \
      -p:PublishReadyToRun=true -p:PublishDocumentationFile=false -p:PublishReferencesDocumentationFiles=false \
      --artifacts-path "$out/build" -o "$publish" --disable-build-servers -nologo -clp:ErrorsOnly >"$out/publish.log" 2>&1; then
    cat "$out/publish.log" >&2
    fail "dotnet publish failed (log: $out/publish.log)"
  fi
fi

# The product version as the program itself reports it: 0.1.0+<commit>.
product="$("$publish/streamboot" --version)" || fail "$publish/streamboot --version failed"
if [[ -z $version ]]; then
  version="${product%%+*}"
  dpkg --validate-version "$version" 2>/dev/null || fail "the product version '$product' makes no Debian version; give one with --version"
fi

tree="$out/root"
rm -rf "$tree"
lib="$tree/usr/lib/streamboot"
doc="$tree/usr/share/doc/streamboot"
install -d -m 0755 "$lib" "$tree/usr/bin" "$tree/etc/streamboot" "$tree/lib/systemd/system" \
  "$tree/usr/lib/sysusers.d" "$doc" "$tree/usr/share/man/man1" "$tree/usr/share/bash-completion/completions" \
  "$tree/usr/share/lintian/overrides" "$tree/DEBIAN"

cp -a "$publish/." "$lib/"
# The LTTng trace provider links liblttng-ust.so.0, which Debian 12 does not
# have (it has .so.1); the runtime runs without it and loads it only if present.
rm -f "$lib/libcoreclrtraceptprovider.so"
# Debian ships stripped objects. The .NET runtime's come stripped; SQLite's
# (from SQLitePCLRaw) keeps its symbol table.
while IFS= read -r -d '' elf; do
  if readelf -S "$elf" 2>/dev/null | grep -q '\.symtab'; then
    strip --strip-unneeded --remove-section=.comment --remove-section=.note "$elf"
  fi
done < <(find "$lib" -type f -name '*.so' -print0)
find "$lib" -type d -exec chmod 0755 {} +
find "$lib" -type f -exec chmod 0644 {} +
chmod 0755 "$lib/streamboot" "$lib/createdump"
ln -s ../lib/streamboot/streamboot "$tree/usr/bin/streamboot"

install -m 0644 "$here/appsettings.json" "$tree/etc/streamboot/appsettings.json"
install -m 0644 "$root/deploy/streamboot.service" "$tree/lib/systemd/system/streamboot.service"
install -m 0644 "$root/deploy/streamboot.sysusers.conf" "$tree/usr/lib/sysusers.d/streamboot.conf"
install -m 0644 "$root/README.md" "$root/SECURITY.md" "$here/copyright" "$doc/"
install -m 0644 "$here/lintian-overrides" "$tree/usr/share/lintian/overrides/streamboot"
gzip -9n <"$here/streamboot.1" >"$tree/usr/share/man/man1/streamboot.1.gz"
"$publish/streamboot" completion bash >"$tree/usr/share/bash-completion/completions/streamboot" \
  || fail "'streamboot completion bash' failed"
chmod 0644 "$tree/usr/share/man/man1/streamboot.1.gz" "$tree/usr/share/bash-completion/completions/streamboot"

# Reproducible dates: the commit's, when there is one.
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)}"
maintainer="Streamboot developers <dev@streamboot.local>"
if [[ -n ${DEBFULLNAME:-} && -n ${DEBEMAIL:-} ]]; then
  maintainer="$DEBFULLNAME <$DEBEMAIL>"
fi
{
  echo "streamboot ($version) unstable; urgency=medium"
  echo
  echo "  * Built by deploy/deb/build.sh from the program whose"
  echo "    streamboot --version says $product"
  echo
  echo " -- $maintainer  $(date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n >"$doc/changelog.gz"
chmod 0644 "$doc/changelog.gz"

# Every bundled file must be covered by a copyright stanza of its own.
mapfile -t globs < <(sed -n '/^Files:/,/^[A-Z][A-Za-z-]*:/{s/^Files://;/^[A-Z][A-Za-z-]*:/d;p}' "$here/copyright" | tr ' ' '\n' | sed '/^$/d;/^\*$/d')
uncovered=()
while IFS= read -r -d '' file; do
  rel="${file#"$tree/"}" covered=false
  for glob in "${globs[@]}"; do
    # shellcheck disable=SC2053  # the copyright file's globs are patterns
    if [[ $rel == $glob ]]; then covered=true; break; fi
  done
  $covered || uncovered+=("$rel")
done < <(find "$lib" -type f -print0)
((${#uncovered[@]} == 0)) || fail "deploy/deb/copyright names no license for: ${uncovered[*]}"

# Libraries the binaries link, from the libraries' own symbol versions.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/debian"
printf 'Source: streamboot\n\nPackage: streamboot\nArchitecture: %s\n' "$arch" >"$scratch/debian/control"
mapfile -t elves < <(find "$lib" -type f \( -name '*.so' -o -name streamboot -o -name createdump \) | sort)
if ! shlibs="$(cd "$scratch" && dpkg-shlibdeps -O "${elves[@]/#/-e}" 2>"$scratch/shlibdeps.log")"; then
  cat "$scratch/shlibdeps.log" >&2
  fail "dpkg-shlibdeps failed"
fi
shlibs="${shlibs#shlibs:Depends=}"
# libssl3 is loaded with dlopen (NBD's TLS, the site's CA), so no ELF names
# it. systemd-sysusers makes the user in postinst. No libicu: the program runs
# with invariant globalization; no zlib1g: .NET carries its own (zlib-ng).
depends="$shlibs, libssl3, systemd | systemd-standalone-sysusers"

# Installed-Size as dpkg-gencontrol counts it: KiB per file, rounded up, and
# one per directory or link.
size="$(find "$tree" -path "$tree/DEBIAN" -prune -o \( -type f -printf '%s\n' -o -printf '0\n' \) \
  | awk '{ kib += ($1 == 0) ? 1 : int(($1 + 1023) / 1024) } END { print kib }')"

cat >"$tree/DEBIAN/control" <<EOF
Package: streamboot
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $size
Depends: $depends
Recommends: ipxe, qemu-utils
Suggests: xorriso, isolinux, syslinux-common, dosfstools, mtools, shim-signed, grub-efi-amd64-signed, qemu-system-x86, ovmf, libgssapi-krb5-2
Section: net
Priority: optional
Description: OS-streaming server: diskless machines boot from its vDisks
 Streamboot boots diskless machines from the network and streams their
 operating system from virtual disks (vDisks) on the server: PXE through
 DHCP or proxyDHCP and TFTP, iPXE boot scripts over HTTP, and the disks over
 NBD, iSCSI and HTTP range requests, with per-client write caches, version
 chains and a shared read cache.
 .
 A self-contained build (the .NET runtime included) of the server and its
 admin command line, with a systemd unit that runs it as the user
 streamboot on /var/lib/streamboot. Recommended: ipxe (the boot files PXE
 clients load) and qemu-utils (importing VHD, VHDX, VMDK and VDI images).
 Suggested: xorriso, isolinux, syslinux-common, dosfstools, mtools,
 shim-signed, grub-efi-amd64-signed (bootstrap ISOs; the last two also for
 Secure Boot network boot), qemu-system-x86, ovmf (virtual machines),
 libgssapi-krb5-2 (Kerberos sign-in to PostgreSQL).
EOF
echo /etc/streamboot/appsettings.json >"$tree/DEBIAN/conffiles"
install -m 0755 "$here/postinst" "$here/prerm" "$here/postrm" "$tree/DEBIAN/"
(cd "$tree" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) >"$tree/DEBIAN/md5sums"
chmod 0644 "$tree/DEBIAN/control" "$tree/DEBIAN/conffiles" "$tree/DEBIAN/md5sums"

deb="$out/streamboot_${version#*:}_$arch.deb"
echo "build.sh: packing $(basename "$deb")..." >&2
dpkg-deb --build --root-owner-group "-Z$compression" "$tree" "$deb" >&2 || fail "dpkg-deb --build failed"
echo "$deb"
