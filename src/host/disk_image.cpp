#include "host/disk_image.h"

#include "host/files.h"
#include "host/result.h"

#include <endian.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace umk::host {

namespace {

constexpr u32 kCowMagic = 0x4f4f4f4d; // "MOOO"
constexpr u32 kCowVersion = 3;
constexpr u32 kSector = 512;
constexpr u32 kAlignment = 4096;
constexpr usize kPathLength = 4096;

struct [[gnu::packed]] CowHeaderV3 {
    u32 magic;
    u32 version;
    u32 mtime;
    u64 size;
    u32 sectorsize;
    u32 alignment;
    u32 cow_format;
    char backing_file[kPathLength];
};

// umk's own addition, in the padding after the header that UML ignores:
// the image's modification time to the nanosecond, so that a change in
// the same second as the COW file was made is seen too.
struct [[gnu::packed]] UmkExtension {
    char magic[8];
    u64 mtime_nsec;
};
constexpr char kUmkMagic[8] = { 'u', 'm', 'k', 'c', 'o', 'w', '1', 0 };

u64 round_up(u64 value, u64 to) { return (value + to - 1) / to * to; }

void layout(DiskImage::CowHeader& h, u32 alignment)
{
    h.bitmap_offset = round_up(sizeof(CowHeaderV3), alignment);
    h.bitmap_length = (h.size / h.sector_size + 7) / 8;
    h.data_offset = round_up(h.bitmap_offset + h.bitmap_length, alignment);
}

KResult<void> read_exact(int fd, std::span<u8> out, u64 offset)
{
    while (!out.empty()) {
        usize n = TRY(pread(fd, out, offset));
        if (n == 0)
            return err(Errno::IO); // past the end of a file that should hold it
        out = out.subspan(n);
        offset += n;
    }
    return {};
}

KResult<void> write_exact(int fd, std::span<const u8> data, u64 offset)
{
    while (!data.empty()) {
        usize n = TRY(pwrite(fd, data, offset));
        data = data.subspan(n);
        offset += n;
    }
    return {};
}

} // namespace

DiskImage::DiskImage(DiskImage&& o) noexcept
    : m_image(std::move(o.m_image)), m_cow(std::move(o.m_cow)), m_size(o.m_size), m_writable(o.m_writable),
      m_header(std::move(o.m_header)), m_bitmap(std::move(o.m_bitmap))
{
    // (The cache starts empty: it is only filled once the image is in use.)
}

DiskImage::~DiskImage() = default;

KResult<DiskImage> DiskImage::open(Fd image, bool writable)
{
    auto st = TRY(stat_fd(image.get()));
    if (!S_ISREG(st.mode) && !S_ISBLK(st.mode))
        return err(Errno::INVAL);
    DiskImage disk;
    disk.m_size = static_cast<u64>(st.size);
    disk.m_image = std::move(image);
    disk.m_writable = writable;
    return disk;
}

KResult<DiskImage::CowHeader> DiskImage::read_cow_header(int cow_fd)
{
    CowHeaderV3 raw {};
    TRY(read_exact(cow_fd, std::span(reinterpret_cast<u8*>(&raw), sizeof raw), 0));
    if (be32toh(raw.magic) != kCowMagic || be32toh(raw.version) != kCowVersion)
        return err(Errno::INVAL);
    CowHeader h;
    h.mtime = be32toh(raw.mtime);
    h.size = be64toh(raw.size);
    h.sector_size = be32toh(raw.sectorsize);
    u32 alignment = be32toh(raw.alignment);
    if (be32toh(raw.cow_format) != 0 || h.sector_size != kSector || alignment == 0
        || alignment > (1u << 20) || h.size % h.sector_size)
        return err(Errno::INVAL);
    h.backing_file.assign(raw.backing_file, strnlen(raw.backing_file, sizeof raw.backing_file));
    layout(h, alignment);
    UmkExtension ext {};
    if (h.bitmap_offset >= sizeof raw + sizeof ext
        && read_exact(cow_fd, std::span(reinterpret_cast<u8*>(&ext), sizeof ext), sizeof raw)
        && std::memcmp(ext.magic, kUmkMagic, sizeof kUmkMagic) == 0)
        h.mtime_nsec = be64toh(ext.mtime_nsec);
    return h;
}

