#!/usr/bin/env bash
# mount.sh UMK CHROOT_JAIL: mount(2)/umount2(2) of tmpfs and proc, bind
# mounts of directories and files, remounts read-only and back,
# mount --move, pivot_root,
# chroot(2), sethostname/setdomainname, run natively (in private mount
# and UTS namespaces: unshare -m -u) and under umk; the outputs must match.
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
cat >"$work/bind.sh" <<'END'
src=$(mktemp -d); dst=$(mktemp -d)
echo one > $src/f; mkdir $src/d
mount --bind $src $dst && cat $dst/f
echo two > $dst/g && cat $src/g
rm $src/f; ls $dst; cat $dst/f 2>&1 | sed 's/.*: //'
mkdir $dst/sub && ls $src
mv $src/d $src/e; ls $dst
stat -c %i $src/g >/tmp/i1; stat -c %i $dst/g >/tmp/i2; cmp -s /tmp/i1 /tmp/i2 && echo same-inode
grep -c " $dst " /proc/mounts
umount $dst && ls $dst | wc -l
touch $src/file1 $dst/file2
echo content > $src/file1
mount --bind $src/file1 $dst/file2 && cat $dst/file2
mount --bind $src $dst/file2 2>&1 | sed 's/.*: //'
umount $dst/file2
mount --bind /nonexistent $dst 2>&1 | sed 's/.*: //'
rm -rf $src $dst
END
cat >"$work/readonly.sh" <<'END'
d=$(mktemp -d); s=$(mktemp -d)
mount -t tmpfs tmpfs $d && echo hi > $d/f && mkdir $d/sub
mount -o remount,ro $d && echo remounted
grep " $d " /proc/mounts | cut -d' ' -f4 | cut -d, -f1
for op in "touch $d/new" "rm $d/f" "mkdir $d/x" "chmod 600 $d/f" "mv $d/f $d/g" "ln -s f $d/l" "truncate -s 0 $d/f" "touch $d/f" "rmdir $d/sub" "ln $d/f $d/h"; do
  $op 2>&1 | sed 's/.*: //'
done
(echo x >> $d/f) 2>&1 | sed 's/.*: //'
python3 -c "import os; os.setxattr('$d/f', 'user.a', b'1')" 2>&1 | tail -1 | sed 's/.*] //; s/:.*//'
cat $d/f
mount -o remount,rw $d && echo x >> $d/f && cat $d/f
echo b > $s/f; mount --bind $s $d/sub && mount -o remount,bind,ro $d/sub && (echo c > $d/sub/f) 2>&1 | sed 's/.*: //'; echo c > $s/f && cat $d/sub/f
umount $d/sub; umount $d; rm -rf $d $s
END
cat >"$work/mount_edges.sh" <<'END'
A=$(mktemp -d); B=$(mktemp -d); R=$(mktemp -d); W=$(mktemp -d)
mkdir -p $A/d/e; echo data > $A/d/e/file; echo f > $A/f
mount --bind $A $B
python3 -c "import os
for a, b in (('$A/f', '$B/g'), ('$A/d', '$B/d/e/x')):
    try: os.rename(a, b); print('renamed')
    except OSError as e: print(e.strerror)
try: os.link('$A/f', '$B/h'); print('linked')
except OSError as e: print(e.strerror)"
ls $A; ls $B/d/e
umount $B
mount -t tmpfs t $R; mkdir $R/d
mount -o remount,ro $R
mount --bind $R $W && touch $W/b 2>&1 | sed 's/.*: //'
grep " $W " /proc/mounts | cut -d' ' -f4 | cut -d, -f1
umount $W
mount -o remount,rw $R
exec 7>$R/open
mount -o remount,ro $R 2>&1 | sed 's/.*: //; s/ *dmesg.*//' | head -1
exec 7>&-
mount -o remount,ro $R && echo ro-now
umount $R; rm -rf $A $B $R $W
END
cat >"$work/move.sh" <<'END'
a=$(mktemp -d); b=$(mktemp -d)
mount -t tmpfs t $a && echo hi > $a/f && mkdir $a/sub && mount -t tmpfs u $a/sub && echo deep > $a/sub/g
mount --move $a $b && cat $b/f $b/sub/g && ls $a | wc -l
grep -c " $b " /proc/mounts; grep -c " $b/sub " /proc/mounts; grep -c " $a " /proc/mounts
mount --move $b $b/sub 2>&1 | sed 's/.*: //; s/ *dmesg.*//; s/ on \/tmp[^,]*,/,/' | head -1
mount --move $a $b 2>&1 | sed 's/.*: //; s/ *dmesg.*//; s/ on \/tmp[^,]*,/,/' | head -1
umount $b/sub; umount $b; rm -rf $a $b
d=$(mktemp -d); mount -t tmpfs t $d; mkdir $d/s; mount -t tmpfs u $d/s
grep -c " $d" /proc/mounts; umount -l $d; grep -c " $d" /proc/mounts; rmdir $d
END
cat >"$work/uts.sh" <<'END'
hostname newname && hostname && uname -n && cat /proc/sys/kernel/hostname
domainname example.org; domainname; cat /proc/sys/kernel/domainname
python3 -c '
import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
print(libc.sethostname(b"x" * 65, 65), errno.errorcode[ctypes.get_errno()])
print(libc.sethostname(b"ab\0cd", 5), os.uname().nodename)
print(libc.sethostname(b"", 0), repr(os.uname().nodename))'
END
mkdir "$work/root" && touch "$work/root/marker"
# pivot_root changes the namespace's root: only ever run in a new one
gcc -O1 -o "$work/pivot" "$here/mount/pivot_root.c"
run() { # NATIVE-PREFIX...: the three parts, under that prefix
  "$@" bash "$work/mounts.sh"
  "$@" bash "$work/bind.sh"
  "$@" bash "$work/readonly.sh"
  "$@" bash "$work/mount_edges.sh"
  "$@" bash "$work/move.sh"
  "$@" "$work/pivot"
  "$@" python3 "$here/mount/mount_calls.py"
  "$@" python3 "$here/mount/tmpfs_size.py"
  "$@" "$jail" "$work/root"
  "$@" bash "$work/uts.sh"
}
native=$(run unshare -m -u 2>&1)
guest=$(run "$umk" run -- 2>&1 | grep -v '^umk: ')
if [[ "$native" != "$guest" ]]; then
  echo "FAIL: (--- native, +++ umk)"
  diff <(echo "$native") <(echo "$guest") || true
  exit 1
fi
echo "OK: mount, umount2, chroot, sethostname"
