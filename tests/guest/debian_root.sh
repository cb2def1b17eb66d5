#!/usr/bin/env bash
# debian_root.sh UMK CACHE: issue 4's acceptance, as a user would run it.
# A Debian bookworm root made with debootstrap (minbase + python3, gcc,
# make, git, sqlite3, perl, tar, xz-utils; kept in CACHE between runs)
# runs the same workload natively (chroot, with a fresh tmpfs on /tmp),
# under `umk run --root DIR` and under `umk run --disk IMG --cow FILE`
# (IMG made by `umk image create --from-dir DIR`): git init/add/commit/
# branch/merge/log/diff, sqlite3, tar cJf/xJf + diff -r of 2 000 files,
# find / -xdev, python3 -m compileall, perl file I/O. The outputs must be
# identical; the root directory (content, mode, owner, mtime, xattrs,
# links) and the image must be unchanged afterwards.
set -euo pipefail
umk=$1
root=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [[ ! -x "$root/usr/bin/sqlite3" ]]; then
  echo "making $root with debootstrap (once)"
  rm -rf "$root.tmp"
  debootstrap --variant=minbase --include=python3,gcc,make,git,sqlite3,perl,tar,xz-utils,libc6-dev \
    bookworm "$root.tmp" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log"; echo "FAIL: debootstrap"; exit 1; }
  rm -rf "$root" && mv "$root.tmp" "$root"
fi

cat >"$work/workload.sh" <<'END'
set -e
cd /tmp && rm -rf w && mkdir w && cd w
git init -q -b main repo && cd repo && git config user.email a@b.c && git config user.name umk
echo hello >a.txt && git add a.txt && git commit -qm first && git branch feature && git checkout -q feature
echo more >>a.txt && git commit -qam second && git checkout -q main
echo other >b.txt && git add b.txt && git commit -qm third && git merge -q --no-edit feature
git log --format=%s | sort && git diff HEAD~1 --stat | tail -1 && git branch --list | sort
cd .. && sqlite3 db.sqlite 'create table t(a int, b text); insert into t values (1,"x"),(2,"y"); select sum(a), group_concat(b) from t;'
mkdir tree && for i in $(seq 2000); do echo "$i" >tree/f$i; done
tar cJf t.tar.xz tree && mkdir x && tar xJf t.tar.xz -C x && diff -r tree x/tree && echo tar round trip ok
find / -xdev -name '*.py' | wc -l
mkdir py && printf 'def f():\n    return 1\n' >py/m.py && python3 -m compileall -q py && ls py/__pycache__
perl -e 'open(F, ">p.txt") or die; print F "abc\n"; close F; open(F, "p.txt") or die; print scalar(<F>);'
END

# What must not change: names, types, modes, owners, sizes, mtimes, link
# targets and counts, contents, xattrs (not atimes).
fingerprint() {
  (cd "$1" && find . -printf '%p %y %m %U:%G %s %T@ %l %n\n' | sort
   find . -type f -print0 | sort -z | xargs -0 sha256sum
   python3 -c 'import os,sys
for d, dirs, files in os.walk("."):
    for n in sorted(dirs + files):
        p = os.path.join(d, n)
        for a in sorted(os.listxattr(p, follow_symlinks=False)):
            print(p, a, os.getxattr(p, a, follow_symlinks=False))') | sha256sum
}

fail=0
before=$(fingerprint "$root")
unshare -m sh -c "mount -t tmpfs tmpfs '$root/tmp' && chroot '$root' /bin/bash" <"$work/workload.sh" >"$work/native.out" 2>&1
"$umk" run --root "$root" -- /bin/bash <"$work/workload.sh" >"$work/root.out" 2>&1
"$umk" image create --from-dir "$root" "$work/debian.img" 2>"$work/create.out" || { cat "$work/create.out"; echo "FAIL: umk image create"; fail=1; }
image_sum=$(sha256sum <"$work/debian.img")
"$umk" run --disk "$work/debian.img" --cow "$work/debian.cow" -- /bin/bash <"$work/workload.sh" >"$work/disk.out" 2>&1
grep -q "tar round trip ok" "$work/native.out" || { echo "FAIL: the workload fails natively:"; cat "$work/native.out"; fail=1; }
diff -u "$work/native.out" "$work/root.out" || { echo "FAIL: --root differs (--- chroot, +++ umk)"; fail=1; }
diff -u "$work/native.out" "$work/disk.out" || { echo "FAIL: --disk --cow differs (--- chroot, +++ umk)"; fail=1; }
[[ "$(fingerprint "$root")" == "$before" ]] || { echo "FAIL: the root directory changed"; fail=1; }
[[ "$(sha256sum <"$work/debian.img")" == "$image_sum" ]] || { echo "FAIL: --cow changed the image"; fail=1; }
[[ $fail == 0 ]] && echo "Debian root: identical to chroot under --root and --disk --cow"
exit $fail
