#include "kernel/tty/console.h"

#include "host/files.h"
#include "host/tty.h"
#include "kernel/fs/hostfs/hostfs.h"
#include "kernel/task/task.h"

#include <asm/ioctls.h>
#include <poll.h>

namespace umk::kernel {

KResult<InodeAttr> ConsoleInode::attr()
{
    auto st = TRY(host::stat_fd(m_fd.get()));
    return attr_from_host(st);
}

KResult<RefPtr<File>> ConsoleInode::open(int flags) { return RefPtr<File>(new ConsoleFile(RefPtr<Inode>(this), flags)); }

KResult<usize> ConsoleFile::read(std::span<u8> out, u64) { return host::read(fd(), out); }

KResult<usize> ConsoleFile::write(std::span<const u8> data, u64) { return host::write(fd(), data); }

u32 ConsoleFile::poll_events()
{
    return host::poll_now(fd(), static_cast<short>((readable() ? POLLIN : 0) | (writable() ? POLLOUT : 0)));
}

KResult<u64> ConsoleFile::ioctl(Thread& t, u64 request, u64 argument)
{
    struct Allowed {
        u64 request;
        host::TtyRequest host;
        usize size;
        bool out; // the kernel copies the result back to the guest
    };
    static constexpr Allowed kAllowed[] = {
        { TCGETS, host::TtyRequest::GetAttr, 36, true },
        { TCSETS, host::TtyRequest::SetAttr, 36, false },
        { TCSETSW, host::TtyRequest::SetAttrDrain, 36, false },
        { TCSETSF, host::TtyRequest::SetAttrFlush, 36, false },
        { TIOCGWINSZ, host::TtyRequest::GetWinsize, 8, true },
        { TIOCSWINSZ, host::TtyRequest::SetWinsize, 8, false },
        { FIONREAD, host::TtyRequest::BytesReadable, 4, true },
    };
    for (auto& a : kAllowed) {
        if (a.request != request)
            continue;
        u8 buffer[64] {};
        std::span<u8> arg(buffer, a.size);
        if (!a.out)
            TRY(t.mm().copy_in(argument, arg));
        TRY(host::tty_ioctl(fd(), a.host, arg));
        if (a.out)
            TRY(t.mm().copy_out(argument, arg));
        return 0;
    }
    return err(Errno::NOTTY);
}

} // namespace umk::kernel
