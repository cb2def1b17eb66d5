#!/usr/bin/env bash
# huge_pages.sh UMK PROG: large anonymous guest mappings get the host's
# transparent huge pages unless the host has none (mode "never", or no
# THP at all); PROG checks each case itself.
set -uo pipefail
umk=$1 prog=$2
mode=/sys/kernel/mm/transparent_hugepage/enabled
expect=yes
if [ ! -r $mode ] || grep -q '\[never\]' $mode; then
  expect=no
fi
exec timeout 60 "$umk" run -- "$prog" policy $expect
