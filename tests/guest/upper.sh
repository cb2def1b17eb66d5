#!/usr/bin/env bash
# upper.sh UMK UPPER_OPS: `umk run --upper DIR` keeps the guest's changes
# to its root in DIR, in Linux overlayfs's userxattr format. The same
# static program changes a small lower tree twice: under Linux overlayfs
# (a chroot into `mount -t overlay -o userxattr` with a fresh upperdir) and
# under umk (--root LOWER --upper DIR). A second run on each upper shows
# the result; the outputs and the two upper directories (names, types,
# modes, device numbers, sizes, overlay xattrs) must match. Where overlayfs
# cannot be mounted here, umk's output is checked alone.
set -euo pipefail
umk=$1
ops=$2
work=$(mktemp -d)
cleanup() { umount "$work/mnt" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
lower=$work/lower
mkdir -p "$lower"/{bin,etc,doc/sub,keep}
cp "$ops" "$lower/bin/ops"
for f in motd hostname passwd group services again; do echo "lower $f" >"$lower/etc/$f"; done
echo a >"$lower/doc/a"; echo b >"$lower/doc/b"; echo c >"$lower/doc/sub/c"; echo x >"$lower/keep/x"
mkdir "$work/umk-upper" "$work/ovl-upper" "$work/ovl-work" "$work/mnt"

"$umk" run --root "$lower" --upper "$work/umk-upper" -- /bin/ops modify >"$work/umk.out" 2>&1
"$umk" run --root "$lower" --upper "$work/umk-upper" -- /bin/ops check >>"$work/umk.out" 2>&1

upper_tree() {
  (cd "$1" && find . -printf '%p %y %m %s\n' | sed -E 's/ (d [0-9]+) [0-9]+$/ \1/' | sort
   find . -type c -exec stat -c '%n char %t,%T' {} + | sort
   # overlayfs's own bookkeeping (origin, impure, uuid) is not part
   # of the format umk writes; whiteouts, opaque marks and the guest's
   # xattrs are
   python3 -c 'import os,sys
for p in sorted(sys.argv[1:]):
    names = sorted(n for n in os.listxattr(p, follow_symlinks=False)
                   if n not in ("user.overlay.origin", "user.overlay.impure", "user.overlay.uuid"))
    if names: print(p, [(n, os.getxattr(p, n, follow_symlinks=False)) for n in names])' $(find . ! -type l))
}

fail=0
if mount -t overlay overlay -o "lowerdir=$lower,upperdir=$work/ovl-upper,workdir=$work/ovl-work,userxattr" "$work/mnt" 2>/dev/null; then
  chroot "$work/mnt" /bin/ops modify >"$work/native.out" 2>&1
  umount "$work/mnt"
  mount -t overlay overlay -o "lowerdir=$lower,upperdir=$work/ovl-upper,workdir=$work/ovl-work,userxattr" "$work/mnt"
  chroot "$work/mnt" /bin/ops check >>"$work/native.out" 2>&1
  umount "$work/mnt"
  # umk's /dev, /proc and /sys mount points: made in the upper layer where the
  # lower root has no such directories
  sed -i 's/^\/: \(.*\)\[bin dev doc etc keep new proc sys\]$/\/: \1[bin doc etc keep new]/' "$work/umk.out"
  if ! diff -u "$work/native.out" "$work/umk.out"; then
    echo "FAIL: the guest's view differs (--- Linux overlayfs, +++ umk)"; fail=1
  fi
  # the same tree, whiteouts, opaque marks and xattrs (umk's mount points aside)
  if ! diff -u <(upper_tree "$work/ovl-upper") <(upper_tree "$work/umk-upper" | grep -v '^\./\(dev\|proc\|sys\)'); then
    echo "FAIL: the upper directories differ (--- overlayfs, +++ umk)"; fail=1
  fi
else
  echo "note: overlayfs cannot be mounted here; checking umk alone"
  grep -q '^/etc/hostname: No such file or directory$' "$work/umk.out" || { echo "FAIL: hostname not deleted"; fail=1; }
  grep -q '^/doc: mode 40755 links 2 size 0 \[fresh\]$' "$work/umk.out" || { echo "FAIL: /doc not opaque"; fail=1; }
  cat "$work/umk.out"
fi
# the lower tree is untouched
[[ "$(cat "$lower/etc/motd" "$lower/doc/sub/c")" == $'lower motd\nc' ]] || { echo "FAIL: the lower tree changed"; fail=1; }
[[ $fail -eq 0 ]] && echo "OK: --upper"
exit $fail
