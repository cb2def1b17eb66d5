#!/usr/bin/env bash
# hostile_stubjump.sh UMK PROG
# Runs PROG (hostile_stubjump) under umk: it jumps into the stub's own
# `syscall` instruction with rax=9 (mmap). Passes if the attack was stopped
# (umk exit status nonzero, or the call returned an error: PROG exits 0 only
# if it got -errno), it had no host side effect, and umk still works after.
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
echo "attack: umk exit status $rc"
if [ $rc -eq 124 ]; then echo "FAIL: umk hung"; exit 1; fi
if grep -q '^no syscall instruction found' "$out"; then echo "FAIL: no syscall insn in stub text (layout changed?)"; exit 1; fi
if [ $rc -eq 1 ]; then echo "FAIL: the mmap issued from the stub succeeded"; exit 1; fi
# rc 0 = call returned an error; anything else = killed/refused: both fine.
timeout 30 "$umk" run -- /bin/true
echo "OK: attack stopped and umk still runs /bin/true"
