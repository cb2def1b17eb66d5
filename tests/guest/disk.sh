#!/usr/bin/env bash
# disk.sh UMK: ext4 disk images (umk image, --disk, --cow, -v IMG:GUEST).
#  1. The file-tree script (file_tree.sh) runs natively on Linux's ext4 (a
#     loop mount of an image made by umk image create; a directory where
#     loop devices are not available) and under umk in the same kind of
#     image mounted with -v; outputs and trees must match, the tree read
#     back by a second guest (so from the image, not from memory), and the
#     image must pass e2fsck.
#  2. --disk IMG --cow FILE leaves the image byte for byte as it was, a
#     second run sees the first run's changes, `umk image merge` gives the
#     same image as User-mode Linux's uml_moo, the result passes e2fsck,
#     and COW files made by uml_mkcow work with --cow.
#  3. Bad input: wrong --cow file, --cow without --disk, an image in use,
#     a non-image: one-line errors, exit 2, nothing changed.
set -euo pipefail
umk=$1
work=$(mktemp -d)
cleanup() { umount "$work/mnt" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
source "$(dirname "$0")/file_tree.sh"
write_ops "$work/ops.sh"
fail=0
check_fsck() { e2fsck -fn "$1" >"$work/fsck.out" 2>&1 || { echo "FAIL: e2fsck $2:"; cat "$work/fsck.out"; fail=1; }; }

# --- 1. compared with Linux's ext4 ---
mkdir "$work/empty" "$work/mnt"
"$umk" image create --from-dir "$work/empty" --size 64M "$work/vol.img" 2>/dev/null
cp "$work/vol.img" "$work/empty.img"
cp "$work/vol.img" "$work/native.img"
if mount -o loop "$work/native.img" "$work/mnt" 2>/dev/null; then
  bash "$work/ops.sh" "$work/mnt" >"$work/native.out" 2>&1
  tree "$work/mnt" >"$work/native.tree"
  umount "$work/mnt"
else
  echo "note: no loop devices here; comparing with a host directory"
  mkdir "$work/native"
  bash "$work/ops.sh" "$work/native" >"$work/native.out" 2>&1
  tree "$work/native" >"$work/native.tree"
fi
"$umk" run -v "$work/vol.img:/vol" -- bash "$work/ops.sh" /vol >"$work/umk.out" 2>&1
"$umk" run -v "$work/vol.img:/vol:ro" -- bash -c "$(declare -f tree); tree /vol" >"$work/umk.tree" 2>&1
diff -u "$work/native.out" "$work/umk.out" || { echo "FAIL: the script's output differs (--- Linux ext4, +++ umk)"; fail=1; }
diff -u "$work/native.tree" "$work/umk.tree" || { echo "FAIL: the trees differ (--- Linux ext4, +++ umk's image)"; fail=1; }
check_fsck "$work/vol.img" "of the image umk wrote"
# edge cases a review found (renamed trees freed, a move into itself
# through a stale cwd, huge sparse files, times out of range, linkat of
# unlinked files, sockets), on a fresh image each way
cat >"$work/edges.sh" <<'END'
cd "$1"
mkdir -p build/sub && echo 1 >build/sub/f && mv build old && rm -rf old && echo renamed tree removed
mkdir -p s/a/sub && cd s/a && mv ../a ../x && { mv ../x sub/y 2>&1 | sed 's/^mv: //'; }; cd "$1"; ls s
truncate -s 1T sparse && head -c 4 sparse | od -An -tx1 && rm sparse
truncate -s 5T huge 2>&1 | sed 's/^truncate: //'
touch -d 2500-01-01 late && stat -c %y late; touch -d 1800-01-01 early && stat -c %y early
python3 - <<'PY'
import ctypes, os, socket
libc = ctypes.CDLL(None, use_errno=True)
def linkat(fd, name):
    return "ok" if libc.linkat(fd, b"", -100, name.encode(), 0x1000) == 0 else os.strerror(ctypes.get_errno())
print("O_TMPFILE|O_EXCL:", linkat(os.open(".", os.O_TMPFILE | os.O_RDWR | os.O_EXCL), "x"))
print("O_TMPFILE:", linkat(os.open(".", os.O_TMPFILE | os.O_RDWR), "y"))
fd = os.open("z", os.O_CREAT | os.O_RDWR); os.unlink("z")
print("unlinked:", linkat(fd, "w"))
s = socket.socket(socket.AF_UNIX); s.bind("sock"); print("socket type:", oct(os.stat("sock").st_mode >> 12))
PY
END
cp "$work/empty.img" "$work/edges.img"; cp "$work/empty.img" "$work/edges-native.img"
if mount -o loop "$work/edges-native.img" "$work/mnt" 2>/dev/null; then
  bash "$work/edges.sh" "$work/mnt" >"$work/edges-native.out" 2>&1
  umount "$work/mnt"
  "$umk" run -v "$work/edges.img:/vol" -- bash "$work/edges.sh" /vol >"$work/edges-umk.out" 2>&1
  diff -u "$work/edges-native.out" "$work/edges-umk.out" || { echo "FAIL: edge cases differ (--- Linux ext4, +++ umk)"; fail=1; }
  check_fsck "$work/edges.img" "after the edge cases"
fi
"$umk" run -v "$work/vol.img:/vol:ro" -- sh -c 'touch /vol/new 2>/dev/null && echo "ro image allowed a write"; rm /vol/hard 2>/dev/null && echo "ro image allowed rm"; true' >"$work/ro.out" 2>&1
[[ -s "$work/ro.out" ]] && { echo "FAIL: read-only image:"; cat "$work/ro.out"; fail=1; }

# --- 2. --disk as the root, with a COW file ---
root=$work/root
mkdir -p "$root"/{bin,lib,lib64,etc,tmp,root}
for prog in bash cat ls rm mkdir mv sleep; do
  path=$(type -P "$prog")
  cp "$path" "$root/bin/"
  for lib in $(ldd "$path" | grep -o '/[^ ]*'); do cp -n "$lib" "$root$(dirname "$lib")/" 2>/dev/null || { mkdir -p "$root$(dirname "$lib")"; cp -n "$lib" "$root$(dirname "$lib")/"; }; done
done
echo "original" >"$root/etc/motd"; echo "doomed" >"$root/etc/doomed"
"$umk" image create --from-dir "$root" "$work/root.img" 2>"$work/create.out" || { echo "FAIL: umk image create:"; cat "$work/create.out"; fail=1; }
sum_before=$(sha256sum <"$work/root.img")
"$umk" run --disk "$work/root.img" --cow "$work/root.cow" -- /bin/bash -c \
  'echo changed >/etc/motd; rm /etc/doomed; mkdir /root/kept; echo x >/root/kept/file; mv /etc/motd /etc/motd2; cat /etc/motd2' >"$work/run1.out" 2>&1
"$umk" run --disk "$work/root.img" --cow "$work/root.cow" -- /bin/bash -c \
  'ls /etc /root/kept; cat /etc/motd2 /root/kept/file' >"$work/run2.out" 2>&1
[[ "$(sha256sum <"$work/root.img")" == "$sum_before" ]] || { echo "FAIL: --cow changed the image"; fail=1; }
[[ "$(cat "$work/run1.out")" == changed ]] || { echo "FAIL: first --cow run:"; cat "$work/run1.out"; fail=1; }
[[ "$(cat "$work/run2.out")" == $'/etc:\nmotd2\n\n/root/kept:\nfile\nchanged\nx' ]] || { echo "FAIL: the second run did not see the first's changes:"; cat "$work/run2.out"; fail=1; }
uml_moo -b "$work/root.img" "$work/root.cow" "$work/moo.img" >/dev/null 2>&1
cp --preserve=timestamps "$work/root.img" "$work/merged.img"
"$umk" image merge "$work/merged.img" "$work/root.cow" 2>"$work/merge.out" || { echo "FAIL: umk image merge:"; cat "$work/merge.out"; fail=1; }
cmp -s "$work/moo.img" "$work/merged.img" || { echo "FAIL: umk image merge and uml_moo give different images"; fail=1; }
check_fsck "$work/merged.img" "of the merged image"
[[ "$("$umk" run --disk "$work/merged.img" -- /bin/cat /root/kept/file 2>&1)" == x ]] || { echo "FAIL: the merged image lacks the change"; fail=1; }
check_fsck "$work/merged.img" "after a run without --cow"
# a COW file made by User-mode Linux's tools
uml_mkcow "$work/uml.cow" "$work/root.img" >/dev/null 2>&1
"$umk" run --disk "$work/root.img" --cow "$work/uml.cow" -- /bin/bash -c 'echo uml >/etc/motd' 2>&1
uml_moo -b "$work/root.img" "$work/uml.cow" "$work/moo2.img" >/dev/null 2>&1
[[ "$("$umk" run --disk "$work/moo2.img" -- /bin/cat /etc/motd 2>&1)" == uml ]] || { echo "FAIL: uml_mkcow's COW file"; fail=1; }
check_fsck "$work/moo2.img" "of uml_moo's merge of umk's writes"

# --- 3. bad input ---
expect_error() { # expect_error PATTERN COMMAND...: exit 2 and one line matching PATTERN
  local pattern=$1; shift
  local out status=0
  out=$("$@" 2>&1) || status=$?
  if [[ $status != 2 || $(wc -l <<<"$out") != 1 || ! $out =~ $pattern ]]; then
    echo "FAIL: $* gave status $status: $out"; fail=1
  fi
}
expect_error "not a COW file of" "$umk" run --disk "$work/merged.img" --cow "$work/root.cow" -- /bin/true
expect_error "--cow needs --disk" "$umk" run --cow "$work/x.cow" -- /bin/true
echo "not an image" >"$work/junk.img"
expect_error "junk.img" "$umk" run -v "$work/junk.img:/mnt" -- /bin/true
exec {held}<"$work/merged.img"; flock -x "$held"
expect_error "in use" "$umk" run --disk "$work/merged.img" -- /bin/true
exec {held}<&-
touch -d 2001-01-01 "$work/moo.img" # not the second root.img was made in
sum_before=$(sha256sum <"$work/moo.img")
expect_error "has changed since" "$umk" image merge "$work/moo.img" "$work/root.cow"
[[ "$(sha256sum <"$work/moo.img")" == "$sum_before" ]] || { echo "FAIL: a refused merge changed the image"; fail=1; }
expect_error "exists" "$umk" image create --from-dir "$root" "$work/moo.img"
# stopped by the user: written back and clean; killed: refused until checked
cp "$work/merged.img" "$work/stop.img"
mkdir "$work/signal"
stop_guest() { # stop_guest SIGNAL: a guest that wrote to the image, stopped by SIGNAL
  rm -f "$work/signal/ready"
  "$umk" run --disk "$work/stop.img" -v "$work/signal:/signal" -- /bin/bash -c \
    'echo kept >/root/stopped; : >/signal/ready; exec sleep 60' >/dev/null 2>&1 &
  local pid=$! i
  for i in $(seq 300); do [[ -e "$work/signal/ready" ]] && break; sleep 0.1; done
  kill -"$1" "$pid"
  wait "$pid" 2>/dev/null || true
  # the kernel process goes a moment after the one the user started
  for i in $(seq 100); do flock -n "$work/stop.img" true && break; sleep 0.05; done
}
stop_guest TERM
check_fsck "$work/stop.img" "after SIGTERM"
[[ "$("$umk" run --disk "$work/stop.img" -- /bin/cat /root/stopped 2>&1)" == kept ]] || { echo "FAIL: a write before SIGTERM was lost"; fail=1; }
stop_guest KILL
expect_error "not cleanly unmounted.*e2fsck" "$umk" run --disk "$work/stop.img" -- /bin/true
e2fsck -fy "$work/stop.img" >/dev/null 2>&1 || true
[[ "$("$umk" run --disk "$work/stop.img" -- /bin/cat /root/stopped 2>&1)" == kept ]] || { echo "FAIL: the image after e2fsck"; fail=1; }
[[ $fail == 0 ]] && echo "disk images: as on Linux"
exit $fail
