#!/usr/bin/env bash
# rootless.sh UMK: umk run by an unprivileged host user (nobody). The guest
# runs as that user by default, and as its own root with --user 0: root in
# the guest may chown and mknod in its root's upper layer and in volumes,
# where the host user's files are root's, root's new files the host
# user's, and owners and device nodes the host refuses are kept in a
# user.umk.owner xattr (device nodes as regular placeholder files): the
# guest sees them as it made them, tar keeps them; on the host, every file
# stays the host user's.
set -euo pipefail
umk=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
cp "$umk" "$work/umk"
mkdir "$work/vol" && chown nobody "$work/vol"
as_nobody() { runuser -u nobody -- "$@"; }
if ! as_nobody "$work/umk" run -- true 2>"$work/err"; then
  echo "note: unprivileged user namespaces are off here; rootless umk cannot run:"; cat "$work/err"; exit 0
fi
expected=$'65534\n0 0\n5:7\n1,3\nchowned\nin volume: 5:7 -rwsr-x---\ncharacter special file 1,3 write ok\n[]\nfifo: fifo 5\n./null\ntar keeps owners: 1:2 3:4\nhost files: nobody nobody nobody regular empty file\nhost mode, no set-user-ID: -rwxr-x---'
got=$(as_nobody "$work/umk" run -v "$work/vol:/vol" -- bash -c 'id -u' 2>&1
      as_nobody "$work/umk" run --user 0 -v "$work/vol:/vol" -- bash -c '
        echo "$(id -u) $(id -g)"
        touch /tmp/x && chown 5:7 /tmp/x && stat -c %u:%g /tmp/x
        mknod /tmp/n c 1 3 && stat -c %t,%T /tmp/n
        touch /vol/f && { chown 5:7 /vol/f 2>/dev/null && echo chowned || echo refused; }
        chmod 4750 /vol/f
        echo "in volume: $(stat -c "%u:%g %A" /vol/f)"
        mknod /vol/null c 1 3 && echo "$(stat -c "%F %t,%T" /vol/null) $(echo x >/vol/null && echo write ok)"
        python3 -c "import os; print(os.listxattr(\"/vol/f\"))"
        mkfifo /vol/fifo && chown 5 /vol/fifo && echo "fifo: $(stat -c "%F %u" /vol/fifo)"
        cd /vol && find . -type c
        mkdir /tmp/t && touch /tmp/t/a /tmp/t/b && chown 1:2 /tmp/t/a && chown 3:4 /tmp/t/b
        tar -C /tmp -cf /tmp/t.tar t && tar -C /vol -xpf /tmp/t.tar && echo "tar keeps owners: $(stat -c %u:%g /vol/t/a) $(stat -c %u:%g /vol/t/b)"' 2>&1
      echo "host files: $(stat -c %U "$work/vol/f" "$work/vol/t/a" "$work/vol/null" | tr '\n' ' ')$(stat -c %F "$work/vol/null")"
      echo "host mode, no set-user-ID: $(stat -c %A "$work/vol/f")")
if [[ "$got" != "$expected" ]]; then
  echo "FAIL: (--- expected, +++ got)"; diff <(echo "$expected") <(echo "$got") || true; exit 1
fi
# Syscall-site patching works rootless too (the kernel cannot open the
# stub's /proc/PID/mem there): the program checks its sites were patched.
patching=${umk%/umk}/tests/guest/programs/syscall_patching
if [[ -x "$patching" ]]; then
  cp "$patching" "$work/patching"
  native=$(as_nobody "$work/patching" 2>&1)
  guest=$(as_nobody "$work/umk" run -- "$work/patching" 2>&1)
  if [[ "$native" != "$guest" ]]; then
    echo "FAIL: syscall patching, rootless (--- native, +++ umk)"; diff <(echo "$native") <(echo "$guest") || true; exit 1
  fi
fi
echo "rootless: as expected"
