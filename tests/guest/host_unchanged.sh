#!/usr/bin/env bash
# host_unchanged.sh UMK
# umk's file system is a private in-memory layer over the host: a guest that
# modifies, deletes and creates files in a host directory must see its own
# writes, and the host directory must be byte-identical afterwards.
set -euo pipefail
umk=$1
dir=$(mktemp -d /tmp/umk-host-unchanged-XXXXXX)
trap 'rm -rf "$dir"' EXIT
printf 'original contents\n' >"$dir/keep.txt"
printf 'to be modified\n' >"$dir/modify.txt"
printf 'to be deleted\n' >"$dir/delete.txt"
mkdir "$dir/subdir"
printf 'nested\n' >"$dir/subdir/nested.txt"
chmod 600 "$dir/keep.txt"

snapshot() {
  (cd "$dir" && find . -printf '%p %y %m %s %l\n' | LC_ALL=C sort &&
    find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
}
before=$(snapshot)

env -i PATH=/usr/bin:/bin HOME=/root LANG=C "$umk" run -- /usr/bin/python3 -c '
import os, sys
d = sys.argv[1]
with open(os.path.join(d, "modify.txt"), "a") as f: f.write("appended by guest\n")
with open(os.path.join(d, "keep.txt"), "r+") as f: f.write("OVERWRITE")
os.unlink(os.path.join(d, "delete.txt"))
with open(os.path.join(d, "new.txt"), "w") as f: f.write("created by guest\n")
os.mkdir(os.path.join(d, "newdir"))
os.rename(os.path.join(d, "subdir", "nested.txt"), os.path.join(d, "newdir", "moved.txt"))
os.chmod(os.path.join(d, "new.txt"), 0o755)
ok = True
def check(cond, what):
    global ok
    if not cond:
        ok = False
        print("guest does not see its write:", what)
check(open(os.path.join(d, "modify.txt")).read() == "to be modified\nappended by guest\n", "append")
check(open(os.path.join(d, "keep.txt")).read() == "OVERWRITEcontents\n", "overwrite")
check(not os.path.exists(os.path.join(d, "delete.txt")), "unlink")
check(open(os.path.join(d, "new.txt")).read() == "created by guest\n", "create")
check(os.stat(os.path.join(d, "new.txt")).st_mode & 0o777 == 0o755, "chmod")
check(sorted(os.listdir(d)) == ["keep.txt", "modify.txt", "new.txt", "newdir", "subdir"], "listdir %r" % sorted(os.listdir(d)))
check(os.listdir(os.path.join(d, "subdir")) == [], "rename source gone")
check(open(os.path.join(d, "newdir", "moved.txt")).read() == "nested\n", "rename target")
sys.exit(0 if ok else 1)
' "$dir"
echo "guest saw all its writes"

after=$(snapshot)
if [ "$before" != "$after" ]; then
  echo "FAIL: host directory changed by the guest"
  diff -u <(printf '%s\n' "$before") <(printf '%s\n' "$after") || true
  exit 1
fi
echo "OK: host directory unchanged"
