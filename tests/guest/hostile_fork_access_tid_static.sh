#!/usr/bin/env bash
# hostile_fork_access_tid_static.sh UMK PROG: see
# programs/hostile_fork_access_tid_static.c. Passes iff umk does not hang,
# PROG either exits 0 (the forgery gave it nothing) or is killed (the kernel
# caught the forged tid and ended the process: status 137), never reports
# kernel memory, and umk still runs /bin/true afterwards.
set -euo pipefail
umk=$1
source "$(dirname "$0")/attack.sh"
run_attack fork-access-tid "$2"
if [ $rc -ne 0 ] && [ $rc -ne 137 ]; then echo "FAIL [fork-access-tid]: want exit 0 or SIGKILL (137)"; exit 1; fi
if grep -q 'ELF' "$attack_out"; then echo "FAIL [fork-access-tid]: the guest read the kernel's image"; exit 1; fi
survives fork-access-tid
