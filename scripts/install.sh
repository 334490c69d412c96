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
if ((${#missing[@]})); then
  echo "ksapp: installing missing system packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v node >/dev/null || { echo "ksapp: Node.js 20.19+ is required (apt-get install nodejs npm)" >&2; exit 1; }
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi
npm run build --silent
echo "ksapp: installed; run it as: sudo node dist/src/cli.js (or npm link for a global \`ksapp\`)"
