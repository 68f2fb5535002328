#!/usr/bin/env bash
# Runs the boot storm: installs the peers it compares with (Debian packages),
# builds the test OS (its disk, kernel and initrd are what the storm serves)
# and the storm, then runs it. Arguments go to the program:
#
#   bench/Streamboot.Storm/run.sh [--clients 100,500,1000] [--servers streamboot,nbdkit,nbd-server]
#
# To record the boot trace again (needs QEMU): bench/Streamboot.Storm/record-trace.sh
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
root="$(cd "$here/../.." && pwd)"

missing=()
command -v nbdkit >/dev/null || missing+=(nbdkit)
command -v nbd-server >/dev/null || [[ -x /usr/bin/nbd-server ]] || missing+=(nbd-server)
# The test OS's root needs a static busybox; its httpd serves the peers' boot files.
file -L /bin/busybox 2>/dev/null | grep -q 'statically linked' || missing+=(busybox-static)
if ((${#missing[@]})); then
	echo "run.sh: installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi
# nbd-server's package starts a system service on 10809; the storm runs its own.

"$root/client/testimage/build.sh" "$root/artifacts/testos"
dotnet build "$here" -c Release -nologo -clp:ErrorsOnly
exec "$root/artifacts/bin/Streamboot.Storm/release/Streamboot.Storm" --testos "$root/artifacts/testos" "$@"
