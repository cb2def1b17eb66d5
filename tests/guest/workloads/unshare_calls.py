# unshare(2) of what one process alone already has to itself (fs, files,
# sysvsem, vm), bad flags, and CLONE_THREAD/CLONE_VM with a second thread.
# Compared with Linux.
import ctypes, errno, os, threading
libc = ctypes.CDLL(None, use_errno=True)
def u(f):
    r = libc.unshare(ctypes.c_int(f)); return 0 if r == 0 else errno.errorcode[ctypes.get_errno()]
print("0:", u(0), "files:", u(0x400), "fs:", u(0x200), "sysvsem:", u(0x40000), "vm:", u(0x100), "bad:", u(0x8))
ev = threading.Event(); th = threading.Thread(target=ev.wait); th.start()
print("thread with another thread:", u(0x10000), "vm:", u(0x100))
ev.set(); th.join()
