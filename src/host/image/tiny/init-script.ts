/**
 * /init of the tiny guest: a busybox shell script that runs as PID 1, sets
 * the instance up from its datasource and then execs busybox init (getty
 * on ttyS0). Everything before dropbear starts is on the path the
 * "QEMU start → SSH answering" figure measures, and under TCG each process
 * started costs ~15 ms: so shell builtins (read, echo, case, test) stand in
 * for cat/hostname/sed/grep, directories come ready-made in the initramfs,
 * one awk call extracts each thing from the JSON (json.awk), and the modules of a
 * group load in one modprobe.
 *
 * Datasources, first found wins: a config drive (filesystem label config-2,
 * ISO9660 or vfat, openstack/latest/*), then the metadata service at
 * 169.254.169.254, OpenStack layout first, EC2 layout as the fallback.
 *
 * busybox-static's `wget -T` segfaults in Debian 12, so every fetch is
 * bounded with `timeout` instead.
 */
export const INIT_SCRIPT = String.raw`#!/bin/busybox sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
umask 022
/bin/busybox mount -t proc proc /proc
[ -e /bin/ls ] || /bin/busybox --install -s
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir /dev/pts
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
ln -s /proc/self/fd /dev/fd
read -r KVER < /proc/sys/kernel/osrelease
read -r CMDLINE < /proc/cmdline
DS=/run/stacklet/datasource
AK=/home/cirros/.ssh/authorized_keys

say() { echo "stacklet-init: $*"; }
# Files served over HTTP may lack a final newline: every "while read" loop
# also takes a last unterminated line.
# "stacklet.trace" on the kernel command line timestamps each step.
TRACE=
case " $CMDLINE " in *" stacklet.trace "*) TRACE=1 ;; esac
mark() { [ -n "$TRACE" ] && read -r up _ < /proc/uptime && say "[$up] $*"; }
mark "init started"

load_group() {
  [ -f /etc/stacklet/modules.$1 ] || return 0
  read -r wanted < /etc/stacklet/modules.$1.wanted
  modprobe -a $wanted 2>/dev/null && return 0
  while read -r m || [ -n "$m" ]; do insmod "$m" 2>/dev/null; done < /etc/stacklet/modules.$1
}

MD=http://169.254.169.254
# http_get PATH FILE: 0 fetched, 1 the server answered with an error (e.g. 404), 2 no answer.
http_get() {
  if timeout 10 wget -q -S -O "$2" "$MD$1" 2>/run/stacklet/http.err; then return 0; fi
  rm -f "$2"
  while read -r line || [ -n "$line" ]; do
    case "$line" in *HTTP/*) return 1 ;; esac
  done < /run/stacklet/http.err
  return 2
}

set -- /sys/bus/pci/devices/*
if [ -e "$1" ]; then load_group pci; else load_group mmio; fi
load_group devices
for d in /sys/bus/virtio/devices/*; do
  id=
  { read -r id < "$d/device"; } 2>/dev/null
  if [ "$id" = 0x0008 ]; then load_group scsi; break; fi
done
mark "modules loaded"

echo cirros > /proc/sys/kernel/hostname
ip link set lo up
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 30 ]; do usleep 100000; i=$((i + 1)); done
if [ -e /sys/class/net/eth0 ]; then
  udhcpc -i eth0 -s /etc/stacklet/udhcpc.script -t 10 -T 1 -A 5 -b -O staticroutes > /var/log/udhcpc.log 2>&1
else
  say "no eth0: continuing without network"
fi
mark "network up"

SRC=none
CD=
set -- /sys/class/block/*
if [ -e "$1" ]; then
  CD=$(findfs LABEL=config-2 2>/dev/null) || CD=$(findfs LABEL=CONFIG-2 2>/dev/null)
fi
if [ -n "$CD" ]; then
  load_group configdrive
  if mount -t iso9660 -o ro "$CD" /mnt/config-2 2>/dev/null || mount -t vfat -o ro "$CD" /mnt/config-2 2>/dev/null; then
    if [ -f /mnt/config-2/openstack/latest/meta_data.json ]; then
      cp /mnt/config-2/openstack/latest/meta_data.json $DS/meta_data.json
      [ -f /mnt/config-2/openstack/latest/user_data ] && cp /mnt/config-2/openstack/latest/user_data $DS/user_data
      SRC="config drive $CD"
    fi
    umount /mnt/config-2
  else
    say "config drive $CD found but could not be mounted"
  fi
fi

HN=
if [ "$SRC" = none ] && [ -e /sys/class/net/eth0 ]; then
  tries=0
  while :; do
    http_get /openstack/latest/meta_data.json $DS/meta_data.json
    rc=$?
    [ $rc -ne 2 ] && break
    tries=$((tries + 1))
    if [ $tries -ge 10 ]; then say "metadata service at $MD does not answer"; break; fi
    sleep 1
  done
  if [ $rc -eq 0 ]; then
    SRC="metadata service (OpenStack)"
    http_get /openstack/latest/user_data $DS/user_data
  elif [ $rc -eq 1 ]; then
    if http_get /latest/meta-data/hostname $DS/hostname || http_get /latest/meta-data/local-hostname $DS/hostname; then
      read -r HN < $DS/hostname
      HN=$(echo "$HN" | tr -cd 'A-Za-z0-9.-' | cut -c1-63)
    fi
    : > $DS/keys
    if http_get /latest/meta-data/public-keys/ $DS/keylist; then
      while IFS='=' read -r idx _ || [ -n "$idx" ]; do
        case "$idx" in *[!0-9]* | '') continue ;; esac
        http_get /latest/meta-data/public-keys/$idx/openssh-key $DS/key && { cat $DS/key; echo; } >> $DS/keys
      done < $DS/keylist
    elif http_get /latest/meta-data/public-keys/0/openssh-key $DS/key; then
      { cat $DS/key; echo; } >> $DS/keys
    fi
    tr -d '\r' < $DS/keys | grep -v '^[[:space:]]*$' > $AK
    [ -n "$HN" ] || [ -s $AK ] && SRC="metadata service (EC2)"
    http_get /latest/user-data $DS/user_data
  fi
fi
mark "datasource read"

if [ -f $DS/meta_data.json ]; then
  HN=$(awk -v want=hostname -v alt=name -v clean=hostname -f /etc/stacklet/json.awk $DS/meta_data.json 2>/dev/null)
  awk -v 'want=public_keys/*' -v lines=1 -f /etc/stacklet/json.awk $DS/meta_data.json > $AK 2>/dev/null
fi
if [ -n "$HN" ]; then
  echo "$HN" > /proc/sys/kernel/hostname
  : > /run/stacklet/hostname-from-metadata
fi
read -r HN < /proc/sys/kernel/hostname
echo "$HN" > /etc/hostname
echo "127.0.1.1 $HN" >> /etc/hosts
[ -f $AK ] || : > $AK
chown 1000:1000 $AK
chmod 600 $AK
NKEYS=0
while read -r line || [ -n "$line" ]; do NKEYS=$((NKEYS + 1)); done < $AK
mark "keys installed"

dropbearkey -t ed25519 -f /etc/dropbear/dropbear_ed25519_host_key > /run/stacklet/hostkey.txt 2>&1
mark "host key generated"
dropbear -s -r /etc/dropbear/dropbear_ed25519_host_key -p 22 -P /run/dropbear.pid
mark "dropbear started"

# The ACPI power button (a stop from the cloud) is an input device with
# button+evdev; the guest has no acpid, so one read per button stands in:
# any event on it is a press. Off the path to SSH, in the background.
(
  # The kernel drops the setuid bit when it writes the initramfs file's data: set it again (see initramfs.ts).
  chmod 4755 /bin/busybox
  load_group power
  cd /sys/class/input || exit 0
  for e in event*; do
    name=
    { read -r name < "$e/device/name"; } 2>/dev/null
    [ "$name" = "Power Button" ] && { dd if="/dev/input/$e" of=/dev/null bs=24 count=1 2>/dev/null && poweroff; } &
  done
) &
mark "power button armed"

IP=none
[ -f /run/stacklet/dhcp.eth0 ] && read -r IP < /run/stacklet/dhcp.eth0
FP=
while read -r key val; do [ "$key" = Fingerprint: ] && FP=$val; done < /run/stacklet/hostkey.txt
echo
echo "=== Stacklet tiny guest ($KVER) ==="
echo "  hostname: $HN"
echo "  eth0:     $IP"
echo "  source:   $SRC; ssh keys: $NKEYS"
echo "  host key: ed25519 $FP"
echo "Stacklet tiny guest ready; login: cirros (SSH key only)"
echo

first=
[ -s $DS/user_data ] && read -r first < $DS/user_data
case "$first" in
'#!'*)
  chmod 700 $DS/user_data
  (
    $DS/user_data > /var/log/user-data.log 2>&1
    say "user data script exited with status $?"
  ) &
  ;;
esac

exec /sbin/init
`;
