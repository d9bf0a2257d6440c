/**
 * /init of the tiny guest: a busybox shell script that runs as PID 1, sets
 * the instance up from its datasource and then execs busybox init (getty
 * on ttyS0). Order matters for boot time: everything before dropbear starts
 * is on the path the "qemu start → SSH answering" figure measures.
 *
 * Datasources, first found wins: a config drive (filesystem label config-2,
 * ISO9660 or vfat, openstack/latest/*), then the metadata service at
 * 169.254.169.254, OpenStack layout first, EC2 layout as the fallback.
 *
 * busybox-static's `wget -T` segfaults in Debian 12, so every fetch is
 * bounded with `timeout` instead.
 */
export const INIT_SCRIPT = String.raw`#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /run /tmp
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
umask 022
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm /run/stacklet /var/log /var/lib/cloud /mnt/config-2
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
ln -sf /proc/self/fd /dev/fd
KVER=$(uname -r)
DS=/run/stacklet/datasource
mkdir -p $DS

say() { echo "stacklet-init: $*"; }
# "stacklet.trace" on the kernel command line timestamps each step (boot-time work).
TRACE=
case " $(cat /proc/cmdline) " in *" stacklet.trace "*) TRACE=1 ;; esac
mark() { [ -n "$TRACE" ] && read -r up _ < /proc/uptime && say "[$up] $*"; }
mark "init started"

load_modules() {
  [ -f "$1" ] || return 0
  while read -r m; do
    [ -n "$m" ] && insmod "/lib/modules/$KVER/$m" 2>/dev/null
  done < "$1"
}

jget() { awk -v want="$1" -f /etc/stacklet/json.awk "$2" 2>/dev/null; }

MD=http://169.254.169.254
# http_get PATH FILE: 0 fetched, 1 the server answered with an error (e.g. 404), 2 no answer.
http_get() {
  rm -f "$2" /run/stacklet/http.err
  if timeout 10 wget -q -S -O "$2" "$MD$1" 2>/run/stacklet/http.err; then return 0; fi
  rm -f "$2"
  grep -q 'HTTP/' /run/stacklet/http.err && return 1
  return 2
}

load_modules /etc/stacklet/modules.boot
for d in /sys/bus/virtio/devices/*; do
  if [ "$(cat "$d/device" 2>/dev/null)" = 0x0008 ]; then load_modules /etc/stacklet/modules.scsi; break; fi
done

mark "modules loaded"
hostname cirros
ip link set lo up
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 30 ]; do usleep 100000; i=$((i + 1)); done
if [ -e /sys/class/net/eth0 ]; then
  ip link set eth0 up
  udhcpc -i eth0 -s /etc/stacklet/udhcpc.script -t 10 -T 1 -A 5 -b -O staticroutes 2>&1 | grep -v -e '^udhcpc: started' -e 'sending discover' -e 'sending select'
else
  say "no eth0: continuing without network"
fi

mark "network up"
SRC=none
CD=$(findfs LABEL=config-2 2>/dev/null || findfs LABEL=CONFIG-2 2>/dev/null)
if [ -n "$CD" ]; then
  load_modules /etc/stacklet/modules.configdrive
  if mount -t iso9660 -o ro "$CD" /mnt/config-2 2>/dev/null || mount -t vfat -o ro "$CD" /mnt/config-2 2>/dev/null; then
    if [ -f /mnt/config-2/openstack/latest/meta_data.json ]; then
      cp /mnt/config-2/openstack/latest/meta_data.json $DS/meta_data.json
      cp /mnt/config-2/openstack/latest/user_data $DS/user_data 2>/dev/null
      SRC="config drive $CD"
    fi
    umount /mnt/config-2
  else
    say "config drive $CD found but could not be mounted"
  fi
fi

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
      SRC="metadata service (EC2)"
    fi
    : > $DS/keys
    if http_get /latest/meta-data/public-keys/ $DS/keylist; then
      for idx in $(sed -n 's/^\([0-9][0-9]*\)=.*/\1/p' $DS/keylist); do
        http_get /latest/meta-data/public-keys/$idx/openssh-key $DS/key && { cat $DS/key; echo; } >> $DS/keys
      done
    elif http_get /latest/meta-data/public-keys/0/openssh-key $DS/key; then
      { cat $DS/key; echo; } >> $DS/keys
    fi
    [ -s $DS/keys ] && [ "$SRC" = none ] && SRC="metadata service (EC2)"
    http_get /latest/user-data $DS/user_data
  fi
fi

mark "datasource read"
if [ -f $DS/meta_data.json ]; then
  jget hostname $DS/meta_data.json | head -n 1 > $DS/hostname
  [ -s $DS/hostname ] || jget name $DS/meta_data.json | head -n 1 > $DS/hostname
  jget 'public_keys/*' $DS/meta_data.json > $DS/keys
fi

mark "metadata parsed"
HN=$(tr -cd 'A-Za-z0-9.-' < $DS/hostname 2>/dev/null | cut -c1-63)
if [ -n "$HN" ]; then
  hostname "$HN"
  : > /run/stacklet/hostname-from-metadata
fi
hostname > /etc/hostname
echo "127.0.1.1 $(hostname)" >> /etc/hosts

mkdir -p /home/cirros/.ssh
tr -d '\r' < $DS/keys 2>/dev/null | grep -v '^[[:space:]]*$' > /home/cirros/.ssh/authorized_keys
chown -R 1000:1000 /home/cirros
chmod 755 /home/cirros
chmod 700 /home/cirros/.ssh
chmod 600 /home/cirros/.ssh/authorized_keys
NKEYS=$(grep -c . /home/cirros/.ssh/authorized_keys)

mark "keys installed"
mkdir -p /etc/dropbear
dropbearkey -t ed25519 -f /etc/dropbear/dropbear_ed25519_host_key > /run/stacklet/hostkey.txt 2>&1
mark "host key generated"
dropbear -s -r /etc/dropbear/dropbear_ed25519_host_key -p 22 -P /run/dropbear.pid

mark "dropbear started"
IPS=$(ip -4 addr show dev eth0 2>/dev/null | sed -n 's/^ *inet \([0-9.\/]*\).*/\1/p' | tr '\n' ' ')
FP=$(sed -n 's/^Fingerprint: *//p' /run/stacklet/hostkey.txt)
echo
echo "=== Stacklet tiny guest ($KVER) ==="
echo "  hostname: $(hostname)"
echo "  eth0:     $IPS"
echo "  source:   $SRC; ssh keys: $NKEYS"
echo "  host key: ed25519 $FP"
echo "Stacklet tiny guest ready; login: cirros (SSH key only)"
echo

if [ -s $DS/user_data ] && [ "$(head -c 2 $DS/user_data)" = '#!' ]; then
  cp $DS/user_data /var/lib/cloud/user-data
  chmod 700 /var/lib/cloud/user-data
  (
    /var/lib/cloud/user-data > /var/log/user-data.log 2>&1
    say "user data script exited with status $?"
  ) &
fi

exec /sbin/init
`;
