#!/usr/bin/env bash
# hostile_sigreturn.sh UMK PROG
# Forged rt_sigreturn frames blocking every signal (see hostile_sigreturn.c).
#  guest: rt_sigreturn from guest code: umk must not hang; the guest exits 0
#         (rt_sigreturn refused), 77 (forged context restored, getpid, exit)
#         or dies by a signal.
#  stub:  rt_sigreturn from the stub's own `syscall`: the host restores the
#         forged context and kills the guest (undeliverable SIGSYS); umk must
#         exit with a signal status (>128), not hang.
# After each, `umk run -- /bin/true` must still work.
set -euo pipefail
umk=$1
prog=$2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
fail=0
for mode in guest stub; do
  set +e
  timeout 30 "$umk" run -- "$prog" "$mode" >"$out" 2>&1
  rc=$?
  set -e
  sed "s/^/[$mode] /" "$out"
  echo "[$mode] umk exit status $rc"
  if [ $rc -eq 124 ]; then echo "FAIL [$mode]: umk hung"; fail=1; continue; fi
  if grep -q '^no syscall instruction found' "$out"; then
    echo "FAIL [$mode]: no syscall insn in stub text (layout changed?)"; fail=1; continue
  fi
  if ! grep -q "^forging rt_sigreturn ($mode)" "$out"; then echo "FAIL [$mode]: guest did not reach the attack"; fail=1; continue; fi
  if [ $mode = guest ]; then
    if [ $rc -ne 0 ] && [ $rc -ne 77 ] && [ $rc -le 128 ]; then
      echo "FAIL [$mode]: unexpected status $rc"; fail=1; continue
    fi
  elif [ $rc -le 128 ]; then
    echo "FAIL [$mode]: want a signal status (>128)"; fail=1; continue
  fi
  if ! timeout 30 "$umk" run -- /bin/true; then
    echo "FAIL [$mode]: umk run -- /bin/true failed afterwards"; fail=1; continue
  fi
  echo "[$mode] OK"
done
[ $fail -eq 0 ] && echo "OK: forged rt_sigreturn killed only the guest; umk still runs /bin/true"
exit $fail
