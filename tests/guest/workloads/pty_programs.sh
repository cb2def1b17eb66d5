# Programs on pseudo-terminals: script(1), python's pty.fork, and an
# interactive bash with job control under script. Compared with Linux.
script -qec 'echo hi; tty | sed "s/[0-9]*$/N/"; stty -a | head -2; test -t 0 && echo stdin-is-tty; ps -o stat= -p $$ | cut -c1-2' /dev/null < /dev/null
python3 -c '
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    print("child tty", os.isatty(0), os.ttyname(0).rstrip("0123456789"))
    sys.stdout.flush(); os._exit(3)
out = b""
while True:
    try:
        b = os.read(fd, 1024)
    except OSError:
        break
    if not b: break
    out += b
print(repr(out), os.waitpid(pid, 0)[1] >> 8)
'
# An interactive bash with job control on a pty (job numbers and pids
# masked; when bash reports a killed job depends on timing)
printf 'echo interactive $((6*7))\nsleep 5 &\njobs\nkill %%1\nexit\n' | script -qec 'bash --norc -i' /dev/null \
  | tr -d '\r' | sed 's/\x1b\[?2004[hl]//g' | grep -v -e '^$' -e Terminated | sed -E 's/^\[1\] [0-9]+$/[1] PID/; s/^(\[1\]\+ +Running).*/\1/'
