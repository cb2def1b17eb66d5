#!/usr/bin/env bash
# host_sockets.sh UMK: host unix sockets in a volume. Without the opt-in
# (-v HOST:GUEST) a guest cannot connect to them (ECONNREFUSED); with
# -v HOST:GUEST:sockets the client (stream, seqpacket, datagram; blocking
# and non-blocking, select, epoll, MSG_WAITALL, shutdown, EOF, EPIPE)
# sees what it sees natively. A symlink in the volume to a socket outside
# it leads into the guest's own tree, never to the host's socket. A host
# server that restarts is reached again.
set -euo pipefail
umk=$1
here=$(dirname "$0")/host_sockets
work=$(mktemp -d)
server=
trap '[[ -n $server ]] && kill $server; rm -rf "$work"' EXIT
mkdir "$work/dir" "$work/outside"
python3 "$here/server.py" "$work/dir" >/dev/null 2>&1 &
server=$!
for _ in $(seq 100); do [[ -e $work/dir/ready ]] && break; sleep 0.05; done
python3 -c "import socket, sys, time; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(); time.sleep(600)" \
  "$work/outside/secret.sock" >/dev/null 2>&1 &
outside=$!
trap '[[ -n $server ]] && kill $server $outside; rm -rf "$work"' EXIT
for _ in $(seq 100); do [[ -S $work/outside/secret.sock ]] && break; sleep 0.05; done
ln -s "$work/outside/secret.sock" "$work/dir/link.sock"

fail=0
native=$(timeout 60 python3 "$here/client.py" "$work/dir" 2>&1)
guest=$(timeout 60 "$umk" run -v "$work/dir:/s:ro,sockets" -- python3 "$here/client.py" /s 2>&1)
if [[ "$native" != "$guest" ]]; then
  echo "FAIL: with :sockets (--- native, +++ umk)"; diff <(echo "$native") <(echo "$guest") || true; fail=1
fi
if [[ $(grep -c datagram "$work/dir/dgram.log") != 4 ]]; then
  echo "FAIL: the server got these datagrams:"; cat "$work/dir/dgram.log"; fail=1
fi
refused=$(timeout 60 "$umk" run -v "$work/dir:/s" -- python3 "$here/client.py" /s 2>&1)
expected=$'stream ECONNREFUSED\nseqpacket ECONNREFUSED\ndgram ECONNREFUSED\nwrong type ECONNREFUSED\nnot a socket ECONNREFUSED'
if [[ "$refused" != "$expected" ]]; then
  echo "FAIL: without :sockets, a host socket answered:"; echo "$refused"; fail=1
fi
escape=$(timeout 60 "$umk" run -v "$work/dir:/s:sockets" -- python3 -c "
import socket
for p in ('/s/link.sock', '$work/outside/secret.sock'):
    try: socket.socket(socket.AF_UNIX).connect(p); print('connected', p)
    except OSError as e: print(e.strerror)" 2>&1)
if [[ "$escape" != $'Connection refused\nConnection refused' ]]; then
  echo "FAIL: a socket outside the volume answered:"; echo "$escape"; fail=1
fi
# a host daemon that restarts (a new socket file under the same name) is
# reached again
serve_once() { # NAME: answers NAME on r.sock; NAME.up once listening
  python3 -c "
import os, socket, sys
d, name = sys.argv[1], sys.argv[2]
try: os.unlink(d + '/r.sock')
except FileNotFoundError: pass
s = socket.socket(socket.AF_UNIX); s.bind(d + '/r.sock'); s.listen()
open(d + '/' + name + '.up', 'w').close()
while True:
    c, _ = s.accept(); c.sendall(name.encode()); c.close()" "$work/dir" "$1" >/dev/null 2>&1 &
}
serve_once first; first=$!
for _ in $(seq 100); do [[ -e $work/dir/first.up ]] && break; sleep 0.05; done
timeout 60 "$umk" run -v "$work/dir:/s:sockets" -- python3 -c "
import os, socket, time
def ask():
    s = socket.socket(socket.AF_UNIX); s.connect('/s/r.sock'); return s.recv(10).decode()
print(ask(), flush=True)
open('/s/turn', 'w').close()
for _ in range(200):
    if os.path.exists('/s/second.up'): break
    time.sleep(0.05)
print(ask())" >"$work/restart.out" 2>&1 &
guest_pid=$!
for _ in $(seq 200); do [[ -e $work/dir/turn ]] && break; sleep 0.05; done
kill $first; wait $first 2>/dev/null || true
serve_once second; second=$!
wait $guest_pid || true
kill $second
if [[ $(cat "$work/restart.out") != $'first\nsecond' ]]; then
  echo "FAIL: after the host server restarted:"; cat "$work/restart.out"; fail=1
fi
for bad in "$work/dir:/s:bogus" "$work/dir:/s:ro,sockets,x"; do
  set +e; out=$("$umk" run -v "$bad" -- true 2>&1); rc=$?; set -e
  if [[ $rc != 2 || $(echo "$out" | wc -l) != 1 || "$out" != *"unknown option"* ]]; then
    echo "FAIL: -v $bad: exit $rc: $out"; fail=1
  fi
done
[[ $fail == 0 ]] && echo "OK: host sockets in volumes, only with :sockets"
exit $fail
