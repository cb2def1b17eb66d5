#include "kernel/fs/hostfs/hostfs.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

namespace umk::kernel {
namespace {

// A host directory with a file, a symlink, a FIFO and a subdirectory,
// mounted as a lower layer (read-only, attributes kept) or as a volume.
class HostFsTest : public testing::Test {
protected:
    void SetUp() override
    {
        char tmpl[] = "/tmp/umk-hostfs-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        m_dir = tmpl;
        std::ofstream(m_dir / "file") << "hello";
        std::ofstream(m_dir / "other") << "other";
        ASSERT_EQ(symlink("the/target", (m_dir / "link").c_str()), 0);
        ASSERT_EQ(mkfifo((m_dir / "fifo").c_str(), 0600), 0);
        std::filesystem::create_directory(m_dir / "sub");
        std::ofstream(m_dir / "sub" / "inner") << "x";
    }
    void TearDown() override { std::filesystem::remove_all(m_dir); }

    RefPtr<HostInode> mount(bool live)
    {
        auto fd = host::open_path(m_dir.c_str());
        EXPECT_TRUE(fd.has_value());
        auto root = HostInode::make_root(std::move(*fd), HostMountOptions { live, live });
        EXPECT_TRUE(root.has_value());
        return *root;
    }

    static HostInode& host(const RefPtr<Inode>& inode) { return static_cast<HostInode&>(*inode); }

    std::filesystem::path m_dir;
};

TEST_F(HostFsTest, LookupGivesTheHostsAttributes)
{
    for (bool live : { false, true }) {
        auto root = mount(live);
        for (const char* name : { "file", "link", "fifo", "sub" }) {
            auto inode = root->lookup(name);
            ASSERT_TRUE(inode.has_value()) << name;
            auto attr = (*inode)->attr();
            ASSERT_TRUE(attr.has_value());
            struct stat st {};
            ASSERT_EQ(lstat((m_dir / name).c_str(), &st), 0);
            EXPECT_EQ(attr->ino, st.st_ino) << name;
            EXPECT_EQ(attr->mode, st.st_mode) << name;
            EXPECT_EQ(attr->size, st.st_size) << name;
        }
        EXPECT_EQ(root->lookup("missing").error(), Errno::NOENT);
        EXPECT_EQ((*root->lookup("file"))->lookup("x").error(), Errno::NOTDIR);
        auto link = root->lookup("link");
        EXPECT_EQ((*link)->readlink(), std::string("the/target"));
        auto inner = (*root->lookup("sub"))->lookup("inner");
        ASSERT_TRUE(inner.has_value());
        auto file = (*inner)->open(O_RDONLY);
        ASSERT_TRUE(file.has_value());
        u8 byte = 0;
        EXPECT_EQ((*file)->read(std::span(&byte, 1), 0), usize { 1 });
        EXPECT_EQ(byte, 'x');
    }
}

// A lower-layer file is looked up by a stat alone; its fd, opened when
// first needed, must be the file looked up, not whatever has the name
// now. A symlink keeps the one looked up, as directories do.
TEST_F(HostFsTest, ALowerFileReplacedOrRemovedAfterItsLookupIsStale)
{
    auto root = mount(false);
    auto file = *root->lookup("file");
    auto fifo = *root->lookup("fifo");
    auto link = *root->lookup("link");
    EXPECT_FALSE(file->stale());
    std::filesystem::rename(m_dir / "other", m_dir / "file");
    ASSERT_EQ(unlink((m_dir / "fifo").c_str()), 0);
    ASSERT_EQ(unlink((m_dir / "link").c_str()), 0);
    ASSERT_EQ(symlink("elsewhere", (m_dir / "link").c_str()), 0);
    u64 found = Inode::stale_found();
    EXPECT_EQ(host(file).path_fd().error(), Errno::STALE);
    EXPECT_TRUE(file->stale());
    EXPECT_EQ(file->open(O_RDONLY).error(), Errno::STALE);
    EXPECT_EQ(host(fifo).path_fd().error(), Errno::STALE);
    EXPECT_TRUE(fifo->stale());
    EXPECT_EQ(Inode::stale_found(), found + 3); // each failure counts
    EXPECT_EQ(link->readlink(), std::string("the/target"));
    EXPECT_FALSE(link->stale());
    // Looked up again: the new file.
    auto again = root->lookup("file");
    ASSERT_TRUE(again.has_value());
    EXPECT_TRUE(host(*again).path_fd().has_value());
    EXPECT_FALSE((*again)->stale());
}

TEST_F(HostFsTest, AFdOpenedOnceServesEveryThread)
{
    auto root = mount(false);
    for (int round = 0; round < 50; round++) {
        auto file = *root->lookup("file");
        int fds[4] = {};
        std::vector<std::thread> threads;
        for (int& fd : fds)
            threads.emplace_back([&] { fd = host(file).path_fd().value_or(-1); });
        for (auto& t : threads)
            t.join();
        EXPECT_GE(fds[0], 0);
        for (int fd : fds)
            EXPECT_EQ(fd, fds[0]);
        EXPECT_EQ(fcntl(fds[0], F_GETFD), FD_CLOEXEC);
    }
}

} // namespace
} // namespace umk::kernel
