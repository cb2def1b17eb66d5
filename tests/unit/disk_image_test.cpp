#include "host/disk_image.h"
#include "kernel/fs/ext4/ext4.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>

namespace umk {
namespace {

// A scratch directory, removed with everything in it.
struct Scratch {
    std::filesystem::path dir;
    Scratch()
    {
        char name[] = "/tmp/umk-disk-test.XXXXXX";
        dir = mkdtemp(name);
    }
    ~Scratch() { std::filesystem::remove_all(dir); }
    std::string path(const char* name) const { return (dir / name).string(); }
};

host::Fd open_file(const std::string& path, int flags)
{
    int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
    EXPECT_GE(fd, 0) << path;
    return host::Fd(fd);
}

std::vector<u8> pattern(usize size, u32 seed)
{
    std::mt19937 random(seed);
    std::vector<u8> bytes(size);
    for (auto& b : bytes)
        b = static_cast<u8>(random());
    return bytes;
}

void write_file(const std::string& path, const std::vector<u8>& bytes)
{
    auto fd = open_file(path, O_WRONLY | O_CREAT | O_TRUNC);
    ASSERT_EQ(::write(fd.get(), bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
}

std::vector<u8> read_file(const std::string& path)
{
    auto fd = open_file(path, O_RDONLY);
    struct stat st {};
    fstat(fd.get(), &st);
    std::vector<u8> bytes(static_cast<usize>(st.st_size));
    EXPECT_EQ(::read(fd.get(), bytes.data(), bytes.size()), st.st_size);
    return bytes;
}

TEST(DiskImage, CowTakesEveryWriteAndLeavesTheImage)
{
    Scratch s;
    auto original = pattern(64 * 1024, 1);
    write_file(s.path("img"), original);
    auto expected = original;
    {
        auto disk = host::DiskImage::open_cow(open_file(s.path("img"), O_RDONLY), s.path("img"),
                                              open_file(s.path("cow"), O_RDWR | O_CREAT));
        ASSERT_TRUE(disk);
        // Unaligned writes, within one sector, across several, at the end.
        struct { u64 offset; usize length; } writes[] = { { 3, 10 }, { 700, 2000 }, { 4096, 512 }, { 65536 - 5, 5 } };
        u32 seed = 10;
        for (auto w : writes) {
            auto data = pattern(w.length, seed++);
            ASSERT_TRUE(disk->write(w.offset, data));
            std::copy(data.begin(), data.end(), expected.begin() + static_cast<long>(w.offset));
        }
        EXPECT_FALSE(disk->write(65536 - 4, pattern(5, 0))); // past the end
        std::vector<u8> all(expected.size());
        ASSERT_TRUE(disk->read(0, all));
        EXPECT_EQ(all, expected);
    }
    EXPECT_EQ(read_file(s.path("img")), original);
    // The COW file keeps it: opened again, and merged.
    {
        auto disk = host::DiskImage::open_cow(open_file(s.path("img"), O_RDONLY), s.path("img"),
                                              open_file(s.path("cow"), O_RDWR));
        ASSERT_TRUE(disk);
        std::vector<u8> all(expected.size());
        ASSERT_TRUE(disk->read(0, all));
        EXPECT_EQ(all, expected);
    }
    auto cow = open_file(s.path("cow"), O_RDONLY);
    auto header = host::DiskImage::read_cow_header(cow.get());
    ASSERT_TRUE(header);
    EXPECT_EQ(header->backing_file, s.path("img"));
    EXPECT_EQ(header->size, original.size());
    auto image = open_file(s.path("img"), O_RDWR);
    auto sectors = host::DiskImage::merge(image.get(), cow.get(), *header);
    ASSERT_TRUE(sectors);
    EXPECT_EQ(*sectors, 1u + 5u + 1u + 1u); // 3..13; 700..2700 is sectors 1-5; 4096; the last
    EXPECT_EQ(read_file(s.path("img")), expected);
}

TEST(DiskImage, RefusesACowOfAnotherImage)
{
    Scratch s;
    write_file(s.path("img"), pattern(8192, 1));
    write_file(s.path("other"), pattern(16384, 2));
    {
        auto disk = host::DiskImage::open_cow(open_file(s.path("img"), O_RDONLY), s.path("img"),
                                              open_file(s.path("cow"), O_RDWR | O_CREAT));
        ASSERT_TRUE(disk);
    }
    auto other = host::DiskImage::open_cow(open_file(s.path("other"), O_RDONLY), s.path("other"),
                                           open_file(s.path("cow"), O_RDWR));
    ASSERT_FALSE(other);
    EXPECT_EQ(other.error(), Errno::INVAL);
    write_file(s.path("junk"), pattern(5000, 3));
    auto junk = host::DiskImage::open_cow(open_file(s.path("img"), O_RDONLY), s.path("img"),
                                          open_file(s.path("junk"), O_RDWR));
    EXPECT_FALSE(junk);
}

// The ext4 driver end to end on an image mkfs.ext4 made: what it writes
// must be a file system e2fsck finds clean.
TEST(Ext4, ChangesLeaveACleanFileSystem)
{
    Scratch s;
    std::string img = s.path("fs.img");
    ASSERT_EQ(std::system(("mkfs.ext4 -q -F " + img + " 8M >/dev/null 2>&1").c_str()), 0);
    {
        auto disk = host::DiskImage::open(open_file(img, O_RDWR), true);
        ASSERT_TRUE(disk);
        auto fs = kernel::Ext4Fs::mount(std::move(*disk));
        ASSERT_TRUE(fs) << fs.error();
        auto root = (*fs)->root();
        auto dir = root->mkdir("dir", 0755, 0, 0);
        ASSERT_TRUE(dir);
        auto file = (*dir)->create("file", 0644, 1000, 1000);
        ASSERT_TRUE(file);
        {
            auto open = (*file)->open(O_RDWR);
            ASSERT_TRUE(open);
            auto data = pattern(300 * 1024, 7);
            ASSERT_TRUE((*open)->write(data, 0));
            std::vector<u8> back(data.size());
            ASSERT_TRUE((*open)->read(back, 0));
            EXPECT_EQ(back, data);
        }
        EXPECT_TRUE((*dir)->symlink("link", std::string(200, 'x'), 0, 0)); // a slow symlink
        EXPECT_TRUE((*dir)->link(**file, "hard"));
        EXPECT_EQ((*file)->attr()->nlink, 2u);
        EXPECT_TRUE(root->mkdir("other", 0700, 0, 0));
        auto other = root->lookup("other");
        ASSERT_TRUE(other);
        EXPECT_TRUE(root->rename("dir", **other, "moved")); // ".." and link counts change
        auto moved = (*other)->lookup("moved");
        ASSERT_TRUE(moved);
        EXPECT_TRUE((*moved)->unlink("hard"));
        EXPECT_EQ((*moved)->rmdir("nothing").error(), Errno::NOENT);
        EXPECT_EQ((*other)->rmdir("moved").error(), Errno::NOTEMPTY);
        const u8 value[] = { 'v' };
        EXPECT_TRUE((*file)->set_xattr("user.note", value, 0));
        EXPECT_EQ((*file)->set_xattr("user.note", value, XATTR_CREATE).error(), Errno::EXIST);
        EXPECT_EQ((*file)->get_xattr("user.note").value(), std::vector<u8>(value, value + 1));
        EXPECT_TRUE((*file)->truncate(1000));
        EXPECT_EQ((*file)->attr()->size, 1000);
        for (int i = 0; i < 300; i++) // past one directory block
            ASSERT_TRUE((*moved)->create("f" + std::to_string(i) + std::string(40, 'n'), 0600, 0, 0));
        for (int i = 0; i < 300; i += 2)
            ASSERT_TRUE((*moved)->unlink("f" + std::to_string(i) + std::string(40, 'n')));
        EXPECT_EQ((*moved)->list()->size(), 2u + 2 + 150); // ".", "..", file, link, the odd ones
    }
    EXPECT_EQ(std::system(("e2fsck -fn " + img + " >/dev/null 2>&1").c_str()), 0);
}

} // namespace
} // namespace umk
