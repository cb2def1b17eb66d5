#!/usr/bin/env bash
# hostile_below_stub.sh UMK PROG
# PROG executes `syscall` from the last two bytes of the last guest page (the
# return ip is TASK_SIZE, outside the stub) with exit(42). Passes iff umk
# exits 42 (the guest's exit, mediated by umk) after PROG printed "jumping",
# and umk still runs /bin/true afterwards.
set -euo pipefail
umk=$1
prog=$2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
set +e
timeout 30 "$umk" run -- "$prog" >"$out" 2>&1
rc=$?
set -e
cat "$out"
echo "umk exit status $rc"
if [ $rc -eq 124 ]; then echo "FAIL: umk hung"; exit 1; fi
if ! grep -q '^jumping$' "$out"; then echo "FAIL: the guest did not reach the jump"; exit 1; fi
if [ $rc -ne 42 ]; then echo "FAIL: want exit status 42 (exit(42) mediated by umk)"; exit 1; fi
timeout 30 "$umk" run -- /bin/true
echo "OK: syscall at TASK_SIZE-2 was mediated and umk still runs /bin/true"
