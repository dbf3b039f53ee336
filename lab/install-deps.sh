#!/bin/bash
# One-time, idempotent: Debian packages the lab needs, the guest kernel (unpacked, not installed) and
# QEMU 10 from bookworm-backports (unpacked beside the system QEMU, not installed).
# Why QEMU 10: Debian's QEMU 7.2 loses dirty-page updates under TCG during precopy (fixed upstream in 9.0,
# 03bfc2188f "physmem: Fix migration dirty bitmap coherency with TCG memory access").
set -euo pipefail
. "$(dirname "$0")/lib.sh"
PKGS="libvirt-daemon-system libvirt-clients qemu-system-x86 openssh-server openssh-client conntrack nftables shellcheck
      busybox-static cpio xz-utils iproute2 gcc libc6-dev python3 procps
      fish tcsh zsh mksh"   # login shells of the lab's SSH users: Ferry must not depend on which
missing=$(for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
if [ -n "$missing" ]; then
  echo "[lab] installing Debian packages: $(echo $missing)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d keeps the packages from starting daemons in the root namespace; the lab starts its own
  created_policy=0
  [ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; created_policy=1; }
  # ...and the links that would start them at the next boot (sshd, libvirtd, virtlogd, ...) are taken off again:
  # the machine's services stay as they were
  boot_links() { find /etc/systemd/system /etc/rc[0-6S].d -type l 2>/dev/null | sort; }
  before=$(boot_links)
  log=$(mktemp /tmp/ferry-lab-apt-XXXXXX.log)
  apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends $missing > "$log" 2>&1 \
    || { tail -30 "$log"; [ $created_policy = 1 ] && rm -f /usr/sbin/policy-rc.d; exit 1; }
  rm -f "$log"
  [ $created_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
  added=$(boot_links | comm -13 <(echo "$before") -)
  if [ -n "$added" ]; then echo "[lab] left disabled at boot: $(echo "$added" | sed 's|.*/||' | sort -u | tr '\n' ' ')"; echo "$added" | xargs rm -f; fi
fi
mkdir -p "$LAB"

# Private apt state for downloading single packages without touching the system's apt configuration.
A=$LAB/apt
MIRROR=$(grep -hoP '^URIs:\s*\K\S+' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1 || true)
[ -n "$MIRROR" ] || MIRROR=$(grep -hoP '^deb\s+(\[[^]]*\]\s+)?\K\S+' /etc/apt/sources.list 2>/dev/null | head -1 || true)
[ -n "$MIRROR" ] || MIRROR=http://deb.debian.org/debian
apt_private() {
  mkdir -p $A/lists/partial $A/cache/archives/partial
  printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s bookworm main\ndeb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s bookworm-backports main\n' "$MIRROR" "$MIRROR" > $A/sources.list
  # shellcheck disable=SC2206 # $A is the lab's own apt folder under $LAB: no blanks or globs
  APTO=(-o Dir::Etc::sourcelist=$A/sources.list -o Dir::Etc::sourceparts=/dev/null -o Dir::State::Lists=$A/lists -o Dir::Cache=$A/cache)
  [ -n "$(ls $A/lists/*Packages* 2>/dev/null)" ] || apt-get "${APTO[@]}" update -qq
}

# ---- guest kernel: the Debian bookworm kernel image, unpacked under $LAB/kernel ----
if [ ! -s "$KVER_FILE" ]; then
  apt_private
  kpkg=$(apt-cache "${APTO[@]}" depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
  echo "[lab] unpacking guest kernel $kpkg"
  rm -rf "$LAB/kernel"; mkdir -p "$LAB/kernel/debs"
  (cd "$LAB/kernel/debs" && apt-get "${APTO[@]}" download -qq "$kpkg" 2>&1 | grep -v 'unsandboxed' || true)
  dpkg-deb -x "$LAB"/kernel/debs/*.deb "$LAB/kernel/root"; rm -rf "$LAB/kernel/debs"
  echo "${kpkg#linux-image-}" > "$KVER_FILE"
fi

# ---- QEMU 10 from bookworm-backports, unpacked under $LAB/qemu-bpo behind a wrapper ----
Q=$LAB/qemu-bpo
if [ ! -x "$Q/qemu-system-x86_64" ]; then
  apt_private
  V=$(apt-cache "${APTO[@]}" madison qemu-system-x86 | awk -F'|' '/bookworm-backports/{gsub(/ /,"",$2); print $2; exit}')
  [ -n "$V" ] || { echo "[lab] no qemu-system-x86 in bookworm-backports"; exit 1; }
  echo "[lab] unpacking QEMU $V from bookworm-backports"
  mkdir -p $A/debs; (cd $A/debs && rm -f ./*.deb && apt-get "${APTO[@]}" download -qq qemu-system-x86=$V qemu-system-common=$V \
    qemu-system-data=$V qemu-system-modules-opengl=$V qemu-system-modules-spice=$V qemu-system-gui=$V seabios 2>&1 | grep -v unsandboxed || true)
  rm -rf "$Q.tmp"; mkdir -p "$Q.tmp"; for d in $A/debs/*.deb; do dpkg-deb -x "$d" "$Q.tmp"; done; rm -f $A/debs/*.deb
  # modules whose libraries are not installed would fail to dlopen: drop them
  for f in "$Q.tmp"/usr/lib/x86_64-linux-gnu/qemu/*.so; do ldd "$f" | grep -q 'not found' && rm -f "$f"; done
  # own module dir (the system's 7.2 modules abort a 10.0 binary) and own firmware first
  cat > "$Q.tmp/qemu-system-x86_64" <<EOW
#!/bin/sh
export QEMU_MODULE_DIR=$Q/usr/lib/x86_64-linux-gnu/qemu
exec $Q/usr/bin/qemu-system-x86_64 -L $Q/usr/share/qemu -L $Q/usr/share/seabios "\$@"
EOW
  chmod 755 "$Q.tmp/qemu-system-x86_64"
  rm -rf "$Q"; mv "$Q.tmp" "$Q"
fi
"$Q/qemu-system-x86_64" --version | head -1