KResult<DiskImage> DiskImage::open_cow(Fd image, const std::string& image_path, Fd cow)
{
    auto image_stat = TRY(stat_fd(image.get()));
    auto cow_stat = TRY(stat_fd(cow.get()));
    if (!S_ISREG(image_stat.mode) || !S_ISREG(cow_stat.mode))
        return err(Errno::INVAL);
    DiskImage disk;
    disk.m_size = static_cast<u64>(image_stat.size);
    disk.m_writable = true;
    if (disk.m_size % kSector)
        return err(Errno::INVAL);
    if (cow_stat.size == 0) {
        if (image_path.size() >= kPathLength || image_path.empty() || image_path[0] != '/')
            return err(Errno::NAMETOOLONG);
        CowHeaderV3 raw {};
        raw.magic = htobe32(kCowMagic);
        raw.version = htobe32(kCowVersion);
        raw.mtime = htobe32(static_cast<u32>(image_stat.mtime_sec));
        raw.size = htobe64(disk.m_size);
        raw.sectorsize = htobe32(kSector);
        raw.alignment = htobe32(kAlignment);
        std::memcpy(raw.backing_file, image_path.data(), image_path.size());
        TRY(write_exact(cow.get(), std::span(reinterpret_cast<const u8*>(&raw), sizeof raw), 0));
        UmkExtension ext {};
        std::memcpy(ext.magic, kUmkMagic, sizeof kUmkMagic);
        ext.mtime_nsec = htobe64(static_cast<u64>(image_stat.mtime_nsec));
        TRY(write_exact(cow.get(), std::span(reinterpret_cast<const u8*>(&ext), sizeof ext), sizeof raw));
        disk.m_header = TRY(read_cow_header(cow.get()));
        // The bitmap and the data area are holes until written.
        TRY(ftruncate(cow.get(), disk.m_header.data_offset + disk.m_size));
    } else {
        disk.m_header = TRY(read_cow_header(cow.get()));
        if (!disk.m_header.matches(image_stat))
            return err(Errno::INVAL);
    }
    disk.m_bitmap.resize(disk.m_header.bitmap_length);
    TRY(read_exact(cow.get(), disk.m_bitmap, disk.m_header.bitmap_offset));
    disk.m_image = std::move(image);
    disk.m_cow = std::move(cow);
    return disk;
}

bool DiskImage::CowHeader::matches(const HostStat& image) const
{
    return size == static_cast<u64>(image.size) && mtime == static_cast<u32>(image.mtime_sec)
        && (!mtime_nsec || *mtime_nsec == static_cast<u64>(image.mtime_nsec));
}

KResult<void> DiskImage::read(u64 offset, std::span<u8> out)
{
    if (offset > m_size || out.size() > m_size - offset)
        return err(Errno::IO);
    std::lock_guard lock(m_lock);
    if (out.size() > kCachedReadMax)
        return read_locked(offset, out); // bulk data: past the cache (writes go through it)
    while (!out.empty()) {
        u64 page = offset / kPage;
        auto& bytes = *TRY(cached_page_locked(page));
        usize at = offset - page * kPage;
        usize n = std::min(out.size(), bytes.size() - at);
        std::memcpy(out.data(), bytes.data() + at, n);
        out = out.subspan(n);
        offset += n;
    }
    return {};
}

KResult<std::vector<u8>*> DiskImage::cached_page_locked(u64 page)
{
    if (auto it = m_cache_index.find(page); it != m_cache_index.end()) {
        m_cache.splice(m_cache.begin(), m_cache, it->second); // most recent first
        return &it->second->second;
    }
    std::vector<u8> bytes(std::min<u64>(kPage, m_size - page * kPage));
    TRY(read_locked(page * kPage, bytes));
    m_cache.emplace_front(page, std::move(bytes));
    m_cache_index[page] = m_cache.begin();
    if (m_cache.size() > kCachePages) {
        m_cache_index.erase(m_cache.back().first);
        m_cache.pop_back();
    }
    return &m_cache.front().second;
}

