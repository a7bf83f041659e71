#!/usr/bin/env bash
# Install what the harness needs from Debian's archive (Debian 12, as root).
# Quick when everything is there already.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

pkgs=(build-essential flex bison bc cpio kmod libelf-dev libssl-dev rsync xz-utils python3-ply python3-git
      python3 python3-yaml ccache sparse dwarves git perl gcc-aarch64-linux-gnu
      qemu-system-x86 qemu-system-data busybox-static iproute2 ethtool procps udev
      clang iputils-ping socat)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	[ "$(id -u)" = 0 ] || die "missing packages: ${missing[*]}; run as root or install them"
	say "installing ${missing[*]}"
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

say "dependencies: all installed"
