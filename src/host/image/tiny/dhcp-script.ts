/**
 * The udhcpc event handler (/etc/stacklet/udhcpc.script). Classless static
 * routes (option 121) replace the router option when present, as RFC 3442
 * requires; that is how Neutron-style DHCP points 169.254.169.254 at the
 * DHCP/metadata namespace on networks without a router. Builtins stand in
 * for helper commands: this runs on the boot path.
 */
export const UDHCPC_SCRIPT = String.raw`#!/bin/sh
STATE=/run/stacklet/dhcp.$interface
case "$1" in
deconfig)
  if [ -e "$STATE" ]; then
    ip -4 addr flush dev "$interface"
    rm -f "$STATE"
  fi
  ip link set "$interface" up
  ;;
leasefail|nak)
  echo "udhcpc: $1 on $interface"
  ;;
bound|renew)
  if [ -n "$mtu" ]; then ip link set "$interface" mtu "$mtu"; fi
  new="$ip/$mask"
  old=
  [ -e "$STATE" ] && read -r old < "$STATE"
  if [ "$old" != "$new" ]; then
    [ -n "$old" ] && ip -4 addr flush dev "$interface"
    if [ -n "$broadcast" ]; then
      ip addr add "$new" broadcast "$broadcast" dev "$interface"
    else
      ip addr add "$new" dev "$interface"
    fi
    echo "$new" > "$STATE"
  fi
  if [ -n "$staticroutes" ]; then
    set -- $staticroutes
    while [ $# -ge 2 ]; do
      if [ "$2" = 0.0.0.0 ]; then
        ip route replace "$1" dev "$interface"
      else
        ip route replace "$1" via "$2" dev "$interface"
      fi
      shift 2
    done
  elif [ -n "$router" ]; then
    set -- $router
    ip route replace default via "$1" dev "$interface"
  fi
  {
    if [ -n "$domain" ]; then echo "search $domain"; fi
    for ns in $dns; do echo "nameserver $ns"; done
  } > /etc/resolv.conf
  if [ -n "$hostname" ] && [ ! -e /run/stacklet/hostname-from-metadata ]; then
    echo "$hostname" > /proc/sys/kernel/hostname
  fi
  ;;
esac
exit 0
`;
