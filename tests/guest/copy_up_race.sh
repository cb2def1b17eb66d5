#!/usr/bin/env bash
# copy_up_race.sh UMK PROG
# Threads race to copy up the same lower directories and files (creating
# in them, writing to them): natively on a scratch copy, then under umk
# on a lower-layer tree. Every create and write must succeed and be kept.
set -euo pipefail
umk=$(realpath "$1")
prog=$(realpath "$2")
work=$(mktemp -d /tmp/umk-copy-up-XXXXXX)
trap 'rm -rf "$work"' EXIT
make_tree() {
  mkdir "$1"
  for i in $(seq 0 79); do
    mkdir -p "$1/d$i/sub"
    head -c 64 /dev/zero | tr '\0' a >"$1/f$i"
  done
}
make_tree "$work/native"
"$prog" "$work/native" 80 8
make_tree "$work/lower"
before=$(cd "$work/lower" && find . -printf '%p %s\n' | sort | sha256sum)
"$umk" run -- "$prog" "$work/lower" 80 8
after=$(cd "$work/lower" && find . -printf '%p %s\n' | sort | sha256sum)
[ "$before" = "$after" ] || { echo "the host tree changed"; exit 1; }
echo ok
