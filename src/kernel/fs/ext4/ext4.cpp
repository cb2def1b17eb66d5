#include "kernel/fs/ext4/ext4.h"

#include "host/files.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wpedantic"
#include <ext2fs/ext2fs.h>
#pragma GCC diagnostic pop
// Exported by libext2fs, declared only in its private header (ext2fsP.h).
extern "C" errcode_t ext2fs_inline_data_expand(ext2_filsys fs, ext2_ino_t ino);

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <set>

namespace umk::kernel {

namespace {

constexpr u64 kChunk = 64 * 1024; // dirty tracking granularity of a page cache
constexpr u32 kLinkMax = 65000;   // EXT4_LINK_MAX
// Page caches of files nobody has open, kept for their next open.
constexpr u64 kIdleCacheBudget = 256ull << 20;

void warn(const std::string& message)
{
    std::string line = fmt::format("umk: ext4: {}\n", message);
    [[maybe_unused]] auto n = ::write(STDERR_FILENO, line.data(), line.size());
}

void warn_once(const std::string& message)
{
    static std::mutex lock;
    static std::set<std::string> said;
    {
        std::lock_guard guard(lock);
        if (!said.insert(message).second)
            return;
    }
    warn(message);
}

// --- libext2fs's io_manager over a host::DiskImage ---

std::mutex g_disks_lock;
std::map<std::string, host::DiskImage*, std::less<>> g_disks;

errcode_t channel_open(const char* name, int, io_channel* out);
errcode_t channel_close(io_channel io);
errcode_t channel_set_blksize(io_channel io, int size)
{
    io->block_size = size;
    return 0;
}

host::DiskImage& disk_of(io_channel io) { return *static_cast<host::DiskImage*>(io->private_data); }

usize transfer_size(io_channel io, int count)
{
    return count < 0 ? static_cast<usize>(-static_cast<i64>(count)) : static_cast<usize>(count) * io->block_size;
}

errcode_t channel_read64(io_channel io, unsigned long long block, int count, void* data)
{
    auto r = disk_of(io).read(block * io->block_size, std::span(static_cast<u8*>(data), transfer_size(io, count)));
    return r ? 0 : static_cast<errcode_t>(r.error());
}

errcode_t channel_write64(io_channel io, unsigned long long block, int count, const void* data)
{
    auto r = disk_of(io).write(block * io->block_size, std::span(static_cast<const u8*>(data), transfer_size(io, count)));
    return r ? 0 : static_cast<errcode_t>(r.error());
}

errcode_t channel_read(io_channel io, unsigned long block, int count, void* data) { return channel_read64(io, block, count, data); }
errcode_t channel_write(io_channel io, unsigned long block, int count, const void* data)
{
    return channel_write64(io, block, count, data);
}

errcode_t channel_write_byte(io_channel io, unsigned long offset, int count, const void* data)
{
    auto r = disk_of(io).write(offset, std::span(static_cast<const u8*>(data), static_cast<usize>(count)));
    return r ? 0 : static_cast<errcode_t>(r.error());
}

errcode_t channel_flush(io_channel io)
{
    auto r = disk_of(io).flush();
    return r ? 0 : static_cast<errcode_t>(r.error());
}

errcode_t channel_set_option(io_channel, const char*, const char*) { return EXT2_ET_INVALID_ARGUMENT; }

struct_io_manager g_manager = {
    .magic = EXT2_ET_MAGIC_IO_MANAGER,
    .name = "umk disk image",
    .open = channel_open,
    .close = channel_close,
    .set_blksize = channel_set_blksize,
    .read_blk = channel_read,
    .write_blk = channel_write,
    .flush = channel_flush,
    .write_byte = channel_write_byte,
    .set_option = channel_set_option,
    .get_stats = nullptr,
    .read_blk64 = channel_read64,
    .write_blk64 = channel_write64,
    .discard = nullptr,
    .cache_readahead = nullptr,
    .zeroout = nullptr,
    .reserved = {},
};

errcode_t channel_open(const char* name, int, io_channel* out)
{
    host::DiskImage* disk;
    {
        std::lock_guard lock(g_disks_lock);
        auto it = g_disks.find(std::string_view(name));
        if (it == g_disks.end())
            return EXT2_ET_BAD_DEVICE_NAME;
        disk = it->second;
    }
    io_channel io;
    if (errcode_t e = ext2fs_get_memzero(sizeof(*io), &io))
        return e;
    if (errcode_t e = ext2fs_get_mem(std::strlen(name) + 1, &io->name)) {
        ext2fs_free_mem(&io);
        return e;
    }
    std::strcpy(io->name, name);
    io->magic = EXT2_ET_MAGIC_IO_CHANNEL;
    io->manager = &g_manager;
    io->block_size = 1024;
    io->refcount = 1;
    io->private_data = disk;
    *out = io;
    return 0;
}

errcode_t channel_close(io_channel io)
{
    if (--io->refcount > 0)
        return 0;
    ext2fs_free_mem(&io->name);
    ext2fs_free_mem(&io);
    return 0;
}

// --- errors ---

Errno to_errno(errcode_t e)
{
    if (e > 0 && e < 4096)
        return static_cast<Errno>(e); // a host errno (from the disk, or libext2fs's own calls)
    switch (e) {
    case EXT2_ET_NO_MEMORY:
        return Errno::NOMEM;
    case EXT2_ET_DIR_NO_SPACE:
    case EXT2_ET_BLOCK_ALLOC_FAIL:
    case EXT2_ET_INODE_ALLOC_FAIL:
    case EXT2_ET_EA_NO_SPACE:
    case EXT2_ET_INLINE_DATA_NO_SPACE:
    case EXT2_ET_DIR_NO_SPACE_FOR_CSUM:
    case EXT2_ET_TOOSMALL:
        return Errno::NOSPC;
    case EXT2_ET_FILE_NOT_FOUND:
        return Errno::NOENT;
    case EXT2_ET_DIR_EXISTS:
    case EXT2_ET_FILE_EXISTS:
        return Errno::EXIST;
    case EXT2_ET_INVALID_ARGUMENT:
        return Errno::INVAL;
    case EXT2_ET_RO_FILSYS:
        return Errno::ROFS;
    case EXT2_ET_EA_KEY_NOT_FOUND:
        return Errno::NODATA;
    case EXT2_ET_FILE_TOO_BIG:
        return Errno::FBIG;
    case EXT2_ET_NO_DIRECTORY:
        return Errno::NOTDIR;
    case EXT2_ET_EA_BAD_NAME_LEN:
    case EXT2_ET_EA_BAD_VALUE_SIZE:
        return Errno::RANGE;
    case EXT2_ET_UNIMPLEMENTED:
    case EXT2_ET_MISSING_EA_FEATURE:
        return Errno::OPNOTSUPP;
    default:
        warn_once(fmt::format("libext2fs error {} ({}) given to the guest as EIO", static_cast<long>(e), error_message(e)));
        return Errno::IO;
    }
}

#define E2TRY(expr)                                     \
    do {                                                \
        if (errcode_t e2try_ = (expr); e2try_ != 0)     \
            return err(to_errno(e2try_));               \
    } while (0)

// --- inodes on disk ---

using RawInode = ext2_inode_large;

ext2_inode* small(RawInode& in) { return reinterpret_cast<ext2_inode*>(&in); }

bool has_extra(ext2_filsys fs, const RawInode& in, usize field_end)
{
    return EXT2_INODE_SIZE(fs->super) > EXT2_GOOD_OLD_INODE_SIZE
        && static_cast<usize>(EXT2_GOOD_OLD_INODE_SIZE + in.i_extra_isize) >= field_end;
}

// ext4's times: 32 seconds bits in the inode, then two more seconds bits
// (the epoch) and the nanoseconds in the *_extra field.
Timespec decode_time(u32 base, const u32* extra)
{
    i64 sec = static_cast<i32>(base);
    i64 nsec = 0;
    if (extra) {
        sec += static_cast<i64>(*extra & EXT4_EPOCH_MASK) << 32;
        nsec = *extra >> EXT4_EPOCH_BITS;
    }
    return { sec, nsec };
}

void encode_time(Timespec t, u32& base, u32* extra)
{
    // Clamped to what the inode can hold (Linux's timestamp_truncate):
    // with the extra field 1901-12-13 to 2446-05-10, else to 2038.
    i64 min = INT32_MIN, max = extra ? INT32_MIN + (1ll << 34) - 1 : INT32_MAX;
    if (t.sec <= min || t.sec >= max) {
        t.sec = std::clamp(t.sec, min, max);
        t.nsec = 0;
    }
    base = static_cast<u32>(t.sec);
    if (extra)
        *extra = static_cast<u32>(((t.sec - static_cast<i32>(static_cast<u32>(t.sec))) >> 32) & EXT4_EPOCH_MASK)
               | static_cast<u32>(t.nsec << EXT4_EPOCH_BITS);
}

#define EXTRA(fs, in, field) \
    (has_extra(fs, in, offsetof(RawInode, field) + sizeof((in).field)) ? &(in).field : nullptr)

Timespec get_mtime(ext2_filsys fs, RawInode& in) { return decode_time(in.i_mtime, EXTRA(fs, in, i_mtime_extra)); }
Timespec get_atime(ext2_filsys fs, RawInode& in) { return decode_time(in.i_atime, EXTRA(fs, in, i_atime_extra)); }
Timespec get_ctime(ext2_filsys fs, RawInode& in) { return decode_time(in.i_ctime, EXTRA(fs, in, i_ctime_extra)); }
void set_mtime(ext2_filsys fs, RawInode& in, Timespec t) { encode_time(t, in.i_mtime, EXTRA(fs, in, i_mtime_extra)); }
void set_atime(ext2_filsys fs, RawInode& in, Timespec t) { encode_time(t, in.i_atime, EXTRA(fs, in, i_atime_extra)); }
void set_ctime(ext2_filsys fs, RawInode& in, Timespec t) { encode_time(t, in.i_ctime, EXTRA(fs, in, i_ctime_extra)); }

u32 get_uid(const RawInode& in) { return in.i_uid | (static_cast<u32>(in.osd2.linux2.l_i_uid_high) << 16); }
u32 get_gid(const RawInode& in) { return in.i_gid | (static_cast<u32>(in.osd2.linux2.l_i_gid_high) << 16); }
void set_owner(RawInode& in, u32 uid, u32 gid)
{
    in.i_uid = static_cast<u16>(uid);
    in.osd2.linux2.l_i_uid_high = static_cast<u16>(uid >> 16);
    in.i_gid = static_cast<u16>(gid);
    in.osd2.linux2.l_i_gid_high = static_cast<u16>(gid >> 16);
}

int file_type(u32 mode)
{
    switch (mode & S_IFMT) {
    case S_IFREG: return EXT2_FT_REG_FILE;
    case S_IFDIR: return EXT2_FT_DIR;
    case S_IFCHR: return EXT2_FT_CHRDEV;
    case S_IFBLK: return EXT2_FT_BLKDEV;
    case S_IFIFO: return EXT2_FT_FIFO;
    case S_IFSOCK: return EXT2_FT_SOCK;
    case S_IFLNK: return EXT2_FT_SYMLINK;
    default: return EXT2_FT_UNKNOWN;
    }
}

u8 dirent_type_of(int ft)
{
    static constexpr u8 kTypes[] = { 0 /* unknown */, 8 /* reg */, 4 /* dir */, 2 /* chr */, 6 /* blk */,
                                     1 /* fifo */, 12 /* sock */, 10 /* lnk */ };
    return ft >= 0 && ft < 8 ? kTypes[ft] : 0;
}

KResult<RawInode> read_raw(ext2_filsys fs, u32 ino)
{
    RawInode in {};
    E2TRY(ext2fs_read_inode_full(fs, ino, small(in), sizeof in));
    return in;
}

KResult<void> write_raw(ext2_filsys fs, u32 ino, RawInode& in)
{
    E2TRY(ext2fs_write_inode_full(fs, ino, small(in), sizeof in));
    return {};
}

// The inode number of `name` in `dir`, or 0 (no inode has it).
KResult<u32> find(ext2_filsys fs, u32 dir, std::string_view name)
{
    if (name.size() > EXT2_NAME_LEN)
        return err(Errno::NAMETOOLONG);
    ext2_ino_t ino = 0;
    errcode_t e = ext2fs_lookup(fs, dir, name.data(), static_cast<int>(name.size()), nullptr, &ino);
    if (e == EXT2_ET_FILE_NOT_FOUND)
        return 0;
    E2TRY(e);
    return ino;
}

KResult<bool> dir_is_empty(ext2_filsys fs, u32 dir)
{
    bool empty = true;
    auto check = [](ext2_ino_t, int, ext2_dir_entry* d, int, int, char*, void* priv) -> int {
        int len = ext2fs_dirent_name_len(d);
        if ((len == 1 && d->name[0] == '.') || (len == 2 && d->name[0] == '.' && d->name[1] == '.'))
            return 0;
        *static_cast<bool*>(priv) = false;
        return DIRENT_ABORT;
    };
    E2TRY(ext2fs_dir_iterate2(fs, dir, 0, nullptr, check, &empty));
    return empty;
}

// Points a moved directory's ".." at its new parent.
KResult<void> set_dotdot(ext2_filsys fs, u32 dir, u32 parent)
{
    auto change = [](ext2_ino_t, int, ext2_dir_entry* d, int, int, char*, void* priv) -> int {
        if (ext2fs_dirent_name_len(d) == 2 && d->name[0] == '.' && d->name[1] == '.') {
            d->inode = *static_cast<u32*>(priv);
            return DIRENT_CHANGED | DIRENT_ABORT;
        }
        return 0;
    };
    E2TRY(ext2fs_dir_iterate2(fs, dir, 0, nullptr, change, &parent));
    return {};
}

// Whether directory `dir` is `ancestor` or below it, by the ".." entries.
KResult<bool> is_below(ext2_filsys fs, u32 dir, u32 ancestor)
{
    for (int depth = 0; depth < 4096 && dir != EXT2_ROOT_INO; depth++) {
        if (dir == ancestor)
            return true;
        u32 up = TRY(find(fs, dir, ".."));
        if (up == 0 || up == dir)
            break;
        dir = up;
    }
    return dir == ancestor;
}

KResult<void> adjust_links(ext2_filsys fs, u32 ino, int delta)
{
    auto in = TRY(read_raw(fs, ino));
    // dir_nlink: a directory past EXT4_LINK_MAX counts 1 and stays there.
    if (LINUX_S_ISDIR(in.i_mode) && (in.i_links_count == 1 || in.i_links_count + delta >= static_cast<int>(kLinkMax)))
        in.i_links_count = 1;
    else
        in.i_links_count = static_cast<u16>(in.i_links_count + delta);
    set_ctime(fs, in, now_realtime());
    return write_raw(fs, ino, in);
}

KResult<void> touch_dir(ext2_filsys fs, u32 dir)
{
    auto in = TRY(read_raw(fs, dir));
    auto now = now_realtime();
    set_mtime(fs, in, now);
    set_ctime(fs, in, now);
    return write_raw(fs, dir, in);
}

KResult<void> touch_ctime(ext2_filsys fs, u32 ino)
{
    auto in = TRY(read_raw(fs, ino));
    set_ctime(fs, in, now_realtime());
    return write_raw(fs, ino, in);
}

// Whether `blocks` more can be allocated. Like fuse2fs, the reserved
// blocks stay free for everyone: libext2fs can corrupt a file system it
// runs completely out of space on.
u64 free_for_guests(ext2_filsys fs)
{
    u64 reserved = ext2fs_r_blocks_count(fs->super);
    if (!reserved)
        reserved = ext2fs_blocks_count(fs->super) / 10;
    u64 free = ext2fs_free_blocks_count(fs->super);
    return free > reserved ? free - reserved : 0;
}

bool can_allocate(ext2_filsys fs, u64 blocks) { return free_for_guests(fs) > blocks; }

// The largest file ext4 holds: 2^32 blocks (extents; an indirect-mapped
// ext2/3 file holds less, and libext2fs says EFBIG then).
u64 max_file_size(ext2_filsys fs) { return ((1ull << 32) - 1) * fs->blocksize; }

u64 file_size(ext2_file_t f)
{
    __u64 size = 0;
    ext2fs_file_get_lsize(f, &size);
    return size;
}

bool all_zero(std::span<const u8> bytes)
{
    return std::all_of(bytes.begin(), bytes.end(), [](u8 b) { return b == 0; });
}

std::atomic<u64> g_next_dev { 0x800 };

} // namespace

// --- the file system ---

Ext4Fs::Ext4Fs(host::DiskImage disk) : m_disk(std::move(disk)), m_dev(g_next_dev++) {}

std::expected<std::unique_ptr<Ext4Fs>, std::string> Ext4Fs::mount(host::DiskImage disk)
{
    static std::once_flag messages;
    std::call_once(messages, [] { add_error_table(&et_ext2_error_table); });
    std::unique_ptr<Ext4Fs> fs(new Ext4Fs(std::move(disk)));
    fs->m_channel_name = fmt::format("umk-disk-{}", static_cast<void*>(fs.get()));
    {
        std::lock_guard lock(g_disks_lock);
        g_disks[fs->m_channel_name] = &fs->m_disk;
    }
    int flags = EXT2_FLAG_64BITS | (fs->writable() ? EXT2_FLAG_RW : 0);
    ext2_filsys e2 = nullptr;
    errcode_t e = ext2fs_open2(fs->m_channel_name.c_str(), nullptr, flags, 0, 0, &g_manager, &e2);
    {
        std::lock_guard lock(g_disks_lock);
        g_disks.erase(fs->m_channel_name); // the channel holds the pointer now
    }
    if (e)
        return std::unexpected(fmt::format("not an ext2/3/4 file system umk can use ({})", error_message(e)));
    fs->m_fs = e2;
    if ((e2->blocksize == 1024) != (e2->super->s_first_data_block == 1) || (e = ext2fs_check_desc(e2)))
        return std::unexpected(fmt::format("its group descriptors are corrupt ({}): run e2fsck on it",
                                           e ? error_message(e) : "first data block"));
    if (fs->writable() && ext2fs_has_feature_journal_needs_recovery(e2->super))
        return std::unexpected("its journal needs recovery: run e2fsck on it first");
    if (fs->writable() && (e2->super->s_state & EXT2_ERROR_FS))
        return std::unexpected("its file system has errors: run e2fsck on it first");
    // umk writes no journal: an image whose last user was killed before
    // it could write back is as an ext2 file system after a crash.
    if (fs->writable() && !(e2->super->s_state & EXT2_VALID_FS))
        return std::unexpected("it was not cleanly unmounted (its last guest was killed): run e2fsck -fy on it first "
                               "(with --cow: umk image merge into a copy of the image, then e2fsck that)");
    if ((e = ext2fs_read_bitmaps(e2)))
        return std::unexpected(fmt::format("cannot read its bitmaps ({}): run e2fsck on it", error_message(e)));
    if (fs->writable()) {
        // Mounted: not clean until unmounted (e2fsck checks it otherwise).
        e2->super->s_state &= static_cast<u16>(~EXT2_VALID_FS);
        e2->super->s_mnt_count++;
        e2->super->s_mtime = static_cast<u32>(now_realtime().sec);
        ext2fs_mark_super_dirty(e2);
        if ((e = ext2fs_flush(e2)))
            return std::unexpected(fmt::format("cannot write to it ({})", error_message(e)));
    }
    fs->m_mounted = true;
    return fs;
}

Ext4Fs::~Ext4Fs()
{
    if (!m_fs)
        return;
    if (!m_mounted) {
        ext2fs_free(m_fs); // refused: left as it was
        return;
    }
    std::lock_guard lock(m_lock);
    for (auto& [ino, inode] : m_inodes) {
        (void)inode->write_back_locked();
        // Still held (by a file or dentry that outlives the guest's
        // processes): an unlinked one is freed now, as an orphan at
        // unmount, and the object forgets the file system.
        if (writable())
            (void)free_inode_locked(ino);
        inode->m_unmounted = true;
    }
    if (writable()) {
        m_fs->super->s_state |= EXT2_VALID_FS;
        ext2fs_mark_super_dirty(m_fs);
        ext2fs_set_gdt_csum(m_fs);
    }
    if (errcode_t e = ext2fs_close_free(&m_fs))
        warn(fmt::format("writing the image's metadata failed: {}", error_message(e)));
    (void)m_disk.flush();
}

RefPtr<Ext4Inode> Ext4Fs::root()
{
    std::lock_guard lock(m_lock);
    return inode_locked(EXT2_ROOT_INO);
}

RefPtr<Ext4Inode> Ext4Fs::inode_locked(u32 ino)
{
    auto it = m_inodes.find(ino);
    if (it != m_inodes.end() && it->second->try_ref())
        return RefPtr<Ext4Inode>::adopt(it->second);
    auto* inode = new Ext4Inode(*this, ino);
    m_inodes[ino] = inode;
    return RefPtr<Ext4Inode>(inode);
}

KResult<void> Ext4Fs::sync()
{
    std::lock_guard lock(m_lock);
    for (auto& [ino, inode] : m_inodes)
        TRY(inode->write_back_locked());
    if (writable())
        E2TRY(ext2fs_flush(m_fs));
    return m_disk.flush();
}

void Ext4Fs::keep_idle_locked(Ext4Inode& inode)
{
    forget_idle_locked(inode);
    auto size = host::stat_fd(inode.m_cache.get());
    inode.m_idle_bytes = size ? static_cast<u64>(size->blocks) * 512 : 0;
    m_idle.push_back(&inode);
    m_idle_bytes += inode.m_idle_bytes;
    while (m_idle_bytes > kIdleCacheBudget && !m_idle.empty()) {
        Ext4Inode* oldest = m_idle.front();
        forget_idle_locked(*oldest);
        if (auto r = oldest->write_back_locked(); !r)
            warn(fmt::format("writing back inode {} failed: {}", oldest->m_ino, errno_name(r.error())));
        oldest->m_cache.reset();
    }
}

void Ext4Fs::forget_idle_locked(Ext4Inode& inode)
{
    auto it = std::find(m_idle.begin(), m_idle.end(), &inode);
    if (it == m_idle.end())
        return;
    m_idle.erase(it);
    m_idle_bytes -= inode.m_idle_bytes;
}

KResult<void> Ext4Fs::free_inode_locked(u32 ino)
{
    if (!ext2fs_test_inode_bitmap2(m_fs->inode_map, ino))
        return {}; // already free
    auto in = TRY(read_raw(m_fs, ino));
    if (in.i_links_count)
        return {};
    in.i_dtime = static_cast<u32>(now_realtime().sec);
    E2TRY(ext2fs_free_ext_attr(m_fs, ino, &in));
    if (ext2fs_inode_has_valid_blocks2(m_fs, small(in))) {
        // Every block it has, data and mapping, released as debugfs's
        // kill_file does (ext2fs_punch of libext2fs 1.47.0 fails on an
        // extent that ends at the file system's last block).
        auto release = [](ext2_filsys fs, blk64_t* block, e2_blkcnt_t, blk64_t, int, void*) -> int {
            ext2fs_block_alloc_stats2(fs, *block, -1);
            return 0;
        };
        E2TRY(ext2fs_block_iterate3(m_fs, ino, BLOCK_FLAG_READ_ONLY, nullptr, release, nullptr));
    }
    ext2fs_inode_alloc_stats2(m_fs, ino, -1, LINUX_S_ISDIR(in.i_mode));
    return write_raw(m_fs, ino, in);
}

// --- inodes ---

Ext4Inode::~Ext4Inode()
{
    if (m_unmounted)
        return;
    std::lock_guard lock(m_fs.m_lock);
    m_fs.forget_idle_locked(*this);
    (void)write_back_locked();
    auto it = m_fs.m_inodes.find(m_ino);
    if (it == m_fs.m_inodes.end() || it->second != this)
        return; // a newer object has the number now
    m_fs.m_inodes.erase(it);
    if (m_fs.writable())
        if (auto r = m_fs.free_inode_locked(m_ino); !r)
            warn(fmt::format("cannot free inode {}: {}", m_ino, errno_name(r.error())));
}

KResult<InodeAttr> Ext4Inode::attr()
{
    std::lock_guard lock(m_fs.m_lock);
    auto* fs = m_fs.m_fs;
    auto in = TRY(read_raw(fs, m_ino));
    InodeAttr a;
    a.dev = m_fs.m_dev;
    a.ino = m_ino;
    a.mode = in.i_mode;
    a.nlink = in.i_links_count;
    a.uid = get_uid(in);
    a.gid = get_gid(in);
    a.size = static_cast<i64>(EXT2_I_SIZE(&in));
    a.blksize = fs->blocksize;
    a.blocks = static_cast<i64>(ext2fs_get_stat_i_blocks(fs, small(in)));
    a.atime = get_atime(fs, in);
    a.mtime = get_mtime(fs, in);
    a.ctime = get_ctime(fs, in);
    if (auto* extra = EXTRA(fs, in, i_crtime_extra))
        a.btime = decode_time(in.i_crtime, extra);
    if (LINUX_S_ISCHR(in.i_mode) || LINUX_S_ISBLK(in.i_mode)) {
        u32 old = in.i_block[0], neu = in.i_block[1];
        a.rdev = old ? makedev((old >> 8) & 255, old & 255) : makedev((neu & 0xfff00) >> 8, (neu & 0xff) | ((neu >> 12) & 0xfff00));
    }
    if (m_cache.valid()) {
        auto st = TRY(host::stat_fd(m_cache.get()));
        a.size = st.size;
    }
    if (m_pending_mtime)
        a.mtime = a.ctime = *m_pending_mtime;
    return a;
}

KResult<RefPtr<Inode>> Ext4Inode::lookup(std::string_view name)
{
    std::lock_guard lock(m_fs.m_lock);
    auto found = TRY(find(m_fs.m_fs, m_ino, name));
    if (!found)
        return err(Errno::NOENT);
    return RefPtr<Inode>(m_fs.inode_locked(found));
}

KResult<std::vector<DirEntry>> Ext4Inode::list()
{
    std::lock_guard lock(m_fs.m_lock);
    std::vector<DirEntry> out;
    auto add = [](ext2_ino_t, int, ext2_dir_entry* d, int, int, char*, void* priv) -> int {
        static_cast<std::vector<DirEntry>*>(priv)->push_back(
            { std::string(d->name, ext2fs_dirent_name_len(d)), d->inode, dirent_type_of(ext2fs_dirent_file_type(d)) });
        return 0;
    };
    E2TRY(ext2fs_dir_iterate2(m_fs.m_fs, m_ino, 0, nullptr, add, &out));
    return out;
}

KResult<void> Ext4Inode::add_link_locked(std::string_view name, u32 ino, u32 mode)
{
    auto* fs = m_fs.m_fs;
    std::string n(name);
    errcode_t e = ext2fs_link(fs, m_ino, n.c_str(), ino, file_type(mode));
    if (e == EXT2_ET_DIR_NO_SPACE) {
        E2TRY(ext2fs_expand_dir(fs, m_ino));
        e = ext2fs_link(fs, m_ino, n.c_str(), ino, file_type(mode));
    }
    E2TRY(e);
    return {};
}

KResult<RefPtr<Inode>> Ext4Inode::make_child_locked(std::string_view name, u32 mode, u64 rdev, u32 uid, u32 gid,
                                                    std::string_view symlink_target)
{
    auto* fs = m_fs.m_fs;
    if (!m_fs.writable())
        return err(Errno::ROFS);
    auto dir = TRY(read_raw(fs, m_ino));
    if (!LINUX_S_ISDIR(dir.i_mode))
        return err(Errno::NOTDIR);
    if (dir.i_links_count == 0)
        return err(Errno::NOENT);
    if (TRY(find(fs, m_ino, name)))
        return err(Errno::EXIST);
    if (!can_allocate(fs, 2))
        return err(Errno::NOSPC);
    std::string n(name);
    auto now = now_realtime();
    ext2_ino_t ino = 0;
    if (S_ISDIR(mode) || S_ISLNK(mode)) {
        // libext2fs makes these whole (the "." and ".." block, a fast or
        // slow symlink); the owner, mode and times are set after.
        auto make = [&] {
            return S_ISDIR(mode) ? ext2fs_mkdir(fs, m_ino, 0, n.c_str())
                                 : ext2fs_symlink(fs, m_ino, 0, n.c_str(), std::string(symlink_target).c_str());
        };
        u16 parent_links = dir.i_links_count;
        if (S_ISDIR(mode) && parent_links >= kLinkMax - 1 && !ext2fs_has_feature_dir_nlink(fs->super))
            return err(Errno::MLINK);
        errcode_t e = make();
        if (e == EXT2_ET_DIR_NO_SPACE) {
            E2TRY(ext2fs_expand_dir(fs, m_ino));
            e = make();
        }
        E2TRY(e);
        if (S_ISDIR(mode) && (parent_links == 1 || parent_links >= kLinkMax - 1)) {
            // dir_nlink: past EXT4_LINK_MAX a directory counts 1 (ext2fs_mkdir
            // added one regardless).
            auto parent = TRY(read_raw(fs, m_ino));
            parent.i_links_count = 1;
            TRY(write_raw(fs, m_ino, parent));
        }
        ino = TRY(find(fs, m_ino, name));
        auto in = TRY(read_raw(fs, ino));
        in.i_mode = static_cast<u16>((mode & S_IFMT) | (S_ISLNK(mode) ? 0777 : mode & 07777));
        set_owner(in, uid, gid);
        set_atime(fs, in, now);
        set_mtime(fs, in, now);
        set_ctime(fs, in, now);
        if (auto* extra = EXTRA(fs, in, i_crtime_extra))
            encode_time(now, in.i_crtime, extra);
        TRY(write_raw(fs, ino, in));
    } else {
        E2TRY(ext2fs_new_inode(fs, m_ino, static_cast<int>(mode), nullptr, &ino));
        RawInode in {};
        in.i_mode = static_cast<u16>(mode);
        in.i_links_count = 1;
        set_owner(in, uid, gid);
        if (EXT2_INODE_SIZE(fs->super) > EXT2_GOOD_OLD_INODE_SIZE)
            in.i_extra_isize = sizeof(RawInode) - EXT2_GOOD_OLD_INODE_SIZE;
        set_atime(fs, in, now);
        set_mtime(fs, in, now);
        set_ctime(fs, in, now);
        if (auto* extra = EXTRA(fs, in, i_crtime_extra))
            encode_time(now, in.i_crtime, extra);
        if (S_ISCHR(mode) || S_ISBLK(mode)) {
            u32 major = ::major(rdev), minor = ::minor(rdev);
            if (major < 256 && minor < 256)
                in.i_block[0] = major << 8 | minor;
            else
                in.i_block[1] = (minor & 0xff) | (major << 8) | ((minor & ~0xffu) << 12);
        } else if (S_ISREG(mode) && ext2fs_has_feature_extents(fs->super)) {
            ext2_extent_handle_t handle;
            E2TRY(ext2fs_extent_open2(fs, ino, small(in), &handle)); // writes the empty extent header
            ext2fs_extent_free(handle);
        }
        if (!name.empty())
            TRY(add_link_locked(name, ino, mode));
        else
            in.i_links_count = 0; // O_TMPFILE
        ext2fs_inode_alloc_stats2(fs, ino, +1, 0);
        E2TRY(ext2fs_write_new_inode(fs, ino, small(in)));
        TRY(write_raw(fs, ino, in)); // the large part (nanoseconds, crtime)
    }
    if (!name.empty())
        TRY(touch_dir(fs, m_ino));
    return RefPtr<Inode>(m_fs.inode_locked(ino));
}

KResult<RefPtr<Inode>> Ext4Inode::create(std::string_view name, u32 mode, u32 uid, u32 gid)
{
    std::lock_guard lock(m_fs.m_lock);
    u32 type = (mode & S_IFMT) ? mode & S_IFMT : S_IFREG; // bind(2) makes sockets this way
    return make_child_locked(name, type | (mode & 07777), 0, uid, gid, {});
}

KResult<RefPtr<Inode>> Ext4Inode::mkdir(std::string_view name, u32 mode, u32 uid, u32 gid)
{
    std::lock_guard lock(m_fs.m_lock);
    return make_child_locked(name, S_IFDIR | (mode & 07777), 0, uid, gid, {});
}

KResult<RefPtr<Inode>> Ext4Inode::symlink(std::string_view name, std::string_view target, u32 uid, u32 gid)
{
    if (target.empty() || target.size() >= m_fs.m_fs->blocksize)
        return err(target.empty() ? Errno::NOENT : Errno::NAMETOOLONG);
    std::lock_guard lock(m_fs.m_lock);
    return make_child_locked(name, S_IFLNK | 0777, 0, uid, gid, target);
}

KResult<RefPtr<Inode>> Ext4Inode::mknod(std::string_view name, u32 mode, u64 rdev, u32 uid, u32 gid)
{
    std::lock_guard lock(m_fs.m_lock);
    return make_child_locked(name, mode, rdev, uid, gid, {});
}

KResult<RefPtr<Inode>> Ext4Inode::make_tmpfile(u32 mode, u32 uid, u32 gid, bool linkable)
{
    std::lock_guard lock(m_fs.m_lock);
    auto inode = TRY(make_child_locked({}, S_IFREG | (mode & 07777), 0, uid, gid, {}));
    static_cast<Ext4Inode&>(*inode).m_linkable = linkable;
    return inode;
}

KResult<void> Ext4Inode::drop_link_locked(u32 ino, bool is_dir)
{
    auto* fs = m_fs.m_fs;
    auto in = TRY(read_raw(fs, ino));
    if (is_dir) {
        in.i_links_count = 0;
        TRY(adjust_links(fs, m_ino, -1)); // the child's ".."
    } else if (in.i_links_count > 0) {
        in.i_links_count--;
    }
    set_ctime(fs, in, now_realtime());
    TRY(write_raw(fs, ino, in));
    if (in.i_links_count == 0) {
        // Freed now unless something still holds it (an open file, a
        // cwd): then when the last reference goes.
        auto it = m_fs.m_inodes.find(ino);
        if (it == m_fs.m_inodes.end() || it->second->ref_count() == 0)
            TRY(m_fs.free_inode_locked(ino));
    }
    return {};
}

KResult<void> Ext4Inode::unlink(std::string_view name) { return remove(name, false); }

KResult<void> Ext4Inode::rmdir(std::string_view name) { return remove(name, true); }

// unlink(2) of a non-directory, rmdir(2) of an empty directory.
KResult<void> Ext4Inode::remove(std::string_view name, bool directory)
{
    std::lock_guard lock(m_fs.m_lock);
    auto* fs = m_fs.m_fs;
    if (!m_fs.writable())
        return err(Errno::ROFS);
    auto ino = TRY(find(fs, m_ino, name));
    if (!ino)
        return err(Errno::NOENT);
    auto in = TRY(read_raw(fs, ino));
    if (LINUX_S_ISDIR(in.i_mode) != directory)
        return err(directory ? Errno::NOTDIR : Errno::ISDIR);
    if (directory && !TRY(dir_is_empty(fs, ino)))
        return err(Errno::NOTEMPTY);
    std::string n(name);
    E2TRY(ext2fs_unlink(fs, m_ino, n.c_str(), ino, 0));
    TRY(drop_link_locked(ino, directory));
    return touch_dir(fs, m_ino);
}

KResult<void> Ext4Inode::rename(std::string_view name, Inode& new_dir_inode, std::string_view new_name)
{
    auto& new_dir = static_cast<Ext4Inode&>(new_dir_inode);
    std::lock_guard lock(m_fs.m_lock);
    auto* fs = m_fs.m_fs;
    if (!m_fs.writable())
        return err(Errno::ROFS);
    auto src = TRY(find(fs, m_ino, name));
    if (!src)
        return err(Errno::NOENT);
    auto src_in = TRY(read_raw(fs, src));
    bool is_dir = LINUX_S_ISDIR(src_in.i_mode);
    auto dst = TRY(find(fs, new_dir.m_ino, new_name));
    if (dst == src)
        return {};
    if (is_dir && &new_dir != this && TRY(is_below(fs, new_dir.m_ino, src)))
        return err(Errno::INVAL); // into itself (checked on disk: a stale cwd's path may lie)
    if (!can_allocate(fs, 1))
        return err(Errno::NOSPC);
    if (dst) {
        auto dst_in = TRY(read_raw(fs, dst));
        if (is_dir && !LINUX_S_ISDIR(dst_in.i_mode))
            return err(Errno::NOTDIR);
        if (!is_dir && LINUX_S_ISDIR(dst_in.i_mode))
            return err(Errno::ISDIR);
        if (is_dir && !TRY(dir_is_empty(fs, dst)))
            return err(Errno::NOTEMPTY);
        std::string dn(new_name);
        E2TRY(ext2fs_unlink(fs, new_dir.m_ino, dn.c_str(), dst, 0));
        TRY(new_dir.drop_link_locked(dst, is_dir));
    } else if (is_dir && &new_dir != this) {
        auto parent = TRY(read_raw(fs, new_dir.m_ino));
        if (parent.i_links_count >= kLinkMax && !ext2fs_has_feature_dir_nlink(fs->super))
            return err(Errno::MLINK);
    }
    TRY(new_dir.add_link_locked(new_name, src, src_in.i_mode));
    std::string n(name);
    E2TRY(ext2fs_unlink(fs, m_ino, n.c_str(), src, 0));
    if (is_dir && &new_dir != this) {
        TRY(set_dotdot(fs, src, new_dir.m_ino));
        TRY(adjust_links(fs, m_ino, -1));
        TRY(adjust_links(fs, new_dir.m_ino, +1));
    }
    TRY(touch_ctime(fs, src));
    TRY(touch_dir(fs, m_ino));
    if (&new_dir != this)
        TRY(touch_dir(fs, new_dir.m_ino));
    return {};
}

KResult<void> Ext4Inode::exchange(std::string_view name, Inode& other_dir_inode, std::string_view other_name)
{
    auto& other = static_cast<Ext4Inode&>(other_dir_inode);
    std::lock_guard lock(m_fs.m_lock);
    auto* fs = m_fs.m_fs;
    if (!m_fs.writable())
        return err(Errno::ROFS);
    auto a = TRY(find(fs, m_ino, name));
    auto b = TRY(find(fs, other.m_ino, other_name));
    if (!a || !b)
        return err(Errno::NOENT);
    if (a == b)
        return {};
    auto a_in = TRY(read_raw(fs, a));
    auto b_in = TRY(read_raw(fs, b));
    if (&other != this && ((LINUX_S_ISDIR(a_in.i_mode) && TRY(is_below(fs, other.m_ino, a)))
                           || (LINUX_S_ISDIR(b_in.i_mode) && TRY(is_below(fs, m_ino, b)))))
        return err(Errno::INVAL);
    std::string an(name), bn(other_name);
    E2TRY(ext2fs_unlink(fs, m_ino, an.c_str(), a, 0));
    E2TRY(ext2fs_unlink(fs, other.m_ino, bn.c_str(), b, 0));
    TRY(add_link_locked(name, b, b_in.i_mode));
    TRY(other.add_link_locked(other_name, a, a_in.i_mode));
    if (&other != this) {
        bool a_dir = LINUX_S_ISDIR(a_in.i_mode), b_dir = LINUX_S_ISDIR(b_in.i_mode);
        if (a_dir)
            TRY(set_dotdot(fs, a, other.m_ino));
        if (b_dir)
            TRY(set_dotdot(fs, b, m_ino));
        if (a_dir != b_dir) {
            TRY(adjust_links(fs, m_ino, a_dir ? -1 : +1));
            TRY(adjust_links(fs, other.m_ino, a_dir ? +1 : -1));
        }
    }
    TRY(touch_ctime(fs, a));
    TRY(touch_ctime(fs, b));
    TRY(touch_dir(fs, m_ino));
    if (&other != this)
        TRY(touch_dir(fs, other.m_ino));
    return {};
}

KResult<void> Ext4Inode::link(Inode& target_inode, std::string_view name)
{
    auto& target = static_cast<Ext4Inode&>(target_inode);
    std::lock_guard lock(m_fs.m_lock);
    auto* fs = m_fs.m_fs;
    if (!m_fs.writable())
        return err(Errno::ROFS);
    auto dir = TRY(read_raw(fs, m_ino));
    if (dir.i_links_count == 0)
        return err(Errno::NOENT);
    if (TRY(find(fs, m_ino, name)))
        return err(Errno::EXIST);
    auto in = TRY(read_raw(fs, target.m_ino));
    if (in.i_links_count == 0 && !target.m_linkable)
        return err(Errno::NOENT); // unlinked, or O_TMPFILE with O_EXCL
    if (in.i_links_count >= kLinkMax)
        return err(Errno::MLINK);
    if (!can_allocate(fs, 1))
        return err(Errno::NOSPC);
    TRY(add_link_locked(name, target.m_ino, in.i_mode));
    in = TRY(read_raw(fs, target.m_ino));
    in.i_links_count++;
    target.m_linkable = false;
    set_ctime(fs, in, now_realtime());
    TRY(write_raw(fs, target.m_ino, in));
    return touch_dir(fs, m_ino);
}

KResult<std::string> Ext4Inode::readlink()
{
    std::lock_guard lock(m_fs.m_lock);
    auto* fs = m_fs.m_fs;
    auto in = TRY(read_raw(fs, m_ino));
    if (!LINUX_S_ISLNK(in.i_mode))
        return err(Errno::INVAL);
    u64 size = EXT2_I_SIZE(&in);
    if (size >= fs->blocksize)
        return err(Errno::IO); // a corrupt image
    if (ext2fs_is_fast_symlink(small(in)))
        return std::string(reinterpret_cast<const char*>(in.i_block), std::min<u64>(size, sizeof in.i_block));
    std::string target(size, '\0');
    ext2_file_t f; // a block, or inline data
    E2TRY(ext2fs_file_open2(fs, m_ino, small(in), 0, &f));
    unsigned got = 0;
    errcode_t e = ext2fs_file_read(f, target.data(), static_cast<unsigned>(size), &got);
    ext2fs_file_close(f);
    E2TRY(e);
    target.resize(got);
    return target;
}

KResult<void> Ext4Inode::chmod(u32 mode)
{
    std::lock_guard lock(m_fs.m_lock);
    if (!m_fs.writable())
        return err(Errno::ROFS);
    auto* fs = m_fs.m_fs;
    auto in = TRY(read_raw(fs, m_ino));
    in.i_mode = static_cast<u16>((in.i_mode & S_IFMT) | (mode & 07777));
    set_ctime(fs, in, now_realtime());
    return write_raw(fs, m_ino, in);
}

KResult<void> Ext4Inode::chown(u32 uid, u32 gid)
{
    std::lock_guard lock(m_fs.m_lock);
    if (!m_fs.writable())
        return err(Errno::ROFS);
    auto* fs = m_fs.m_fs;
    auto in = TRY(read_raw(fs, m_ino));
    set_owner(in, uid, gid);
    set_ctime(fs, in, now_realtime());
    return write_raw(fs, m_ino, in);
}

KResult<void> Ext4Inode::set_times(std::optional<Timespec> atime, std::optional<Timespec> mtime)
{
    std::lock_guard lock(m_fs.m_lock);
    if (!m_fs.writable())
        return err(Errno::ROFS);
    TRY(write_back_locked()); // pending write times first, then these over them
    auto* fs = m_fs.m_fs;
    auto in = TRY(read_raw(fs, m_ino));
    if (atime)
        set_atime(fs, in, *atime);
    if (mtime)
        set_mtime(fs, in, *mtime);
    set_ctime(fs, in, now_realtime());
    return write_raw(fs, m_ino, in);
}

KResult<void> Ext4Inode::truncate(u64 length)
{
    std::lock_guard lock(m_fs.m_lock);
    auto* fs = m_fs.m_fs;
    if (!m_fs.writable())
        return err(Errno::ROFS);
    if (length > max_file_size(fs))
        return err(Errno::FBIG);
    if (m_cache.valid()) {
        TRY(host::ftruncate(m_cache.get(), length));
        m_size_dirty = true;
        m_pending_mtime = now_realtime();
        return {};
    }
    ext2_file_t f;
    E2TRY(ext2fs_file_open2(fs, m_ino, nullptr, EXT2_FILE_WRITE, &f));
    errcode_t e = ext2fs_file_set_size2(f, length);
    errcode_t closed = ext2fs_file_close(f);
    E2TRY(e);
    E2TRY(closed);
    auto in = TRY(read_raw(fs, m_ino));
    auto now = now_realtime();
    set_mtime(fs, in, now);
    set_ctime(fs, in, now);
    return write_raw(fs, m_ino, in);
}

// --- extended attributes ---

namespace {

struct XattrHandle {
    ext2_xattr_handle* h { nullptr };
    ~XattrHandle()
    {
        if (h)
            ext2fs_xattrs_close(&h);
    }
};

// The namespaces umk's ext4 keeps: user, trusted, security. POSIX ACLs
// (system.posix_acl_*) are refused, as on umk's tmpfs, rather than kept
// and not enforced.
bool ext4_xattr_namespace(std::string_view name)
{
    for (std::string_view prefix : { "user.", "trusted.", "security." })
        if (name.starts_with(prefix) && name.size() > prefix.size())
            return true;
    return false;
}

KResult<void> open_xattrs(ext2_filsys fs, u32 ino, XattrHandle& out, std::string_view name = "user.x")
{
    if (!ext4_xattr_namespace(name))
        return err(Errno::OPNOTSUPP);
    E2TRY(ext2fs_xattrs_open(fs, ino, &out.h));
    E2TRY(ext2fs_xattrs_read(out.h));
    return {};
}

KResult<std::optional<std::vector<u8>>> xattr_value(XattrHandle& x, const std::string& key)
{
    void* value = nullptr;
    size_t len = 0;
    errcode_t e = ext2fs_xattr_get(x.h, key.c_str(), &value, &len);
    if (e == EXT2_ET_EA_KEY_NOT_FOUND)
        return std::optional<std::vector<u8>>();
    E2TRY(e);
    std::vector<u8> bytes(static_cast<u8*>(value), static_cast<u8*>(value) + len);
    ext2fs_free_mem(&value);
    return std::optional(std::move(bytes));
}

} // namespace

KResult<std::vector<u8>> Ext4Inode::get_xattr(std::string_view name)
{
    std::lock_guard lock(m_fs.m_lock);
    XattrHandle x;
    TRY(open_xattrs(m_fs.m_fs, m_ino, x, name));
    auto value = TRY(xattr_value(x, std::string(name)));
    if (!value)
        return err(Errno::NODATA);
    return std::move(*value);
}

KResult<void> Ext4Inode::set_xattr(std::string_view name, std::span<const u8> value, int flags)
{
    std::lock_guard lock(m_fs.m_lock);
    if (!m_fs.writable())
        return err(Errno::ROFS);
    XattrHandle x;
    TRY(open_xattrs(m_fs.m_fs, m_ino, x, name));
    std::string key(name);
    bool exists = TRY(xattr_value(x, key)).has_value();
    if ((flags & XATTR_CREATE) && exists)
        return err(Errno::EXIST);
    if ((flags & XATTR_REPLACE) && !exists)
        return err(Errno::NODATA);
    E2TRY(ext2fs_xattr_set(x.h, key.c_str(), value.data(), value.size()));
    return touch_ctime(m_fs.m_fs, m_ino);
}

KResult<void> Ext4Inode::remove_xattr(std::string_view name)
{
    std::lock_guard lock(m_fs.m_lock);
    if (!m_fs.writable())
        return err(Errno::ROFS);
    XattrHandle x;
    TRY(open_xattrs(m_fs.m_fs, m_ino, x, name));
    std::string key(name);
    if (!TRY(xattr_value(x, key)))
        return err(Errno::NODATA);
    E2TRY(ext2fs_xattr_remove(x.h, key.c_str()));
    return touch_ctime(m_fs.m_fs, m_ino);
}

KResult<std::vector<std::string>> Ext4Inode::list_xattrs()
{
    std::lock_guard lock(m_fs.m_lock);
    XattrHandle x;
    TRY(open_xattrs(m_fs.m_fs, m_ino, x));
    std::vector<std::string> names;
    auto add = [](char* name, char*, size_t, void* priv) -> int {
        if (ext4_xattr_namespace(name))
            static_cast<std::vector<std::string>*>(priv)->emplace_back(name);
        return 0;
    };
    E2TRY(ext2fs_xattrs_iterate(x.h, add, &names));
    return names;
}

std::optional<FsStats> Ext4Inode::statfs()
{
    std::lock_guard lock(m_fs.m_lock);
    auto* sb = m_fs.m_fs->super;
    FsStats s;
    s.type = 0xEF53; // EXT4_SUPER_MAGIC
    s.bsize = m_fs.m_fs->blocksize;
    auto* e2 = m_fs.m_fs;
    u64 overhead = sb->s_overhead_clusters ? sb->s_overhead_clusters
                                           : e2->desc_blocks + static_cast<u64>(e2->group_desc_count) * (e2->inode_blocks_per_group + 2);
    s.blocks = ext2fs_blocks_count(sb) - overhead;
    s.bfree = ext2fs_free_blocks_count(sb);
    u64 reserved = ext2fs_r_blocks_count(sb);
    s.bavail = s.bfree > reserved ? s.bfree - reserved : 0;
    s.files = sb->s_inodes_count;
    s.ffree = sb->s_free_inodes_count;
    s.namelen = EXT2_NAME_LEN;
    return s;
}

// --- data: the page cache ---

KResult<RefPtr<File>> Ext4Inode::open(int flags)
{
    std::lock_guard lock(m_fs.m_lock);
    auto in = TRY(read_raw(m_fs.m_fs, m_ino));
    if (LINUX_S_ISREG(in.i_mode)) {
        if (((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)) && !m_fs.writable())
            return err(Errno::ROFS);
        TRY(fill_cache_locked());
        if (flags & O_TRUNC) {
            TRY(host::ftruncate(m_cache.get(), 0));
            m_size_dirty = true;
            m_pending_mtime = now_realtime();
        }
    }
    m_open_files++;
    return RefPtr<File>(new Ext4File(RefPtr<Ext4Inode>(this), flags));
}

KResult<void> Ext4Inode::fill_cache_locked()
{
    if (m_cache.valid()) {
        m_fs.forget_idle_locked(*this); // in use again
        return {};
    }
    auto* fs = m_fs.m_fs;
    auto in = TRY(read_raw(fs, m_ino));
    u64 size = EXT2_I_SIZE(&in);
    if (size > max_file_size(fs))
        return err(Errno::IO); // a corrupt inode
    auto cache = TRY(host::memfd("umk-ext4"));
    TRY(host::ftruncate(cache.get(), size));
    // Only what the file maps is read: holes (and unwritten extents,
    // which read as zeros) stay holes in the memfd.
    u32 bs = fs->blocksize;
    auto copy = [&](u64 logical, u64 physical, u64 count) -> KResult<void> {
        std::vector<u8> buf;
        for (u64 done = 0; done < count && (logical + done) * bs < size;) {
            u64 n = std::min<u64>(count - done, (1 << 20) / bs);
            buf.resize(n * bs);
            E2TRY(io_channel_read_blk64(fs->io, physical + done, static_cast<int>(n), buf.data()));
            u64 offset = (logical + done) * bs;
            usize keep = static_cast<usize>(std::min<u64>(buf.size(), size - offset));
            if (!all_zero(std::span(buf.data(), keep)))
                if (TRY(host::pwrite(cache.get(), std::span<const u8>(buf.data(), keep), offset)) != keep)
                    return err(Errno::IO);
            done += n;
        }
        return {};
    };
    if (in.i_flags & EXT4_INLINE_DATA_FL) {
        std::vector<u8> buf(std::max<u64>(size, 1));
        size_t got = 0;
        E2TRY(ext2fs_inline_data_get(fs, m_ino, small(in), buf.data(), &got));
        TRY(host::pwrite(cache.get(), std::span<const u8>(buf.data(), std::min<u64>(got, size)), 0));
    } else if (in.i_flags & EXT4_EXTENTS_FL) {
        ext2_extent_handle_t handle;
        E2TRY(ext2fs_extent_open2(fs, m_ino, small(in), &handle));
        struct Closer {
            ext2_extent_handle_t h;
            ~Closer() { ext2fs_extent_free(h); }
        } closer { handle };
        ext2fs_extent extent;
        for (int op = EXT2_EXTENT_ROOT;; op = EXT2_EXTENT_NEXT) {
            errcode_t e = ext2fs_extent_get(handle, op, &extent);
            if (e == EXT2_ET_EXTENT_NO_NEXT || e == EXT2_ET_NO_CURRENT_NODE)
                break;
            E2TRY(e);
            if (!(extent.e_flags & EXT2_EXTENT_FLAGS_LEAF) || (extent.e_flags & EXT2_EXTENT_FLAGS_SECOND_VISIT)
                || (extent.e_flags & EXT2_EXTENT_FLAGS_UNINIT))
                continue;
            TRY(copy(extent.e_lblk, extent.e_pblk, extent.e_len));
        }
    } else {
        struct Block {
            u64 logical, physical;
        };
        std::vector<Block> blocks;
        auto collect = [](ext2_filsys, blk64_t* block, e2_blkcnt_t count, blk64_t, int, void* priv) -> int {
            static_cast<std::vector<Block>*>(priv)->push_back({ static_cast<u64>(count), *block });
            return 0;
        };
        E2TRY(ext2fs_block_iterate3(fs, m_ino, BLOCK_FLAG_READ_ONLY | BLOCK_FLAG_DATA_ONLY, nullptr, collect, &blocks));
        for (auto& b : blocks)
            TRY(copy(b.logical, b.physical, 1));
    }
    m_cache = std::move(cache);
    return {};
}

void Ext4Inode::mark_dirty(u64 offset, u64 length)
{
    if (length == 0)
        return;
    for (u64 c = offset / kChunk; c <= (offset + length - 1) / kChunk; c++)
        m_dirty.insert(c);
}

KResult<void> Ext4Inode::write_back_locked()
{
    if (!m_cache.valid() || (m_dirty.empty() && !m_all_dirty && !m_size_dirty && !m_pending_mtime))
        return {};
    auto* fs = m_fs.m_fs;
    auto in = TRY(read_raw(fs, m_ino));
    if (in.i_links_count == 0 && m_open_files == 0 && !m_all_dirty) {
        // Unlinked and closed: nobody can see it again, it is about to be
        // freed; nothing of it need reach the disk.
        m_pending_mtime.reset();
        forget_written_locked();
        return {};
    }
    u64 size = static_cast<u64>(TRY(host::stat_fd(m_cache.get())).size);
    if (in.i_flags & EXT4_INLINE_DATA_FL)
        E2TRY(ext2fs_inline_data_expand(fs, m_ino)); // libext2fs writes inline files badly
    ext2_file_t f;
    E2TRY(ext2fs_file_open2(fs, m_ino, nullptr, EXT2_FILE_WRITE, &f));
    struct Closer {
        ext2_file_t f;
        ~Closer() { ext2fs_file_close(f); }
    } closer { f };
    u64 disk_size = file_size(f);
    if (size < disk_size) {
        E2TRY(ext2fs_file_set_size2(f, size));
        disk_size = size;
    }
    std::vector<u64> chunks;
    if (m_all_dirty)
        for (u64 c = 0; c * kChunk < size; c++)
            chunks.push_back(c);
    else
        chunks.assign(m_dirty.begin(), m_dirty.end());
    // Only the blocks that differ are written: a COW file or the image
    // takes what the guest changed, not what it rewrote unchanged.
    u32 bs = fs->blocksize;
    std::vector<u8> mine(kChunk), theirs(kChunk);
    for (u64 c : chunks) {
        u64 off = c * kChunk;
        if (off >= size)
            break;
        usize len = std::min<u64>(kChunk, size - off);
        TRY(host::pread(m_cache.get(), std::span(mine.data(), len), off));
        unsigned got = 0;
        if (off < disk_size) {
            E2TRY(ext2fs_file_llseek(f, off, EXT2_SEEK_SET, nullptr));
            E2TRY(ext2fs_file_read(f, theirs.data(), static_cast<unsigned>(len), &got));
        }
        std::fill(theirs.begin() + got, theirs.begin() + len, 0);
        for (usize b = 0; b < len; b += bs) {
            usize n = std::min<usize>(bs, len - b);
            if (std::memcmp(mine.data() + b, theirs.data() + b, n) == 0)
                continue; // unchanged, or zeros over a hole
            E2TRY(ext2fs_file_llseek(f, off + b, EXT2_SEEK_SET, nullptr));
            unsigned written = 0;
            E2TRY(ext2fs_file_write(f, mine.data() + b, static_cast<unsigned>(n), &written));
            if (written != n)
                return err(Errno::NOSPC);
        }
    }
    if (file_size(f) != size)
        E2TRY(ext2fs_file_set_size2(f, size));
    E2TRY(ext2fs_file_flush(f));
    forget_written_locked();
    if (m_pending_mtime) {
        in = TRY(read_raw(fs, m_ino));
        set_mtime(fs, in, *m_pending_mtime);
        set_ctime(fs, in, *m_pending_mtime);
        m_pending_mtime.reset();
        TRY(write_raw(fs, m_ino, in));
    }
    return {};
}

void Ext4Inode::forget_written_locked()
{
    m_dirty.clear();
    m_size_dirty = false;
    m_fs.m_promised_blocks -= m_promised; // allocated now, or not needed
    m_promised = 0;
}

void Ext4Inode::file_closed()
{
    std::lock_guard lock(m_fs.m_lock);
    if (--m_open_files > 0)
        return;
    if (auto r = write_back_locked(); !r)
        warn(fmt::format("writing back inode {} failed: {}", m_ino, errno_name(r.error())));
    // A shared mapping may still write to the cache: kept until unmount.
    // Otherwise kept while the budget allows, for the next open (exec
    // after exec of the same program, make's many compilers).
    if (!m_all_dirty && m_cache.valid())
        m_fs.keep_idle_locked(*this);
}

KResult<usize> Ext4Inode::read_data(std::span<u8> out, u64 pos)
{
    int fd;
    {
        std::lock_guard lock(m_fs.m_lock);
        fd = m_cache.get();
    }
    return host::pread(fd, out, pos);
}

KResult<usize> Ext4Inode::write_data(std::span<const u8> data, u64 pos)
{
    int fd;
    {
        std::lock_guard lock(m_fs.m_lock);
        auto* fs = m_fs.m_fs;
        if (pos >= max_file_size(fs))
            return err(Errno::FBIG);
        data = data.first(std::min<u64>(data.size(), max_file_size(fs) - pos));
        fd = m_cache.get();
        // Blocks the write-back will allocate are promised now (delayed
        // allocation's reservation): ENOSPC, or a short write, here
        // rather than data lost at close. Some slack for the extent tree.
        u64 free = free_for_guests(fs), promised = m_fs.m_promised_blocks + 8;
        u64 room = free > promised ? free - promised : 0;
        auto [blocks, fits_until] = TRY(host::unallocated_pages(fd, pos, data.size(), fs->blocksize, room));
        if (blocks > room) {
            if (fits_until <= pos)
                return err(Errno::NOSPC);
            data = data.first(fits_until - pos);
            blocks = room;
        }
        m_promised += blocks;
        m_fs.m_promised_blocks += blocks;
        mark_dirty(pos, data.size());
        m_pending_mtime = now_realtime();
    }
    return host::pwrite(fd, data, pos);
}

KResult<void> Ext4Inode::sync_data()
{
    std::lock_guard lock(m_fs.m_lock);
    TRY(write_back_locked());
    if (m_fs.writable())
        E2TRY(ext2fs_flush(m_fs.m_fs));
    return m_fs.m_disk.flush();
}

// --- open files ---

Ext4File::Ext4File(RefPtr<Ext4Inode> inode, int flags) : File(std::move(inode), flags) {}

Ext4File::~Ext4File() { ext4().file_closed(); }

KResult<usize> Ext4File::read(std::span<u8> out, u64 pos)
{
    if (!ext4().m_cache.valid())
        return err(Errno::ISDIR);
    return ext4().read_data(out, pos);
}

KResult<usize> Ext4File::write(std::span<const u8> data, u64 pos)
{
    if (!ext4().m_cache.valid())
        return err(Errno::ISDIR);
    return ext4().write_data(data, pos);
}

KResult<std::vector<DirEntry>> Ext4File::list() { return inode().list(); }

int Ext4File::host_fd() const
{
    auto& inode = ext4();
    std::lock_guard lock(inode.m_fs.m_lock);
    if (writable())
        inode.m_all_dirty = true; // a shared mapping writes behind our back
    return inode.m_cache.get();
}

KResult<void> Ext4File::sync() { return ext4().sync_data(); }

} // namespace umk::kernel
