import ctypes, os, errno, tempfile
libc = ctypes.CDLL(None, use_errno=True)
d = tempfile.mkdtemp()
def m(src, fstype, flags=0, data=None):
    r = libc.mount(src, d.encode(), fstype, ctypes.c_ulong(flags), data)
    return "ok" if r == 0 else errno.errorcode[ctypes.get_errno()]
print("unknown type:", m(b"none", b"nosuchfs"))
print("no type:", m(b"none", None))
print("tmpfs bad option:", m(b"tmpfs", b"tmpfs", 0, b"bogus=1"))
print("tmpfs:", m(b"tmpfs", b"tmpfs", 0, b"mode=0755"))
print("umount not a mount:", libc.umount2(b"/tmp", 0), errno.errorcode[ctypes.get_errno()])
print("umount:", libc.umount2(d.encode(), 0))
print("umount again:", libc.umount2(d.encode(), 0), errno.errorcode[ctypes.get_errno()])
print("umount bad flags:", libc.umount2(d.encode(), 0x100), errno.errorcode[ctypes.get_errno()])
print("mount on file:", libc.mount(b"tmpfs", b"/etc/passwd", b"tmpfs", 0, None), errno.errorcode[ctypes.get_errno()])
os.rmdir(d)
