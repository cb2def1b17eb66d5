# Sourced by the hostile_*.sh scripts: runs one attack under umk and checks
# that the kernel survived it.
#   run_attack LABEL ARGS...  runs `umk run -- ARGS` (30 s at most), prints
#                             its output prefixed with [LABEL]; sets $rc and
#                             $attack_out (a file); fails on a hang.
#   survives LABEL            umk still runs /bin/true afterwards.
# Expects $umk. Failures print "FAIL [LABEL]: ..." and return 1.
attack_out=$(mktemp)
trap 'rm -f "$attack_out"' EXIT

run_attack() {
  local label=$1; shift
  set +e
  timeout 30 "$umk" run -- "$@" >"$attack_out" 2>&1
  rc=$?
  set -e
  sed "s/^/[$label] /" "$attack_out"
  echo "[$label] umk exit status $rc"
  if [ $rc -eq 124 ]; then echo "FAIL [$label]: umk hung"; return 1; fi
  if grep -q '^no syscall instruction found' "$attack_out"; then
    echo "FAIL [$label]: no syscall instruction in the stub text (layout changed?)"; return 1
  fi
}

survives() {
  if ! timeout 30 "$umk" run -- /bin/true; then
    echo "FAIL [$1]: umk run -- /bin/true failed afterwards"; return 1
  fi
  echo "[$1] OK"
}
