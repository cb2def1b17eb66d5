#!/usr/bin/env bash
# volumes.sh UMK: `umk run -v HOST:GUEST[:ro]`. The same file-tree script
# runs natively in one directory and under umk in a volume; its output and
# the resulting trees (names, types, modes, owners, sizes, link targets,
# contents, mtimes set explicitly, xattrs) must match. Then: a read-only
# volume refuses every change and stays as it was; symlinks in a volume
# resolve inside the guest, never on the host; bad -v values are one-line
# errors with exit 2.
set -euo pipefail
umk=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/native" "$work/volume" "$work/outside"
echo secret >"$work/outside/file"

source "$(dirname "$0")/file_tree.sh"
write_ops "$work/ops.sh"

bash "$work/ops.sh" "$work/native" >"$work/native.out" 2>&1
"$umk" run -v "$work/volume:/vol" -- bash "$work/ops.sh" /vol >"$work/umk.out" 2>&1
fail=0
if ! diff -u "$work/native.out" "$work/umk.out"; then
  echo "FAIL: the script's output differs (--- native, +++ umk)"; fail=1
fi
if ! diff -u <(tree "$work/native") <(tree "$work/volume"); then
  echo "FAIL: the trees differ (--- native, +++ volume)"; fail=1
fi

# read-only: nothing changes
before=$(tree "$work/volume")
"$umk" run -v "$work/volume:/vol:ro" -- sh -c '
  for op in "touch /vol/new" "rm /vol/hard" "mkdir /vol/d" "chmod 777 /vol/a" "mv /vol/a /vol/b" \
            "ln -s x /vol/l" "truncate -s 0 /vol/hard" "touch /vol/hard" "chown 1:1 /vol/hard"; do
    if $op 2>/dev/null; then echo "ro volume allowed: $op"; fi
  done
  (echo x >/vol/hard) 2>/dev/null && echo "ro volume allowed a write"
  cat /vol/hard >/dev/null || echo "ro volume refused a read"' >"$work/ro.out" 2>&1 || true
if [[ -s "$work/ro.out" ]]; then echo "FAIL: read-only volume:"; cat "$work/ro.out"; fail=1; fi
if [[ "$before" != "$(tree "$work/volume")" ]]; then echo "FAIL: the read-only volume changed"; fail=1; fi

# symlinks in a volume resolve in the guest's tree, never the host's
ln -s "$work/outside" "$work/volume/abs"
ln -s ../outside "$work/volume/rel"
out=$("$umk" run -v "$work/volume:/vol" -- sh -c '
  cat /vol/abs/file 2>/dev/null || echo "abs: not reachable"
  cat /vol/rel/file 2>/dev/null || echo "rel: not reachable"
  ln -s / /vol/root && mkdir -p /vol/root/tmp/umk-vol-test && echo guest >/vol/root/tmp/umk-vol-test/f && echo "wrote through /vol/root"' 2>&1)
expected_abs="abs: not reachable"
if [[ "$work" == /tmp/* ]]; then expected_abs="secret"; fi  # the guest's root is the host's /, copy-on-write
if [[ "$out" != "$expected_abs"$'\n'"rel: not reachable"$'\n'"wrote through /vol/root" ]]; then
  echo "FAIL: symlinks: $out"; fail=1
fi
if [[ -e /tmp/umk-vol-test ]]; then echo "FAIL: a write through a volume symlink reached the host's /tmp"; fail=1; rm -rf /tmp/umk-vol-test; fi

# the guest's mount table shows the volumes (findmnt, df read it)
mounts=$("$umk" run -v "$work/volume:/vol" -v "$work/outside:/a/b:ro" -- sh -c 'cat /proc/mounts; cat /proc/self/mountinfo' 2>&1)
for want in "hostfs /vol hostfs rw,relatime 0 0" "hostfs /a/b hostfs ro,relatime 0 0" "overlay / overlay rw,relatime 0 0" \
            "proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0"; do
  grep -qxF "$want" <<<"$mounts" || { echo "FAIL: /proc/mounts lacks '$want'"; fail=1; }
done
grep -q ' / /a/b ro,relatime - hostfs hostfs ro$' <<<"$mounts" || { echo "FAIL: mountinfo: $mounts"; fail=1; }

# bad -v values: one line, exit 2, nothing runs
for bad in "$work/nope:/x" "$work/outside" "$work/outside:relative" "$work/outside:/x:rx" "$work/outside:/proc" \
           "$work/outside:/dev/x" "$work/outside/file:/x" "$work/outside:/"; do
  set +e
  msg=$("$umk" run -v "$bad" -- /bin/echo ran 2>&1)
  rc=$?
  set -e
  if [[ $rc -ne 2 || "$msg" == *ran* || $(wc -l <<<"$msg") -ne 1 ]]; then
    echo "FAIL: -v $bad: exit $rc, output: $msg"; fail=1
  fi
done
[[ $fail -eq 0 ]] && echo "OK: volumes"
exit $fail
