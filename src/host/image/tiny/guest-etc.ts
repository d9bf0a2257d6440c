/**
 * Static files of the guest's /etc. The cirros user has no password ('*'
 * in shadow: not blank, which dropbear rejects, and not '!', which it
 * treats as locked), so the only way in is an SSH key.
 */

export const GUEST_USER = 'cirros';
export const GUEST_UID = 1000;

export const ETC_FILES: Readonly<Record<string, { mode: number; text: string }>> = {
  '/etc/passwd': {
    mode: 0o644,
    text: `root:x:0:0:root:/root:/bin/sh\n${GUEST_USER}:x:${GUEST_UID}:${GUEST_UID}:${GUEST_USER}:/home/${GUEST_USER}:/bin/sh\n`,
  },
  '/etc/group': { mode: 0o644, text: `root:x:0:\ntty:x:5:\n${GUEST_USER}:x:${GUEST_UID}:\n` },
  '/etc/shadow': { mode: 0o600, text: `root:*:19000:0:99999:7:::\n${GUEST_USER}:*:19000:0:99999:7:::\n` },
  '/etc/shells': { mode: 0o644, text: '/bin/sh\n/bin/ash\n' },
  '/etc/nsswitch.conf': { mode: 0o644, text: 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n' },
  '/etc/hosts': { mode: 0o644, text: '127.0.0.1 localhost\n' },
  '/etc/profile': {
    mode: 0o644,
    // busybox sh runs its own applets in-process, which bypasses the setuid /bin/ping: the alias makes `ping` exec it.
    text: 'export PATH=/usr/sbin:/usr/bin:/sbin:/bin\nPS1=\'\\u@\\h:\\w\\$ \'\nalias ping=/bin/ping\n',
  },
  '/etc/issue': { mode: 0o644, text: 'Stacklet tiny guest \\n (\\l); login: cirros (SSH key only)\n\n' },
  // busybox init takes over from /init: a login prompt on the serial console
  // and on the first virtual terminal (what a VNC console shows), clean shutdown.
  '/etc/inittab': {
    mode: 0o644,
    text: [
      'ttyS0::respawn:/sbin/getty -L 115200 ttyS0 vt100',
      'tty1::respawn:/sbin/getty 38400 tty1 linux',
      '::ctrlaltdel:/sbin/reboot',
      '::shutdown:/bin/umount -a -r',
      '',
    ].join('\n'),
  },
};
