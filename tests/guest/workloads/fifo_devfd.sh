#!/bin/bash
# FIFOs (mkfifo, blocking and non-blocking opens, O_RDWR), mknod of
# regular files, sockets and device nodes (a node of /dev/null's number is
# /dev/null), magic links (/proc/self/fd/N of a pipe and of a deleted file,
# /proc/self/cwd), /dev/fd and /dev/stdin with process substitution.
set -u
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
mkfifo $d/f && ls -l $d/f | cut -c1-10
(echo through-fifo > $d/f) & cat $d/f; wait
exec 3<>$d/f; echo rdwr >&3; read -r line <&3; echo "$line"; exec 3>&-
python3 - "$d/f" <<'PY'
import os, sys, errno
p = sys.argv[1]
try:
    os.open(p, os.O_WRONLY | os.O_NONBLOCK)
except OSError as e:
    print("O_WRONLY|O_NONBLOCK without reader:", errno.errorcode[e.errno])
r = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
w = os.open(p, os.O_WRONLY | os.O_NONBLOCK)
os.write(w, b"abc"); print(os.read(r, 10)); os.close(w)
print("after writer closed:", os.read(r, 10))
st = os.fstat(r); print("fstat is fifo:", oct(st.st_mode), st.st_ino == os.stat(p).st_ino)
os.mknod(d := os.path.dirname(p) + "/null", 0o666 | 0o020000, os.makedev(1, 3))
fd = os.open(d, os.O_RDWR); print("mknod null:", os.write(fd, b"x"), os.read(fd, 5))
try:
    os.open(os.path.dirname(p) + "/x", os.O_RDONLY) 
except OSError as e: print("missing:", errno.errorcode[e.errno])
os.mknod(os.path.dirname(p) + "/sock", 0o600 | 0o140000)
try: os.open(os.path.dirname(p) + "/sock", os.O_RDONLY)
except OSError as e: print("socket open:", errno.errorcode[e.errno])
os.mknod(os.path.dirname(p) + "/weird", 0o600 | 0o020000, os.makedev(99, 1))
try: os.open(os.path.dirname(p) + "/weird", os.O_RDONLY)
except OSError as e: print("unknown device:", errno.errorcode[e.errno])
try: os.mknod(os.path.dirname(p) + "/dir", 0o600 | 0o040000)
except OSError as e: print("mknod dir:", errno.errorcode[e.errno])
os.mknod(os.path.dirname(p) + "/reg", 0o640); print("regular:", oct(os.stat(os.path.dirname(p) + "/reg").st_mode))
PY
diff <(echo a) <(echo a) && echo same
exec 5< <(echo piped); cat /proc/self/fd/5
cat /dev/stdin <<< "from stdin"
ls -l /dev/fd/ | wc -l >/dev/null
while read l; do echo "got $l"; done < <(printf '1\n2\n')
paste <(seq 3) <(seq 4 6)
tee >(wc -c) <<< "tee to procsub" >/dev/null; sleep 0.2
readlink /dev/stdin /dev/fd
cat /proc/self/fd/9 2>&1 | sed 's/^cat: //'
cd "$d"
python3 - <<'PY'
import os
r, w = os.pipe()
os.write(w, b"via magic link")
print(os.listdir("/proc/self/fd")[:0], os.readlink(f"/proc/self/fd/{r}")[:5])
fd = os.open(f"/proc/self/fd/{r}", os.O_RDONLY)
print(os.read(fd, 100), os.readlink(f"/proc/self/fd/{fd}")[:5])
f = open(os.getcwd() + "/mg.txt", "w"); f.write("x"); f.flush(); os.unlink(os.getcwd() + "/mg.txt")
print(open(f"/proc/self/fd/{f.fileno()}").read(), os.path.basename(os.readlink(f"/proc/self/fd/{f.fileno()}")))
print(os.stat(f"/proc/self/fd/{w}").st_mode & 0o170000 == 0o10000)
print(os.path.realpath("/proc/self/cwd") == os.getcwd())
PY
cd / && rm -rf "$d"
