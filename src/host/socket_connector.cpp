#include "host/socket_connector.h"

#include "host/files.h"

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <string>
#include <thread>

#include <sched.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace umk::host {

namespace {

struct Request {
    int sock;
    int node;
    int error { 0 };
    bool done { false };
};

// Never destroyed: the thread waits on it until the process exits (glibc's
// pthread_cond_destroy would wait for it).
struct Connector {
    std::mutex lock;
    std::condition_variable changed;
    std::deque<Request*> queue; // under lock
    bool started { false };     // under lock
};
Connector& g = *new Connector;

void serve()
{
    for (;;) {
        std::unique_lock lock(g.lock);
        g.changed.wait(lock, [] { return !g.queue.empty(); });
        Request* r = g.queue.front();
        g.queue.pop_front();
        lock.unlock();
        sockaddr_un address {};
        address.sun_family = AF_UNIX;
        std::string name = "self/fd/" + std::to_string(r->node);
        name.copy(address.sun_path, sizeof address.sun_path - 1);
        int rc = ::connect(r->sock, reinterpret_cast<const sockaddr*>(&address), sizeof address);
        int error = rc == 0 ? 0 : errno;
        lock.lock();
        r->error = error;
        r->done = true;
        g.changed.notify_all();
    }
}

} // namespace

KResult<void> start_socket_connector()
{
    int proc = TRY(proc_fd());
    std::promise<int> ready;
    auto started = ready.get_future();
    std::thread([proc, &ready] {
        // Its own working directory, which no other thread sees.
        if (unshare(CLONE_FS) != 0 || fchdir(proc) != 0) {
            ready.set_value(errno);
            return;
        }
        ready.set_value(0);
        serve();
    }).detach();
    if (int error = started.get())
        return err(errno_from_host(error));
    std::lock_guard lock(g.lock);
    g.started = true;
    return {};
}

KResult<void> connect_to_node(int sock, int node)
{
    Request r { sock, node };
    std::unique_lock lock(g.lock);
    if (!g.started)
        return err(Errno::CONNREFUSED);
    g.queue.push_back(&r);
    g.changed.notify_all();
    g.changed.wait(lock, [&] { return r.done; });
    return r.error ? KResult<void>(err(errno_from_host(r.error))) : KResult<void>();
}

} // namespace umk::host
