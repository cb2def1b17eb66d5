#!/usr/bin/env bash
# hostile_stubjump_numbers.sh UMK PROG
# For each syscall number (clone, openat, ptrace, mmap) runs PROG NR under umk:
# it jumps into the stub's own `syscall` instruction with that number and
# arguments that would be harmful if the host executed them. Passes if umk
# never hangs, exits with the guest's status (3: the call came back) or a
# signal status (>128), and `umk run -- /bin/true` still works after each.
set -euo pipefail
umk=$1
prog=$2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
fail=0
for nr in 56 257 101 9; do
  set +e
  timeout 30 "$umk" run -- "$prog" "$nr" >"$out" 2>&1
  rc=$?
  set -e
  sed "s/^/[$nr] /" "$out"
  echo "[$nr] attack: umk exit status $rc"
  if [ $rc -eq 124 ]; then echo "FAIL [$nr]: umk hung"; fail=1; continue; fi
  if grep -q '^no syscall instruction found' "$out"; then
    echo "FAIL [$nr]: no syscall insn in stub text (layout changed?)"; fail=1; continue
  fi
  if ! grep -q "^syscall $nr at " "$out"; then echo "FAIL [$nr]: guest did not reach the jump"; fail=1; continue; fi
  if [ $rc -ne 3 ] && [ $rc -le 128 ]; then
    echo "FAIL [$nr]: status $rc is neither the guest's (3) nor a signal"; fail=1; continue
  fi
  if ! timeout 30 "$umk" run -- /bin/true; then
    echo "FAIL [$nr]: umk run -- /bin/true failed afterwards"; fail=1; continue
  fi
  echo "[$nr] OK"
done
[ $fail -eq 0 ] && echo "OK: all attacks stopped and umk still runs /bin/true"
exit $fail
