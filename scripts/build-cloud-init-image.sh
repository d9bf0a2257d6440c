#!/bin/bash
# Builds a small Debian 12 cloud image (cloud-init + openssh-server, Debian's
# packages only, from the mirror apt already uses) for the cloud-init e2e
# test. No loop devices and no disk mounts (only proc and sysfs in the chroot
# while apt runs): the root filesystem is made with
# `mke2fs -d`, the boot partition (SYSLINUX, kernel, initramfs) with
# mkfs.vfat + mtools as the tiny guest's disk is, and both are placed behind
# an MBR written here. Runs as root (debootstrap needs it).
#
# Usage: build-cloud-init-image.sh   -> prints the path of the cached qcow2.
# The result is cached under $STACKLET_CLOUD_IMAGE_CACHE (default
# /var/cache/stacklet-test/cloud-init-image)/<hash of this script and the
# mirror>/debian-ci.qcow2, so a second run only prints the path.
set -euo pipefail

CACHE=${STACKLET_CLOUD_IMAGE_CACHE:-/var/cache/stacklet-test/cloud-init-image}
# The mirror apt is configured for (deb822 first, then one-line sources).
MIRROR=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -E '/debian/?$' | head -n1 || true)
if [ -z "$MIRROR" ]; then
  MIRROR=$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{print $2}' | grep -E '/debian/?$' | head -n1 || true)
fi
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
KEY=$( (cat "$0"; echo "$MIRROR $SUITE") | sha256sum | cut -c1-16)
OUTDIR=$CACHE/$KEY
OUT=$OUTDIR/debian-ci.qcow2
if [ -s "$OUT" ]; then
  echo "$OUT"
  exit 0
fi

for t in debootstrap mke2fs mkfs.vfat mcopy syslinux qemu-img python3; do
  command -v "$t" >/dev/null || { echo "missing $t: apt-get install -y \$(cat scripts/deps-test-debian.txt)" >&2; exit 2; }
done
[ -f /usr/lib/syslinux/mbr/mbr.bin ] || { echo "missing syslinux-common" >&2; exit 2; }

