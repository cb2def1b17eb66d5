#pragma once

// A disk image as a block device, with an optional copy-on-write layer in
// User-mode Linux's COW file format (version 3, as ubd and uml_moo use):
// the image is then only read, and every written sector goes to the COW
// file, marked in its bitmap.
//
// COW file layout (big-endian header, packed):
//   u32 magic 'MOOO', u32 version 3, u32 backing mtime, u64 backing size,
//   u32 sector size (512), u32 alignment (4096), u32 format (0: bitmap),
//   char backing_file[4096] (absolute path)
//   then the bitmap (one bit per sector, least significant bit first) at
//   the header's size rounded up to the alignment, then the sectors at
//   the bitmap's end rounded up to the alignment, each at its own offset.

#include "host/fd.h"
#include "host/files.h"
#include "lib/kresult.h"
#include "lib/types.h"

#include <list>
#include <mutex>
#include <unordered_map>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace umk::host {

class DiskImage {
public:
    // The image alone: writes go to it (unless `writable` is false).
    static KResult<DiskImage> open(Fd image, bool writable);
    // The image read-only under the COW file `cow` (opened read-write):
    // an empty `cow` is initialized for the image at `image_path`; an
    // existing one must be for an image of this size and modification
    // time (EINVAL otherwise: the image changed under it).
    static KResult<DiskImage> open_cow(Fd image, const std::string& image_path, Fd cow);

    DiskImage(DiskImage&&) noexcept;
    ~DiskImage();

    u64 size() const { return m_size; }
    bool writable() const { return m_writable; }
    KResult<void> read(u64 offset, std::span<u8> out);
    KResult<void> write(u64 offset, std::span<const u8> data);
    KResult<void> flush();

    // What a COW file says, read by `umk image merge`.
    struct CowHeader {
        std::string backing_file;
        u64 size { 0 };
        u32 mtime { 0 };
        u32 sector_size { 0 };
        u64 bitmap_offset { 0 };
        u64 bitmap_length { 0 };
        u64 data_offset { 0 };
        std::optional<u64> mtime_nsec; // umk's COW files keep it (UML's do not)
        // Made for this image as it is now: its size and modification time.
        bool matches(const HostStat& image) const;
    };
    static KResult<CowHeader> read_cow_header(int cow_fd);
    // Writes every sector the COW file holds into the image (uml_moo -d).
    // Returns the number of sectors copied; ENODATA, with the image
    // untouched, when the COW file is too short for what its bitmap marks.
    static KResult<u64> merge(int image_fd, int cow_fd, const CowHeader&);

private:
    DiskImage() = default;
    bool in_cow(u64 sector) const { return m_bitmap[sector / 8] & (1u << (sector % 8)); }
    KResult<void> read_locked(u64 offset, std::span<u8> out);
    // A page of the disk, from the cache or read into it.
    KResult<std::vector<u8>*> cached_page_locked(u64 page);
    KResult<void> write_cow_locked(u64 offset, std::span<const u8> data);

    Fd m_image;
    Fd m_cow;
    u64 m_size { 0 };
    bool m_writable { false };
    CowHeader m_header;
    std::vector<u8> m_bitmap;
    // Recently used 4 KiB pages, most recent first (written through):
    // libext2fs reads the same metadata (inode tables, directories,
    // bitmaps) over and over. 16 MiB at most; large reads go past it.
    static constexpr u64 kPage = 4096;
    static constexpr usize kCachePages = 4096;
    static constexpr usize kCachedReadMax = 64 * 1024;
    std::list<std::pair<u64, std::vector<u8>>> m_cache;
    std::unordered_map<u64, std::list<std::pair<u64, std::vector<u8>>>::iterator> m_cache_index;
    std::mutex m_lock;
};

} // namespace umk::host
