#!/usr/bin/python3
"""Python workload: threads with Lock/Condition, subprocess, fork/waitpid,
signal.alarm, multiprocessing Pool/Queue, ProcessPoolExecutor.
Output is deterministic (no pids, no timings)."""
import concurrent.futures
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time


def out(*args):
    print(*args, flush=True)  # flush before any fork


def section_threads():
    out("== threading")
    lock = threading.Lock()
    cond = threading.Condition()
    state = {"counter": 0, "ready": 0, "go": False, "done": []}
    nthreads, iters = 8, 5000

    def worker(idx):
        with cond:
            state["ready"] += 1
            cond.notify_all()
            cond.wait_for(lambda: state["go"])
        for _ in range(iters):
            with lock:
                state["counter"] += 1
        with lock:
            state["done"].append(idx)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(nthreads)]
    for t in threads:
        t.start()
    with cond:
        cond.wait_for(lambda: state["ready"] == nthreads)
        out("all threads ready:", state["ready"])
        state["go"] = True
        cond.notify_all()
    for t in threads:
        t.join()
    out("counter:", state["counter"], "expected:", nthreads * iters)
    out("done:", sorted(state["done"]))

    # producer/consumer over a Condition-protected list
    items, consumed = [], []
    c2 = threading.Condition()

    def consumer():
        while True:
            with c2:
                c2.wait_for(lambda: items)
                v = items.pop(0)
            if v is None:
                return
            consumed.append(v * v)

    ct = threading.Thread(target=consumer)
    ct.start()
    for v in list(range(10)) + [None]:
        with c2:
            items.append(v)
            c2.notify()
    ct.join()
    out("consumed:", consumed)


def section_subprocess():
    out("== subprocess")
    r = subprocess.run(["/bin/echo", "hello", "from", "echo"], capture_output=True, text=True)
    out("run:", repr(r.stdout), "rc", r.returncode)
    r = subprocess.run(["/bin/sh", "-c", "echo err >&2; exit 3"], capture_output=True, text=True)
    out("run sh:", repr(r.stdout), repr(r.stderr), "rc", r.returncode)
    r = subprocess.run("seq 1 5 | tac", shell=True, capture_output=True, text=True)
    out("shell pipeline:", r.stdout.split())
    p = subprocess.Popen(["/usr/bin/sort", "-r"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    so, _ = p.communicate("alpha\ngamma\nbeta\n")
    out("Popen sort:", so.split(), "rc", p.returncode)
    data = "".join(f"line {i}\n" for i in range(20000))
    p = subprocess.Popen(["/bin/cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    so, _ = p.communicate(data.encode())
    out("Popen cat roundtrip:", so.decode() == data, len(so), "rc", p.returncode)
    r = subprocess.run([sys.executable, "-c", "import os,signal; os.kill(os.getpid(), signal.SIGTERM)"])
    out("child killed by SIGTERM, returncode:", r.returncode)


def section_fork():
    out("== fork/waitpid")
    pid = os.fork()
    if pid == 0:
        os._exit(7)
    wpid, status = os.waitpid(pid, 0)
    out("same pid:", wpid == pid, "exited:", os.WIFEXITED(status),
        "code:", os.WEXITSTATUS(status), "waitstatus_to_exitcode:", os.waitstatus_to_exitcode(status))

    pid = os.fork()
    if pid == 0:
        os.kill(os.getpid(), signal.SIGKILL)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    out("signaled:", os.WIFSIGNALED(status), "sig:", signal.Signals(os.WTERMSIG(status)).name,
        "waitstatus_to_exitcode:", os.waitstatus_to_exitcode(status))

    # pipe between parent and child, several children reaped in order
    r, w = os.pipe()
    pids = []
    for i in range(4):
        pid = os.fork()
        if pid == 0:
            os.close(r)
            os.write(w, f"child {i}\n".encode())
            os._exit(10 + i)
        pids.append(pid)
    os.close(w)
    with os.fdopen(r) as f:
        lines = sorted(f.read().splitlines())
    codes = [os.WEXITSTATUS(os.waitpid(p, 0)[1]) for p in pids]
    out("pipe lines:", lines, "codes:", codes)
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        out("no more children: ChildProcessError")


def section_alarm():
    out("== signal.alarm")
    fired = []

    def handler(signum, frame):
        fired.append(signal.Signals(signum).name)

    old = signal.signal(signal.SIGALRM, handler)
    signal.alarm(1)
    signal.pause()
    out("after pause:", fired)
    signal.alarm(1)
    deadline = time.monotonic() + 10
    while len(fired) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    out("after sleep loop:", fired)
    out("remaining alarm:", signal.alarm(0))
    signal.signal(signal.SIGALRM, old)

    got = []
    signal.signal(signal.SIGUSR1, lambda s, f: got.append("USR1"))
    os.kill(os.getpid(), signal.SIGUSR1)
    out("self SIGUSR1:", got)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2})
    os.kill(os.getpid(), signal.SIGUSR2)
    out("pending:", sorted(s.name for s in signal.sigpending()))
    out("sigwait:", signal.Signals(signal.sigwait({signal.SIGUSR2})).name)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR2})


def square(x):
    return x * x


def producer(q, n):
    for i in range(n):
        q.put(("item", i))
    q.put(None)


def cube(x):
    return x ** 3


def section_multiprocessing():
    out("== multiprocessing")
    with multiprocessing.Pool(4) as pool:
        out("Pool.map:", pool.map(square, range(20)))
        out("Pool.apply_async:", pool.apply_async(sum, ([1, 2, 3],)).get(timeout=30))
    q = multiprocessing.Queue()
    p = multiprocessing.Process(target=producer, args=(q, 50))
    p.start()
    received = []
    while True:
        v = q.get(timeout=30)
        if v is None:
            break
        received.append(v[1])
    p.join()
    out("Queue received:", len(received), "sum:", sum(received), "in order:", received == list(range(50)))
    out("Process exitcode:", p.exitcode)
    p = multiprocessing.Process(target=sys.exit, args=(5,))
    p.start()
    p.join()
    out("Process sys.exit(5) exitcode:", p.exitcode)


def section_futures():
    out("== ProcessPoolExecutor")
    with concurrent.futures.ProcessPoolExecutor(max_workers=3) as ex:
        out("map:", list(ex.map(cube, range(12))))
        fut = ex.submit(pow, 2, 20)
        out("submit:", fut.result(timeout=30))


def main():
    out("python", sys.version_info[:2] >= (3, 6))
    section_threads()
    section_subprocess()
    section_fork()
    section_alarm()
    section_multiprocessing()
    section_futures()
    out("== done")
    return 4


if __name__ == "__main__":
    sys.exit(main())
