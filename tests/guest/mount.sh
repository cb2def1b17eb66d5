#!/usr/bin/env bash
# mount.sh UMK CHROOT_JAIL: mount(2)/umount2(2) of tmpfs and proc, bind
# mounts of directories and files (recursive too), remounts read-only and
# back, nosuid/nodev/noexec,
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
cat >"$work/flags.sh" <<'END'
# nosuid, nodev, noexec, ro at mount time, and what binds and remounts keep
d=$(mktemp -d); p=$(mktemp -d)
mount -t tmpfs -o noexec,nodev,nosuid t $d && grep " $d " /proc/mounts | cut -d' ' -f4
cp /bin/true $d/true; $d/true 2>&1 | sed 's/.*: //'
printf '#!/bin/sh\necho script\n' > $d/s.sh; chmod +x $d/s.sh; $d/s.sh 2>&1 | sed 's/.*: //'; sh $d/s.sh
python3 -c "
import ctypes, mmap, os
f = os.open('$d/true', os.O_RDONLY)
for prot in (mmap.PROT_READ, mmap.PROT_READ | mmap.PROT_EXEC):
    try: mmap.mmap(f, 4096, prot=prot); print('mapped', prot)
    except OSError as e: print('mmap', prot, e.strerror)
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
a = libc.mmap(None, 4096, mmap.PROT_READ, mmap.MAP_PRIVATE, f, 0)
print('mprotect', libc.mprotect(ctypes.c_void_p(a), 4096, mmap.PROT_READ | mmap.PROT_EXEC), os.strerror(ctypes.get_errno()))
"
mknod $d/null c 1 3 && (echo x > $d/null) 2>&1 | sed 's/.*: //'
mkfifo $d/fifo && (echo through > $d/fifo &) && cat $d/fifo
q=$(mktemp -d); mount -t tmpfs -o nosuid t $q && cp "$EUID_PROG" $q/euid && chmod 4755 $q/euid
setpriv --reuid=65534 --regid=65534 --clear-groups $q/euid; umount $q; rmdir $q
mount -t tmpfs t $p && cp "$EUID_PROG" $p/euid && chmod 4755 $p/euid && setpriv --reuid=65534 --regid=65534 --clear-groups $p/euid
mknod $p/null c 1 3 && echo x > $p/null && echo dev-ok
mount -o remount,bind,noexec,nosuid $p && grep " $p " /proc/mounts | cut -d' ' -f4
$p/euid 2>&1 | sed 's/.*: //'
mount -o remount,bind,exec,suid $p && grep " $p " /proc/mounts | cut -d' ' -f4 && setpriv --reuid=65534 --regid=65534 --clear-groups $p/euid
mount -o remount,noatime $p && grep " $p " /proc/mounts | cut -d' ' -f4
mount -o remount $p && grep " $p " /proc/mounts | cut -d' ' -f4
mkdir $d/sub; b=$(mktemp -d); mount --bind -o exec $d/sub $b && grep " $b " /proc/mounts | cut -d' ' -f4
cp /bin/true $b/t && $b/t 2>&1 | sed 's/.*: //'
umount $b; rmdir $b
umount $p; umount $d
mount -t tmpfs -o ro,size=1m t $d && grep " $d " /proc/mounts | cut -d' ' -f4 && touch $d/x 2>&1 | sed 's/.*: //'
umount $d; rm -rf $d $p
END
cat >"$work/rbind.sh" <<'END'
# bind mounts of trees with mounts below them, with and without MS_REC
base=$(mktemp -d); mount -t tmpfs base $base; a=$base/a; b=$base/b; c=$base/c; mkdir $a $b $c
mkdir -p $a/x $a/y/z; echo top > $a/f
mount -t tmpfs t1 $a/x && echo inx > $a/x/g && mkdir $a/x/deep && mount -t tmpfs -o noexec t2 $a/x/deep && echo d > $a/x/deep/h
mount -t tmpfs t3 $a/y/z && echo inz > $a/y/z/k
mount --bind $a $b && ls $b/x | wc -l && ls $b/y/z | wc -l && cat $b/f
mount --rbind $a $c && cat $c/x/g $c/x/deep/h $c/y/z/k
grep -E " ($b|$c)" /proc/mounts | cut -d' ' -f2- | sed "s|$b|B|; s|$c|C|"
echo new > $c/x/new && cat $a/x/new
umount $c 2>&1 | sed 's/.*: //; s/ *dmesg.*//; s/ on \/tmp[^,]*,/,/' | head -1
mount --rbind $a $a/y 2>&1 | head -1; ls $a/y/y/z 2>&1 | wc -l; ls $a/y/x | wc -l
grep -cE " $a" /proc/mounts
umount -l $a/y; umount -l $c; umount $b; grep -cE " ($a|$b|$c)" /proc/mounts
mount --bind /dev $b && ls $b/pts >/dev/null && ls $b/pts | wc -l; umount $b
mount --rbind /dev $b && test -e $b/pts/ptmx && echo pts-there; umount -l $b
umount -l $a/x; umount $a/y/z; umount $base; rmdir $base
END
cat >"$work/aliases.sh" <<'END'
# a directory never moves into itself, whichever tree found it; mount
# points stay busy through every tree; a file system's read-only flag
# and a mount's are apart; atime flags as path_mount sets them
err() { sed 's/.*: //'; }
base=$(mktemp -d); mount -t tmpfs base $base; cd $base; mkdir -p a/p/q b; mount --bind a b
python3 - <<'P'
import os
fd = os.open('b/p/q', os.O_RDONLY)
os.rename('a/p/q', 'a/q2')
try: os.rename('b/q2', 'x', dst_dir_fd=fd); print('rename ok')
except OSError as e: print('rename', e.strerror)
os.fchdir(fd)
try: os.rmdir('x'); print('rmdir ok')
except OSError as e: print('rmdir', e.strerror)
P
cd /; umount -R $base; rmdir $base
for t in R2 R3 R4; do
  base=$(mktemp -d); mount -t tmpfs base $base; cd $base
  mkdir -p a/x a/y b; echo data > a/src; touch a/f
  [ $t = R4 ] || { mount --bind a b; mount -t tmpfs m a/x; }
  case $t in
  R2) mv -T b/y b/x 2>&1 | err; ls a | sort | tr '\n' ' '; echo;;
  R3) mv b/x b/x2 2>&1 | err; ls a | sort | tr '\n' ' '; echo;;
  R4) mount --bind a/src a/f; rm a/f 2>&1 | err; cat a/f;;
  esac
  cd /; umount -R $base 2>&1; grep -c $base /proc/mounts; rmdir $base
