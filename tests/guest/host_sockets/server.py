# server.py DIR: host-side unix socket servers for host_sockets.sh, in DIR:
# stream.sock (echo; "late" answered after 300 ms; "close" closes),
# seq.sock (seqpacket echo, one reply per message), dgram.sock (datagrams
# appended to DIR/dgram.log). Writes DIR/ready when listening.
import os, socket, sys, threading, time

d = sys.argv[1]

def stream_client(c):
    with c:
        while True:
            data = c.recv(65536)
            if not data:
                return
            if data == b"late":
                time.sleep(0.3)
            if data == b"close":
                return
            c.sendall(data)

def seq_client(c):
    with c:
        while True:
            data = c.recv(65536)
            if not data:
                return
            c.send(data)

def serve(path, kind, handler):
    s = socket.socket(socket.AF_UNIX, kind)
    s.bind(path)
    s.listen(8)
    def loop():
        while True:
            c, _ = s.accept()
            threading.Thread(target=handler, args=(c,), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()

serve(os.path.join(d, "stream.sock"), socket.SOCK_STREAM, stream_client)
serve(os.path.join(d, "seq.sock"), socket.SOCK_SEQPACKET, seq_client)
g = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
g.bind(os.path.join(d, "dgram.sock"))
open(os.path.join(d, "ready"), "w").close()
with open(os.path.join(d, "dgram.log"), "a") as log:
    while True:
        log.write(g.recv(65536).decode() + "\n")
        log.flush()
