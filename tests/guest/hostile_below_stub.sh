#!/usr/bin/env bash
# hostile_below_stub.sh UMK PROG
# PROG executes `syscall` from the last two bytes of the last guest page (the
# return ip is TASK_SIZE, outside the stub) with exit(42). Passes iff umk
# exits 42 (the guest's exit, mediated by umk) after PROG printed "jumping",
# and umk still runs /bin/true afterwards.
set -euo pipefail
umk=$1
source "$(dirname "$0")/attack.sh"
run_attack below-stub "$2"
if ! grep -q '^jumping$' "$attack_out"; then echo "FAIL: the guest did not reach the jump"; exit 1; fi
if [ $rc -ne 42 ]; then echo "FAIL: want exit status 42 (exit(42) mediated by umk)"; exit 1; fi
survives below-stub
