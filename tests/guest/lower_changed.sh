#!/usr/bin/env bash
# lower_changed.sh UMK
# The host replaces and removes files of the lower layer after a guest
# looked them up (a stat only: no fd held). The guest's next opens, reads
# and xattr calls must see what the host has now, without an error, as a
# native run does; symlinks keep the target they were looked up with.
set -euo pipefail
umk=$(realpath "$1")
dir=$(mktemp -d /tmp/umk-lower-changed-XXXXXX)
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/tree" "$dir/sync"
cd "$dir/tree"
echo old >file; echo old >gone; echo old >target; ln -s target link
setfattr -n user.v -v old file 2>/dev/null || true

env -i PATH=/usr/bin:/bin LANG=C "$umk" run -v "$dir/sync:/sync" -- /bin/sh -c '
  cd '"$dir/tree"'
  du -a . >/dev/null
  touch /sync/ready
  while [ ! -e /sync/go ]; do sleep 0.05; done
  ls -l . >/dev/null; echo "ls $?"
  cat file; cat link
  getfattr --only-values -n user.v file 2>/dev/null; echo
  cat gone 2>&1 | sed "s/.*: //"
' >"$dir/umk.out" 2>&1 &
guest=$!
for _ in $(seq 200); do [ -e "$dir/sync/ready" ] && break; sleep 0.05; done
echo new >file.new; setfattr -n user.v -v new file.new 2>/dev/null || true; mv file.new file
echo new >target.new; mv target.new target
rm gone
touch "$dir/sync/go"
wait $guest

expected='ls 0
new
new
new
No such file or directory'
if ! getfattr -n user.v file >/dev/null 2>&1; then # no user xattrs here: an empty line
  expected=$(printf 'ls 0\nnew\nnew\n\nNo such file or directory')
fi
if [ "$(cat "$dir/umk.out")" != "$expected" ]; then
  echo "guest saw:"; cat "$dir/umk.out"; echo "expected:"; echo "$expected"; exit 1
fi
echo ok