KResult<void> DiskImage::read_locked(u64 offset, std::span<u8> out)
{
    if (!m_cow.valid())
        return read_exact(m_image.get(), out, offset);
    while (!out.empty()) {
        // The run of sectors that come from the same file.
        u64 sector = offset / kSector;
        bool cow = in_cow(sector);
        u64 end = offset + out.size();
        u64 run_end = std::min(end, (sector + 1) * kSector);
        while (run_end < end && in_cow(run_end / kSector) == cow)
            run_end = std::min(end, run_end + kSector);
        usize n = run_end - offset;
        if (cow)
            TRY(read_exact(m_cow.get(), out.first(n), m_header.data_offset + offset));
        else
            TRY(read_exact(m_image.get(), out.first(n), offset));
        out = out.subspan(n);
        offset += n;
    }
    return {};
}

KResult<void> DiskImage::write(u64 offset, std::span<const u8> data)
{
    if (!m_writable)
        return err(Errno::ROFS);
    if (offset > m_size || data.size() > m_size - offset)
        return err(Errno::NOSPC);
    std::lock_guard lock(m_lock);
    if (m_cow.valid())
        TRY(write_cow_locked(offset, data));
    else
        TRY(write_exact(m_image.get(), data, offset));
    // Written through: the cached pages it covers take the new bytes.
    for (u64 page = offset / kPage; page * kPage < offset + data.size(); page++) {
        auto it = m_cache_index.find(page);
        if (it == m_cache_index.end())
            continue;
        auto& bytes = it->second->second;
        u64 from = std::max(offset, page * kPage), to = std::min(offset + data.size(), page * kPage + bytes.size());
        if (from < to)
            std::memcpy(bytes.data() + (from - page * kPage), data.data() + (from - offset), to - from);
    }
    return {};
}

KResult<void> DiskImage::write_cow_locked(u64 offset, std::span<const u8> data)
{
    if (data.empty())
        return {};
    // Partial sectors at either end: the rest of the sector comes from
    // where it is now, so that a whole sector moves to the COW file.
    u64 first = offset / kSector;
    u64 last = (offset + data.size() - 1) / kSector;
    u64 start = first * kSector;
    u64 end = (last + 1) * kSector;
    std::vector<u8> merged;
    if (start != offset || end != offset + data.size()) {
        merged.resize(end - start);
        TRY(read_locked(start, merged));
        std::memcpy(merged.data() + (offset - start), data.data(), data.size());
        data = merged;
    }
    TRY(write_exact(m_cow.get(), data, m_header.data_offset + start));
    // Then the bitmap bytes that changed, after the data is there.
    u64 first_byte = first / 8, last_byte = last / 8;
    bool changed = false;
    for (u64 s = first; s <= last; s++) {
        if (!in_cow(s)) {
            m_bitmap[s / 8] |= static_cast<u8>(1u << (s % 8));
            changed = true;
        }
    }
    if (changed)
        TRY(write_exact(m_cow.get(), std::span(m_bitmap).subspan(first_byte, last_byte - first_byte + 1),
                        m_header.bitmap_offset + first_byte));
    return {};
}

KResult<void> DiskImage::flush()
{
    if (!m_writable)
        return {};
    return check_void(fdatasync(m_cow.valid() ? m_cow.get() : m_image.get()));
}

KResult<u64> DiskImage::merge(int image_fd, int cow_fd, const CowHeader& h)
{
    std::vector<u8> bitmap(h.bitmap_length);
    TRY(read_exact(cow_fd, bitmap, h.bitmap_offset));
    u64 sectors = h.size / h.sector_size, copied = 0;
    // Every sector it marks must be there before the image is touched.
    u64 last = sectors;
    while (last > 0 && !(bitmap[(last - 1) / 8] & (1u << ((last - 1) % 8))))
        last--;
    if (static_cast<u64>(TRY(stat_fd(cow_fd)).size) < h.data_offset + last * h.sector_size)
        return err(Errno::NODATA); // truncated
    std::vector<u8> buffer;
    for (u64 s = 0; s < sectors;) {
        if (!(bitmap[s / 8] & (1u << (s % 8)))) {
            s++;
            continue;
        }
        u64 run = s;
        while (run < sectors && (bitmap[run / 8] & (1u << (run % 8))) && run - s < 2048)
            run++;
        buffer.resize((run - s) * h.sector_size);
        TRY(read_exact(cow_fd, buffer, h.data_offset + s * h.sector_size));
        TRY(write_exact(image_fd, buffer, s * h.sector_size));
        copied += run - s;
        s = run;
    }
    TRY(check_void(fsync(image_fd)));
    return copied;
}

} // namespace umk::host
