# file_tree.sh: sourced by the tests that compare a file system with
# Linux's. ops.sh DIR changes a tree in DIR (files, hard and symbolic
# links, renames, truncation, modes, owners, times, xattrs) and prints
# what it sees; tree DIR lists the result (names, types, modes, owners,
# sizes, link targets, contents, the times set explicitly, xattrs).

# write_ops FILE: writes ops.sh to FILE.
write_ops() {
cat >"$1" <<'END'
set -u
cd "$1"
mkdir -p a/b/c && echo one >a/b/c/f && echo two >>a/b/c/f
printf 'x%.0s' $(seq 100) >big && truncate -s 10 big && truncate -s 5000 big
chmod 0751 a/b && chmod 0600 a/b/c/f
ln a/b/c/f hard && ln -s a/b/c/f soft && ln -s /nonexistent dangling
mv a/b/c/f a/moved && mv a/b/c a/renamed
mkdir gone && rmdir gone && : >victim && rm victim
touch -d '2001-02-03 04:05:06' a/moved && touch -h -d '2002-03-04 05:06:07' soft
chown 1234:5678 hard 2>/dev/null; chown -h 42:43 soft 2>/dev/null
python3 - <<'PY'
import os
fd = os.open("py", os.O_CREAT | os.O_RDWR | os.O_EXCL, 0o640)
os.write(fd, b"abc"); os.lseek(fd, 1, 0); os.write(fd, b"Z"); os.ftruncate(fd, 2); os.close(fd)
os.rename("py", "a/py")
try:
    os.rename("a", "a/renamed/x")
except OSError as e:
    print("rename into itself:", e.strerror)
try:
    os.rmdir("a")
except OSError as e:
    print("rmdir non-empty:", e.strerror)
try:
    os.open("a/moved", os.O_CREAT | os.O_EXCL)
except OSError as e:
    print("O_EXCL on existing:", e.strerror)
print("stat hard:", oct(os.stat("hard").st_mode), os.stat("hard").st_nlink, os.stat("hard").st_size)
os.setxattr("a/moved", "user.note", b"hello")
os.setxattr("a", "user.dir", b"d")
os.setxattr("big", "user.gone", b"x"); os.removexattr("big", "user.gone")
print("xattrs:", os.getxattr("a/moved", "user.note"), sorted(os.listxattr("a")), os.listxattr("big"))
PY
cat hard soft; ls a
END
}

tree() {
  (cd "$1" && find . -printf '%p %y %m %U:%G %s %l\n' | sort
   find . -type f -exec sha256sum {} + | sort -k2
   find . -name moved -printf '%p %TY-%Tm-%Td %TH:%TM\n'
   find . -name soft -printf '%p %TY-%Tm-%Td %TH:%TM\n'
   python3 -c 'import os,sys; [print(p, sorted(os.listxattr(p, follow_symlinks=False))) for p in sys.argv[1:]]' a/moved a big)
}
