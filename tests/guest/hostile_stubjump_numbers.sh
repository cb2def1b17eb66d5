#!/usr/bin/env bash
# hostile_stubjump_numbers.sh UMK PROG
# For each syscall number (clone, openat, ptrace, mmap) runs PROG NR under umk:
# it jumps into the stub's own `syscall` instruction with that number and
# arguments that would be harmful if the host executed them. Passes if umk
# never hangs, exits with the guest's status (3: the call came back) or a
# signal status (>128), and `umk run -- /bin/true` still works after each.
set -euo pipefail
umk=$1
source "$(dirname "$0")/attack.sh"
fail=0
for nr in 56 257 101 9 60 1056; do
  run_attack "$nr" "$2" "$nr" || { fail=1; continue; }
  if ! grep -qE "^syscall ($nr|56) at " "$attack_out"; then echo "FAIL [$nr]: guest did not reach the jump"; fail=1; continue; fi
  if [ $rc -ne 3 ] && [ $rc -le 128 ]; then
    echo "FAIL [$nr]: status $rc is neither the guest's (3) nor a signal"; fail=1; continue
  fi
  survives "$nr" || fail=1
done
exit $fail
