#!/usr/bin/env bash
# mount.sh UMK CHROOT_JAIL: mount(2)/umount2(2) of tmpfs and proc, and
# chroot(2), run natively (in a private mount namespace: unshare -m) and
# under umk; the outputs must match.
set -euo pipefail
umk=$1
jail=$2
here=$(dirname "$0")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/mounts.sh" <<'END'
d=$(mktemp -d)
mount -t tmpfs -o mode=0700 tmpfs $d && stat -c '%a %F' $d
echo hi > $d/f && cat $d/f
grep -c " $d tmpfs" /proc/mounts
mkdir $d/p && mount -t proc proc $d/p && test -e $d/p/self/status && echo proc-mounted
umount $d 2>&1 | sed 's/.*: //'
umount $d/p && echo proc-unmounted
umount $d && echo tmpfs-unmounted
ls $d | wc -l
grep -c " $d " /proc/mounts
mount --make-rprivate / && echo propagation-ok
rmdir $d
END
mkdir "$work/root" && touch "$work/root/marker"
run() { # NATIVE-PREFIX...: the three parts, under that prefix
  "$@" bash "$work/mounts.sh"
  "$@" python3 "$here/mount/mount_calls.py"
  "$@" "$jail" "$work/root"
}
native=$(run unshare -m 2>&1)
guest=$(run "$umk" run -- 2>&1 | grep -v '^umk: ')
if [[ "$native" != "$guest" ]]; then
  echo "FAIL: (--- native, +++ umk)"
  diff <(echo "$native") <(echo "$guest") || true
  exit 1
fi
echo "OK: mount, umount2, chroot"