mkdir -p "$CACHE"
WORK=$(mktemp -d "$CACHE/build.XXXXXX")
cleanup() {
  umount "$ROOT/proc" "$ROOT/sys" 2>/dev/null || true
  # Never into a proc or sysfs that failed to unmount.
  rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT
ROOT=$WORK/root

# debootstrap configures --include'd packages in one pass, which breaks on
# python3 modules (cloud-init's), so it makes only the base and apt inside
# the chroot installs the rest, in dependency order.
if ! debootstrap --variant=minbase "$SUITE" "$ROOT" "$MIRROR" >&2; then
  tail -n 40 "$ROOT/debootstrap/debootstrap.log" >&2 || true
  exit 1
fi
mount -t proc proc "$ROOT/proc"
mount -t sysfs sysfs "$ROOT/sys"
# No daemon starts inside the build root.
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod +x "$ROOT/usr/sbin/policy-rc.d"
printf 'path-exclude /usr/share/doc/*\npath-exclude /usr/share/man/*\npath-exclude /usr/share/locale/*\npath-include /usr/share/locale/locale.alias\n' >"$ROOT/etc/dpkg/dpkg.cfg.d/01-nodoc"
chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive apt-get -q -y --no-install-recommends install \
  linux-image-cloud-amd64 initramfs-tools systemd-sysv udev cloud-init openssh-server sudo ifupdown isc-dhcp-client \
  iproute2 netbase ca-certificates >&2
rm -f "$ROOT/usr/sbin/policy-rc.d"
umount "$ROOT/proc" "$ROOT/sys"

cat >"$ROOT/etc/cloud/cloud.cfg.d/90-stacklet.cfg" <<'EOF'
# Only the sources Stacklet serves, so boot never waits on others.
datasource_list: [ OpenStack, ConfigDrive ]
# The image carries no locales (to stay small): cc_locale would fail on en_US.UTF-8.
locale: false
system_info:
  default_user:
    name: debian
    lock_passwd: true
    gecos: Debian
    groups: [adm, sudo]
    sudo: ["ALL=(ALL) NOPASSWD:ALL"]
    shell: /bin/bash
EOF
printf '/dev/vda2 / ext4 defaults,errors=remount-ro 0 1\n' >"$ROOT/etc/fstab"
printf 'auto lo\niface lo inet loopback\nsource /etc/network/interfaces.d/*\n' >"$ROOT/etc/network/interfaces"
: >"$ROOT/etc/machine-id"
rm -f "$ROOT/etc/hostname" "$ROOT"/etc/ssh/ssh_host_*
# Small: no apt lists, caches, docs, man pages or locales.
chroot "$ROOT" apt-get clean
rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/* "$ROOT"/usr/share/doc/* "$ROOT"/usr/share/man/* \
  "$ROOT"/usr/share/info/* "$ROOT"/var/log/*.log
find "$ROOT/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name 'locale.alias' -exec rm -rf {} +

KERNEL=$(ls "$ROOT"/boot/vmlinuz-* | head -n1)
INITRD=$(ls "$ROOT"/boot/initrd.img-* | head -n1)

MIB=$((1024 * 1024))
BOOT_MIB=$(( ($(stat -c %s "$KERNEL") + $(stat -c %s "$INITRD")) * 11 / 10 / MIB + 4 ))
USED_MIB=$(( $(du -sm "$ROOT" | cut -f1) ))
ROOT_MIB=$(( USED_MIB * 13 / 10 + 96 ))

mkfs_env=(env MTOOLS_SKIP_CHECK=1)
dd if=/dev/zero of="$WORK/boot.img" bs=1M count=0 seek="$BOOT_MIB" status=none
mkfs.vfat -F 16 -n BOOT -h 2048 "$WORK/boot.img" >&2
printf 'SERIAL 0 115200\nDEFAULT debian\nPROMPT 0\nTIMEOUT 0\nLABEL debian\n  LINUX /vmlinuz\n  INITRD /initrd.img\n  APPEND root=/dev/vda2 ro console=tty0 console=ttyS0,115200 net.ifnames=0\n' >"$WORK/syslinux.cfg"
"${mkfs_env[@]}" syslinux --install "$WORK/boot.img"
"${mkfs_env[@]}" mcopy -i "$WORK/boot.img" "$KERNEL" ::vmlinuz
"${mkfs_env[@]}" mcopy -i "$WORK/boot.img" "$INITRD" ::initrd.img
"${mkfs_env[@]}" mcopy -i "$WORK/boot.img" "$WORK/syslinux.cfg" ::syslinux.cfg

mke2fs -q -t ext4 -L root -d "$ROOT" "$WORK/root.img" "${ROOT_MIB}M" >&2

# MBR: partition 1 FAT16 (active, SYSLINUX) at 1 MiB, partition 2 Linux after it.
python3 - "$WORK/disk.raw" "$WORK/boot.img" "$WORK/root.img" <<'EOF'
import struct, sys
raw, boot, root = sys.argv[1:4]
S = 512
b_bytes = open(boot, 'rb').seek(0, 2)
r_bytes = open(root, 'rb').seek(0, 2)
p1 = 2048
p1n = b_bytes // S
p2 = p1 + ((p1n + 2047) // 2048) * 2048
p2n = r_bytes // S
def entry(active, typ, lba, n):
    return struct.pack('<B3sB3sII', 0x80 if active else 0, b'\xfe\xff\xff', typ, b'\xfe\xff\xff', lba, n)
mbr = bytearray(open('/usr/lib/syslinux/mbr/mbr.bin', 'rb').read()[:440].ljust(440, b'\0'))
mbr += struct.pack('<IH', 0x53544b4d, 0)
mbr += entry(True, 0x0e, p1, p1n) + entry(False, 0x83, p2, p2n) + bytes(32) + b'\x55\xaa'
with open(raw, 'wb') as f:
    f.truncate((p2 + p2n) * S)
    f.write(mbr)
    for src, lba in ((boot, p1), (root, p2)):
        f.seek(lba * S)
        with open(src, 'rb') as g:
            while True:
                chunk = g.read(1 << 20)
                if not chunk:
                    break
                f.write(chunk)
EOF

mkdir -p "$OUTDIR"
qemu-img convert -f raw -O qcow2 -c "$WORK/disk.raw" "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "$OUT"