done
base=$(mktemp -d); mount -t tmpfs base $base; cd $base
mkdir -p p/q/r; mount -t tmpfs -o noexec,mode=750 m p/q; cp /bin/true p/q/t; mkdir p/q/in; mount -t tmpfs n p/q/in
mv p p2 && ls p2/q | tr '\n' ' '; echo; grep " $base/p2" /proc/mounts | cut -d' ' -f2,4 | sed "s|$base|B|"
p2/q/t 2>&1 | err; mv p2/q p2/q2 2>&1 | err; umount p2/q/in; umount p2/q
mkdir -p h/x/y; mount -t tmpfs hy h/x/y; echo hy > h/x/y/f; mount -t tmpfs hx h/x
mv h h2 && umount h2/x && cat h2/x/y/f && umount h2/x/y
mkdir -p s3/q d3; mount --bind s3 d3; mount -t tmpfs m d3/q; echo in > d3/q/f
mv s3 s3x && cat d3/q/f; umount d3/q; umount d3; cd /; umount $base; rmdir $base
show() { grep $base /proc/self/mountinfo | cut -d' ' -f4-6,9- | sed "s|$base|B|"; }
base=$(mktemp -d); mount -t tmpfs -o size=1m base $base; cd $base
mkdir -p a b src/sub; mount -t tmpfs -o size=1m t a; mount --bind a b; mount --bind src/sub src
echo Q1; mount -o remount,bind,ro b; mount -o remount,rw a; show; touch b/x 2>&1 | err
echo Q2; mount -o remount,ro a; show; mount -o remount,bind,rw b; touch b/y 2>&1 | err
echo Q3; mount -o remount,rw a; touch a/z b/z 2>&1 | err; ls a
mount -o remount,noatime a; mount -o remount,strictatime a; grep " $base/a " /proc/mounts | cut -d' ' -f4
cd /; umount -R $base 2>&1; grep -c $base /proc/mounts; rmdir $base
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
printf '#include <stdio.h>\n#include <unistd.h>\nint main(void) { printf("euid %%d\\n", (int)geteuid()); return 0; }\n' >"$work/euid.c"
gcc -O1 -o "$work/euid" "$work/euid.c"
export EUID_PROG="$work/euid"
run() { # NATIVE-PREFIX...: the three parts, under that prefix
  "$@" bash "$work/mounts.sh"
  "$@" bash "$work/bind.sh"
  "$@" bash "$work/readonly.sh"
  "$@" bash "$work/mount_edges.sh"
  "$@" bash "$work/move.sh"
  "$@" bash "$work/flags.sh"
  "$@" bash "$work/rbind.sh"
  "$@" bash "$work/aliases.sh"
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
