#!/usr/bin/env bash
# compare.sh UMK CMD [ARGS...]
# Runs CMD natively and under `UMK run --`, from the same cwd and with the same
# minimal environment; compares stdout byte for byte and the exit status.
# stderr is not compared (umk logs unimplemented syscalls there).
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 UMK CMD [ARGS...]" >&2
  exit 2
fi
umk=$1; shift
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

run_env=(env -i PATH=/usr/bin:/bin HOME=/root LANG=C)

set +e
"${run_env[@]}" "$@" >"$work/native.out" 2>"$work/native.err" </dev/null
native_rc=$?
"${run_env[@]}" "$umk" run -- "$@" >"$work/umk.out" 2>"$work/umk.err" </dev/null
umk_rc=$?
set -e

fail=0
if ! cmp -s "$work/native.out" "$work/umk.out"; then
  echo "FAIL: stdout differs (--- native, +++ umk)"
  diff -u --label native --label umk "$work/native.out" "$work/umk.out" | head -n 200 || true
  fail=1
fi
if [ "$native_rc" != "$umk_rc" ]; then
  echo "FAIL: exit status differs: native=$native_rc umk=$umk_rc"
  fail=1
fi
if [ $fail -ne 0 ]; then
  echo "--- umk stderr (last 30 lines) ---"
  tail -n 30 "$work/umk.err" || true
  exit 1
fi
echo "OK: stdout $(wc -c <"$work/native.out") bytes identical, exit status $native_rc"
