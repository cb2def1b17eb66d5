#!/usr/bin/env bash
# hostile_fork_ctl_hijack.sh UMK PROG
# PROG tries to make a fork child take a guest file as its control region
# (forged op results leave stale fds in the stub). Passes iff umk does not
# hang, PROG prints PASS (exit 0) and never HIJACKED, and umk still runs
# /bin/true afterwards.
set -euo pipefail
umk=$1
source "$(dirname "$0")/attack.sh"
run_attack fork-ctl-hijack "$2"
if grep -q '^HIJACKED' "$attack_out"; then echo "FAIL: a fork child ran ops from guest memory"; exit 1; fi
if [ $rc -ne 0 ] || ! grep -q '^PASS$' "$attack_out"; then echo "FAIL: want PASS and exit status 0"; exit 1; fi
survives fork-ctl-hijack
