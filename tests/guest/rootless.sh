#!/usr/bin/env bash
# rootless.sh UMK: umk run by an unprivileged host user (nobody). The guest
# runs as that user by default, and as its own root with --user 0: root in
# the guest may chown and mknod in its root's upper layer; in a volume the
# host user's files are root's and root's new files the host user's, and
# other owners are refused (EINVAL, as in any user namespace: the host
# knows no other id of the user's).
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
expected=$'65534\n0 0\n5:7\n1,3\nrefused\nin volume: 0:0\nhost file: 65534'
got=$(as_nobody "$work/umk" run -v "$work/vol:/vol" -- bash -c 'id -u' 2>&1
      as_nobody "$work/umk" run --user 0 -v "$work/vol:/vol" -- bash -c '
        echo "$(id -u) $(id -g)"
        touch /tmp/x && chown 5:7 /tmp/x && stat -c %u:%g /tmp/x
        mknod /tmp/n c 1 3 && stat -c %t,%T /tmp/n
        touch /vol/f && { chown 5:7 /vol/f 2>/dev/null && echo chowned || echo refused; }
        echo "in volume: $(stat -c %u:%g /vol/f)"' 2>&1
      echo "host file: $(stat -c %u "$work/vol/f")")
if [[ "$got" != "$expected" ]]; then
  echo "FAIL: (--- expected, +++ got)"; diff <(echo "$expected") <(echo "$got") || true; exit 1
fi
echo "rootless: as expected"
