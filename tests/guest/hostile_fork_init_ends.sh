#!/usr/bin/env bash
# hostile_fork_init_ends.sh UMK PROG: pid 1 (PROG) returns 0 while another
# guest process forks from 8 threads. Each run must end, with pid 1's
# status, within 20 s: a fork racing the kill of every process at pid 1's
# end left a child behind about one run in four.
set -uo pipefail
umk=$1 prog=$2
for i in $(seq 8); do
  timeout 20 "$umk" run -- "$prog"
  rc=$?
  if [ $rc -ne 0 ]; then
    echo "FAIL: run $i: exit status $rc (124: still running after 20 s)"
    exit 1
  fi
done
echo "PASS: 8 runs ended"
