# memfd_create (names, modes, seals kept and enforced: writes, truncation,
# shared mappings), fallocate, utime/utimes. Compared with Linux.
import os, fcntl, errno, mmap, time
F_ADD_SEALS, F_GET_SEALS = 1033, 1034
F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_WRITE = 1, 2, 4, 8
fd = os.memfd_create("demo", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
print("link:", os.readlink(f"/proc/self/fd/{fd}"), "mode:", oct(os.fstat(fd).st_mode))
os.write(fd, b"hello world")
print("seals:", fcntl.fcntl(fd, F_GET_SEALS))
m = mmap.mmap(fd, 11)
try:
    fcntl.fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE)
except OSError as e: print("seal write while mapped:", errno.errorcode[e.errno])
m.close()
fcntl.fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW)
print("seals:", fcntl.fcntl(fd, F_GET_SEALS))
for what, f in (("write", lambda: os.write(fd, b"x")), ("truncate", lambda: os.ftruncate(fd, 1)), ("grow", lambda: os.ftruncate(fd, 100))):
    try: f(); print(what, "ok")
    except OSError as e: print(what + ":", errno.errorcode[e.errno])
print(os.pread(fd, 11, 0))
print("via /proc:", open(f"/proc/self/fd/{fd}", "rb").read())
fd2 = os.memfd_create("plain")
try: fcntl.fcntl(fd2, F_ADD_SEALS, F_SEAL_WRITE)
except OSError as e: print("no sealing:", errno.errorcode[e.errno])
print("plain seals:", fcntl.fcntl(fd2, F_GET_SEALS))
try: os.memfd_create("x" * 250)
except OSError as e: print("long name:", errno.errorcode[e.errno])
os.posix_fallocate(fd2, 0, 8192); print("fallocate size:", os.fstat(fd2).st_size)
import tempfile
d = tempfile.mkdtemp()
p = d + "/umk-times-test"
open(p, "w").close()
os.utime(p, (1000000000, 1200000000)); st = os.stat(p); print("utime:", st.st_atime, st.st_mtime)
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
class TV(ctypes.Structure): _fields_ = [("s", ctypes.c_long), ("us", ctypes.c_long)]
tv = (TV * 2)(TV(5, 250000), TV(7, 999999))
print("utimes:", libc.utimes(p.encode(), tv), os.stat(p).st_mtime_ns)
tv = (TV * 2)(TV(5, 1000000), TV(7, 0))
print("utimes bad usec:", libc.utimes(p.encode(), tv), errno.errorcode[ctypes.get_errno()])
class UB(ctypes.Structure): _fields_ = [("a", ctypes.c_long), ("m", ctypes.c_long)]
print("utime:", libc.utime(p.encode(), ctypes.byref(UB(11, 22))), os.stat(p).st_mtime)
os.unlink(p); os.rmdir(d)
try: os.posix_fallocate(os.open("/tmp", os.O_RDONLY), 0, 10)
except OSError as e: print("fallocate dir:", errno.errorcode[e.errno])
r, w = os.pipe()
try: os.posix_fallocate(w, 0, 10)
except OSError as e: print("fallocate pipe:", errno.errorcode[e.errno])
