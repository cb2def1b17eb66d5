#!/bin/bash
# /proc files programs read (limits, oom_score_adj written and inherited,
# uid_map, setgroups, fdinfo, stat, statm, loadavg, sys/kernel, sys/fs) and
# the tools that read them (ps, free, uptime, top). Compared with Linux
# where the values are the machine's; shapes where they are the guest's own.
cat /proc/self/limits
cat /proc/self/uid_map /proc/self/setgroups 2>&1 | sed 's/  */ /g'
echo 123 > /proc/self/oom_score_adj; cat /proc/self/oom_score_adj
(echo -1001 > /proc/self/oom_score_adj) 2>&1 | sed 's/.*: //'
sh -c 'cat /proc/self/oom_score_adj'
ls /proc/self/fdinfo | grep -c '^[012]$'
python3 - <<'PY'
import os
fd = os.open("/etc/passwd", os.O_RDONLY | os.O_CLOEXEC); os.lseek(fd, 5, 0)
info = dict(l.split(":\t") for l in open(f"/proc/self/fdinfo/{fd}").read().splitlines())
print(info["pos"], info["flags"], int(info["ino"]) == os.fstat(fd).st_ino)
PY
grep -c '^cpu' /proc/stat
grep -c '^btime ' /proc/stat
cat /proc/sys/kernel/ostype /proc/sys/fs/nr_open /proc/sys/kernel/cap_last_cap /proc/sys/kernel/ngroups_max
awk '{print NF}' /proc/self/statm
wc -w < /proc/loadavg
grep -c '^........-....-4...-....-............$' /proc/sys/kernel/random/uuid
python3 -c 'import os; print(len(os.getloadavg()), os.sysconf("SC_NPROCESSORS_ONLN") == os.cpu_count())'
ps -o pid=,comm= -p $$ | awk '{print $2}'
free | awk 'NR == 1 {print $1, $2}'
uptime | grep -c 'load average'
top -bn1 | grep -c '^ *PID'
head -1 /proc/self/smaps_rollup | grep -c '\[rollup\]$'
grep -c '^\(Rss\|Pss\|Private_Dirty\|Swap\):' /proc/self/smaps_rollup
for n in cgroup ipc mnt net pid pid_for_children time user uts; do readlink /proc/self/ns/$n | sed 's/:\[[0-9]*\]$//'; done | tr '\n' ' '; echo
cat /sys/devices/system/cpu/online /sys/devices/system/cpu/possible /sys/devices/system/cpu/present
stat -f -c %T /proc /sys /dev/shm
