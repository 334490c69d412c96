#!/usr/bin/env bash
# Installs everything ksapp needs on a fresh Debian/Ubuntu machine: the system
# tools it drives (apt-get, only what is missing), its npm dependencies, the build.
set -euo pipefail
cd "$(dirname "$0")/.."

# tool → Debian package that provides it
packages=(nftables:nft iproute2:ip wireguard-tools:wg wireguard-go:wireguard-go util-linux:setpriv
          iputils-ping:ping tmux:tmux iperf3:iperf3 socat:socat conntrack:conntrack
          # the tests and `ksapp demo --vpn openvpn` run a real OpenVPN server and client (openssl makes their keys)
          openvpn:openvpn openssl:openssl
          # the notification agent's tests run a session bus; the packaging tests check the man page and each shell's completion
          dbus:dbus-daemon groff-base:groff zsh:zsh fish:fish bash-completion:bash-completion desktop-file-utils:desktop-file-validate
          # the tests check the shipped unit with systemd-analyze verify (systemd need not run)
          systemd:systemd-analyze
          # the native addons (SO_PEERCRED, process events, pidfd, exec guard): node-gyp needs a compiler, make, python3, kernel headers
          gcc:gcc g++:g++ make:make python3:python3 libc6-dev:headers linux-libc-dev:headers
          # the lab runs a real container in its client namespace (issue 16, protect --container): rootful podman with runc
          # (crun refuses hybrid cgroups), netavark + aardvark-dns (its network, through iptables-nft), and a static
          # busybox as the container's whole root filesystem, since no image can be pulled
          podman:podman runc:runc netavark:netavark aardvark-dns:aardvark-dns iptables:iptables busybox-static:busybox)
missing=()
for entry in "${packages[@]}"; do
  pkg=${entry%%:*}
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
updated=0
if ((${#missing[@]})); then
  echo "ksapp: installing missing system packages: ${missing[*]}"
  $SUDO apt-get update -qq && updated=1
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The Docker lab test runs a private dockerd in a test namespace; Debian's docker.io brings it. Only where no Docker
# engine is installed (docker-ce conflicts with it), and never started machine-wide: that daemon would add docker0
# and set the machine's FORWARD policy to DROP. A failure here only makes that one test skip, saying why.
if ! command -v dockerd >/dev/null; then
  echo "ksapp: installing docker.io for the Docker lab test (its service stays stopped and disabled)"
  policy=/usr/sbin/policy-rc.d
  own_policy=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null && $SUDO chmod 755 "$policy" && own_policy=1; fi
  [ "$updated" = 1 ] || $SUDO apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends docker.io >/dev/null \
    || echo "ksapp: docker.io could not be installed; the Docker lab test will skip" >&2
  [ "$own_policy" = 0 ] || $SUDO rm -f "$policy"
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now docker.service docker.socket >/dev/null 2>&1 || true
  fi
fi

command -v node >/dev/null || { echo "ksapp: Node.js 20.19+ is required (apt-get install nodejs npm)" >&2; exit 1; }
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi
npm run build --silent
echo "ksapp: installed; run it as: sudo node dist/src/cli.js (or npm link for a global \`ksapp\`)"
