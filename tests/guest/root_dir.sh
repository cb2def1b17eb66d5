#!/usr/bin/env bash
# root_dir.sh UMK STATIC_PROG: `umk run --root DIR` with DIR a plain
# directory (not a mount point): the program runs, and the guest's /
# is DIR (plus umk's /dev, /proc and /sys), also through `..`.
set -euo pipefail
umk=$1
prog=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/bin"
cp "$prog" "$dir/bin/prog"
echo marker >"$dir/only-here"
out=$("$umk" run --root "$dir" --cwd / -- /bin/prog /../.. | sort | tr '\n' ' ')
expected=". .. bin dev only-here proc sys "
if [[ "$out" != "$expected" ]]; then
  echo "FAIL: guest / lists '$out', expected '$expected'"
  exit 1
fi
set +e
"$umk" run --root "$dir" -- /bin/sh -c true 2>/dev/null
rc=$?
set -e
if [[ $rc -ne 127 ]]; then
  echo "FAIL: /bin/sh of the host was reachable from --root (exit $rc, expected 127)"
  exit 1
fi
echo "OK: --root $dir is the guest's /"
