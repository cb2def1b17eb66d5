# client.py DIR: talks to server.py's sockets in DIR; prints what it sees
# (the same natively and in a guest given DIR with -v ...:sockets).
import errno, hashlib, os, select, socket, sys, threading

d = sys.argv[1]

def attempt(what, f):
    try:
        print(what, f())
    except OSError as e:
        print(what, errno.errorcode.get(e.errno, e.errno))

def stream():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(os.path.join(d, "stream.sock"))
    print("peer", os.path.basename(s.getpeername()), "uid", s.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)[4:8] == os.getuid().to_bytes(4, "little"))
    # 4 MiB both ways at once: blocking sends and receives wait on each other.
    data = os.urandom(4 << 20)
    sender = threading.Thread(target=s.sendall, args=(data,))
    sender.start()
    got = bytearray()
    while len(got) < len(data):
        got += s.recv(1 << 20)
    sender.join()
    print("echo", len(got), hashlib.sha256(got).hexdigest() == hashlib.sha256(data).hexdigest())
    s.setblocking(False)
    attempt("nonblocking recv", lambda: s.recv(10))
    s.setblocking(True)
    s.send(b"late")
    r, _, _ = select.select([s], [], [], 5)
    print("select", len(r), s.recv(10))
    e = select.epoll()
    e.register(s.fileno(), select.EPOLLIN | select.EPOLLET)
    s.send(b"late")
    print("epoll", [(ev & select.EPOLLIN) != 0 for _, ev in e.poll(5)], s.recv(10))
    print("epoll again", e.poll(0.2))
    s.send(b"x" * 100)
    print("waitall", len(s.recv(100, socket.MSG_WAITALL)))
    s.send(b"close")
    print("eof", s.recv(10))
    attempt("send after peer closed", lambda: [s.send(b"y") for _ in range(3)])
    s.close()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(os.path.join(d, "stream.sock"))
    s.send(b"half")
    s.shutdown(socket.SHUT_WR)
    print("half-close", s.recv(10), s.recv(10))
    s.close()

def seqpacket():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(os.path.join(d, "seq.sock"))
    for m in (b"one", b"two", b"three" * 100):
        s.send(m)
    print("seq", s.recv(100), s.recv(100), len(s.recv(1000)))
    s.send(b"truncated message")
    data, _, flags, _ = s.recvmsg(9)
    print("seq trunc", data, (flags & socket.MSG_TRUNC) != 0)
    s.close()

def dgram():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.connect(os.path.join(d, "dgram.sock"))
    s.send(b"connected datagram")
    s.close()
    u = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    u.sendto(b"sendto datagram", os.path.join(d, "dgram.sock"))
    u.close()
    print("dgram sent")

def refused():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    attempt("wrong type", lambda: s.connect(os.path.join(d, "seq.sock")))
    attempt("not a socket", lambda: socket.socket(socket.AF_UNIX).connect(os.path.join(d, "ready")))

attempt("stream", stream)
attempt("seqpacket", seqpacket)
attempt("dgram", dgram)
refused()
