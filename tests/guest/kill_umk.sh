#!/usr/bin/env bash
# kill_umk.sh UMK: SIGKILL to `umk run` while the guest has processes and
# threads (and a stopped child) leaves no host process behind: the kernel
# dies with the process the user started, and the stubs' pid namespace
# with the kernel.
set -euo pipefail
umk=$1
marker="umk-kill-test-$$"
"$umk" run -- /bin/bash -c "sleep 300 & sleep 300 & (sleep 300; echo $marker) & python3 -c 'import threading,time; [threading.Thread(target=time.sleep, args=(300,)).start() for _ in range(3)]' & kill -STOP \$! ; wait" &
pid=$!
for _ in $(seq 50); do
  [ "$(pgrep -c -f 'umk-stub' || true)" -ge 5 ] && break
  sleep 0.1
done
kernels=$(pgrep -P $pid || true)
stubs=$(for k in $kernels; do pgrep -P "$k"; done | tr '\n' ' ')
echo "umk $pid, kernel $kernels, stubs: $stubs"
[ -n "$stubs" ] || { echo "FAIL: no stubs started"; kill -9 $pid; exit 1; }
kill -9 $pid
wait $pid 2>/dev/null || true
for _ in $(seq 50); do
  left=$(for p in $kernels $stubs; do if kill -0 "$p" 2>/dev/null; then echo "$p"; fi; done | tr '\n' ' ')
  [ -z "${left// /}" ] && { echo "PASS: nothing left"; exit 0; }
  sleep 0.1
done
echo "FAIL: still running after SIGKILL of umk: $left"
ps -o pid,ppid,stat,comm -p ${left// /,} || true
exit 1
