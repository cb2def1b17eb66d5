#!/usr/bin/env bash
# hostile_fork_dual_exec.sh UMK PROG: see programs/hostile_fork_dual_exec.c. Passes iff
# umk does not hang, PROG prints PASS and exits 0, and umk still runs
# /bin/true afterwards.
set -euo pipefail
umk=$1
source "$(dirname "$0")/attack.sh"
run_attack fork-dual_exec "$2"
if [ $rc -ne 0 ] || ! grep -q '^PASS$' "$attack_out"; then echo "FAIL [fork-dual_exec]: want PASS and exit status 0"; exit 1; fi
survives fork-dual_exec
