#!/usr/bin/env bash
# hostile_fork_vfork_kill_parent.sh UMK PROG: see programs/hostile_fork_vfork_kill_parent.c. Passes iff
# umk does not hang, PROG prints PASS and exits 0, and umk still runs
# /bin/true afterwards.
set -euo pipefail
umk=$1
source "$(dirname "$0")/attack.sh"
run_attack fork-vfork_kill_parent "$2"
if [ $rc -ne 0 ] || ! grep -q '^PASS$' "$attack_out"; then echo "FAIL [fork-vfork_kill_parent]: want PASS and exit status 0"; exit 1; fi
survives fork-vfork_kill_parent
