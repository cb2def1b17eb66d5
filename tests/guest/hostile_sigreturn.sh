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
source "$(dirname "$0")/attack.sh"
fail=0
for mode in guest stub; do
  run_attack "$mode" "$2" "$mode" || { fail=1; continue; }
  if ! grep -q "^forging rt_sigreturn ($mode)" "$attack_out"; then
    echo "FAIL [$mode]: guest did not reach the attack"; fail=1; continue
  fi
  if [ $mode = guest ]; then
    if [ $rc -ne 0 ] && [ $rc -ne 77 ] && [ $rc -le 128 ]; then
      echo "FAIL [$mode]: unexpected status $rc"; fail=1; continue
    fi
  elif [ $rc -le 128 ]; then
    echo "FAIL [$mode]: want a signal status (>128)"; fail=1; continue
  fi
  survives "$mode" || fail=1
done
exit $fail
