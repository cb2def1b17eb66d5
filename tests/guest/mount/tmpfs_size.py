# tmpfs size= and nr_inodes= limits: short writes and ENOSPC at the limit,
# overwrites still allowed, fallocate all or nothing, statfs figures,
# freed space after truncate and unlink, the options in /proc/mounts.
import ctypes, errno, os, tempfile
libc = ctypes.CDLL(None, use_errno=True)
d = tempfile.mkdtemp()

def show(what, fn):
    try:
        print(what, fn())
    except OSError as e:
        print(what, errno.errorcode[e.errno])

def fs():
    s = os.statvfs(d)
    return s.f_blocks, s.f_bfree, s.f_files, s.f_ffree

print("mount:", libc.mount(b"none", d.encode(), b"tmpfs", ctypes.c_ulong(0), b"size=64k,nr_inodes=5"))
print("bad size:", libc.mount(b"none", d.encode(), b"tmpfs", ctypes.c_ulong(0), b"size=12q"), errno.errorcode[ctypes.get_errno()])
show("statfs:", fs)
fd = os.open(d + "/a", os.O_CREAT | os.O_RDWR, 0o644)
show("write 100000:", lambda: os.write(fd, b"x" * 100000))
show("write more:", lambda: os.write(fd, b"y" * 10))
show("overwrite:", lambda: os.pwrite(fd, b"z" * 4096, 0))
show("statfs full:", fs)
show("sparse page far out:", lambda: os.pwrite(fd, b"q", 10 << 20))
os.ftruncate(fd, 8192)
show("after truncate:", fs)
show("fallocate too much:", lambda: os.posix_fallocate(fd, 0, 100000))
show("fallocate 16k:", lambda: os.posix_fallocate(fd, 0, 16384))
show("after fallocate:", fs)
for i in range(4):
    show("create f%d:" % i, lambda: os.close(os.open("%s/f%d" % (d, i), os.O_CREAT | os.O_RDWR)) or "ok")
show("mkdir:", lambda: os.mkdir(d + "/dir") or "ok")
os.close(fd)
os.unlink(d + "/a")
show("after unlink:", fs)
print([l.split()[3] for l in open("/proc/mounts") if l.split()[1] == d])
libc.umount2(d.encode(), 0)
os.rmdir(d)
