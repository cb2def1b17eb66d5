// umk image: ext4 disk images for `umk run --disk`. `create` builds one
// from a directory with mkfs.ext4 -d (e2fsprogs); `merge` folds a COW file
// into its image, as User-mode Linux's uml_moo -d does.

#include "cli/commands.h"

#include "host/disk_image.h"
#include "host/fd.h"

#include <fmt/format.h>

#include <fcntl.h>
#include <ftw.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <optional>
#include <thread>

extern char** environ;

namespace umk::cli {

namespace {

int fail(const std::string& message, int code = 1)
{
    fmt::print(stderr, "umk image: {}\n", message);
    return code;
}

constexpr u64 kMiB = 1 << 20;

// "512M", "2G", "1048576": bytes.
std::optional<u64> parse_size(const std::string& text)
{
    if (text.empty())
        return std::nullopt;
    usize used = 0;
    u64 value;
    try {
        value = std::stoull(text, &used);
    } catch (...) {
        return std::nullopt;
    }
    std::string unit = text.substr(used);
    u64 scale = 1;
    if (unit == "K" || unit == "k")
        scale = 1 << 10;
    else if (unit == "M" || unit == "m")
        scale = kMiB;
    else if (unit == "G" || unit == "g")
        scale = 1 << 30;
    else if (unit == "T" || unit == "t")
        scale = 1ull << 40;
    else if (!unit.empty())
        return std::nullopt;
    if (value > (1ull << 50) / scale)
        return std::nullopt;
    return value * scale;
}

// What a tree holds: the space its files take and how many names it has.
struct TreeSize {
    u64 bytes { 0 };
    u64 entries { 0 };
};
TreeSize g_tree;

int count_entry(const char*, const struct stat* st, int, FTW*)
{
    g_tree.entries++;
    g_tree.bytes += static_cast<u64>(st->st_blocks) * 512;
    return 0;
}

void draw_progress(u64 done, u64 total, bool final)
{
    constexpr int kWidth = 30;
    u64 shown = final ? total : std::min(done, total - total / 100);
    int filled = total ? static_cast<int>(shown * kWidth / total) : kWidth;
    fmt::print(stderr, "\rumk image: [{:#<{}}{:.<{}}] {:3}% {}/{} MiB", "", filled, "", kWidth - filled,
               total ? shown * 100 / total : 100, shown / kMiB, total / kMiB);
    if (final)
        fmt::print(stderr, "\n");
}

int create(const ImageOptions& o)
{
    std::error_code ec;
    if (!std::filesystem::is_directory(o.from_dir, ec))
        return fail(fmt::format("--from-dir {}: not a directory", o.from_dir), 2);
    if (std::filesystem::exists(o.image, ec) && !o.force)
        return fail(fmt::format("{} exists; give --force to replace it", o.image), 2);
    auto parent = std::filesystem::absolute(o.image, ec).parent_path();
    auto tree = std::filesystem::canonical(o.from_dir, ec).string();
    auto where = std::filesystem::weakly_canonical(std::filesystem::absolute(o.image), ec).string();
    if (where.starts_with(tree + "/"))
        return fail(fmt::format("{} is inside {}: make the image elsewhere (mkfs would copy it into itself)", o.image, o.from_dir), 2);
    if (!std::filesystem::is_directory(parent, ec))
        return fail(fmt::format("{}: no such directory", parent.string()), 2);
    std::optional<u64> given_size;
    if (!o.size.empty()) {
        given_size = parse_size(o.size);
        if (!given_size || *given_size < kMiB)
            return fail(fmt::format("--size {}: expected a size such as 512M or 4G (at least 1M)", o.size), 2);
    }

    fmt::print(stderr, "umk image: measuring {}...\n", o.from_dir);
    g_tree = {};
    if (nftw(o.from_dir.c_str(), count_entry, 64, FTW_PHYS) != 0)
        return fail(fmt::format("--from-dir {}: cannot read all of it: {}", o.from_dir, std::strerror(errno)), 2);
    // Room for the metadata (inode tables, journal) and some to spare.
    u64 size = (g_tree.bytes + g_tree.bytes / 4 + g_tree.entries * 4096 + 64 * kMiB + 4 * kMiB - 1) / (4 * kMiB) * (4 * kMiB);
    if (given_size)
        size = *given_size;
    // One inode per 16 KiB is mkfs.ext4's default; a tree of many small
    // files needs more.
    u64 inodes = g_tree.entries + g_tree.entries / 4 + 1024;

    std::string tmp = o.image + ".umk-tmp";
    ::unlink(tmp.c_str());
    std::vector<std::string> args = { "mkfs.ext4", "-q", "-F", "-t", "ext4", "-d", o.from_dir, "-E", "lazy_itable_init=0" };
    if (inodes > size / 16384) {
        args.push_back("-N");
        args.push_back(std::to_string(inodes));
    }
    args.push_back(tmp);
    args.push_back(std::to_string(size / 1024) + "k");
    std::vector<char*> argv;
    for (auto& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);

    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0)
        return fail(std::strerror(errno));
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDERR_FILENO);
    pid_t pid;
    int spawned = posix_spawnp(&pid, "mkfs.ext4", &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(out[1]);
    host::Fd output(out[0]);
    if (spawned != 0)
        return fail(fmt::format("cannot run mkfs.ext4 ({}): install e2fsprogs", std::strerror(spawned)));

    fmt::print(stderr, "umk image: making {} ({} MiB) from {} ({} names, {} MiB)\n", o.image, size / kMiB, o.from_dir,
               g_tree.entries, g_tree.bytes / kMiB);
    bool tty = isatty(STDERR_FILENO);
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        struct stat st {};
        if (tty && ::stat(tmp.c_str(), &st) == 0)
            draw_progress(static_cast<u64>(st.st_blocks) * 512, std::max<u64>(g_tree.bytes, 1), false);
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    std::string messages;
    char buf[4096];
    for (ssize_t n; (n = read(output.get(), buf, sizeof buf)) > 0;)
        messages.append(buf, static_cast<usize>(n));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        if (tty)
            fmt::print(stderr, "\n");
        ::unlink(tmp.c_str());
        return fail(fmt::format("mkfs.ext4 failed{}:\n{}", o.size.empty() ? "" : " (is --size big enough?)", messages));
    }
    if (tty)
        draw_progress(g_tree.bytes, std::max<u64>(g_tree.bytes, 1), true);
    if (::rename(tmp.c_str(), o.image.c_str()) != 0) {
        int e = errno;
        ::unlink(tmp.c_str());
        return fail(fmt::format("{}: {}", o.image, std::strerror(e)));
    }
    fmt::print(stderr, "umk image: made {}: run it with umk run --disk {} [--cow FILE] -- COMMAND\n", o.image, o.image);
    return 0;
}

int merge(const ImageOptions& o)
{
    int image = ::open(o.image.c_str(), O_RDWR | O_CLOEXEC);
    if (image < 0)
        return fail(fmt::format("{}: {}", o.image, std::strerror(errno)), 2);
    host::Fd image_fd(image);
    int cow = ::open(o.cow.c_str(), O_RDONLY | O_CLOEXEC);
    if (cow < 0)
        return fail(fmt::format("{}: {}", o.cow, std::strerror(errno)), 2);
    host::Fd cow_fd(cow);
    if (flock(image, LOCK_EX | LOCK_NB) != 0 || flock(cow, LOCK_SH | LOCK_NB) != 0)
        return fail("the image or the COW file is in use by a guest; merge when it has stopped", 2);
    auto header = host::DiskImage::read_cow_header(cow);
    if (!header)
        return fail(fmt::format("{}: not a COW file (User-mode Linux format, version 3)", o.cow), 2);
    auto st = host::stat_fd(image);
    if (!st)
        return fail(fmt::format("{}: {}", o.image, std::strerror(static_cast<int>(st.error()))), 2);
    if (header->size != static_cast<u64>(st->size))
        return fail(fmt::format("{} is for an image of {} bytes; {} has {}", o.cow, header->size, o.image, st->size), 2);
    if (!header->matches(*st) && !o.force)
        return fail(fmt::format("{} has changed since {} was made (its modification time differs); merging would "
                                "mix two versions of it. Give --force to merge anyway",
                                o.image, o.cow), 2);
    std::error_code ec;
    auto absolute = std::filesystem::canonical(o.image, ec).string();
    if (header->backing_file != absolute)
        fmt::print(stderr, "umk image: {} was made for {}; merging into {}\n", o.cow, header->backing_file, absolute);
    auto sectors = host::DiskImage::merge(image, cow, *header);
    if (!sectors && sectors.error() == Errno::NODATA)
        return fail(fmt::format("{} is truncated (it lacks sectors its bitmap marks); {} was not changed", o.cow, o.image), 2);
    if (!sectors)
        return fail(fmt::format("merging failed: {}", std::strerror(static_cast<int>(sectors.error()))));
    fmt::print(stderr, "umk image: merged {} KiB from {} into {}; the COW file no longer matches the image: delete it\n",
               *sectors * header->sector_size / 1024, o.cow, o.image);
    return 0;
}

} // namespace

void add_image_commands(CLI::App& app, ImageOptions& o)
{
    app.require_subcommand(1);
    auto* create_cmd = app.add_subcommand("create", "Make an ext4 disk image from a directory (with mkfs.ext4 -d)");
    create_cmd->add_option("--from-dir", o.from_dir, "The directory whose tree the image holds")->required()->type_name("DIR");
    create_cmd->add_option("image", o.image, "The image file to make")->required()->type_name("IMG");
    create_cmd->add_option("--size", o.size, "The image's size, e.g. 2G (default: what the tree needs and 25% more)")
        ->type_name("SIZE");
    create_cmd->add_flag("--force", o.force, "Replace IMG if it exists");
    create_cmd->footer("Example: umk image create --from-dir ./debian debian.img\n"
                       "         umk run --disk debian.img --cow debian.cow -- cat /etc/debian_version");

    auto* merge_cmd = app.add_subcommand("merge", "Write a COW file's changes into its image (like uml_moo -d)");
    merge_cmd->add_option("image", o.image, "The image the COW file was made for")->required()->type_name("IMG");
    merge_cmd->add_option("cow", o.cow, "The COW file (umk run --cow, or User-mode Linux's)")->required()->type_name("COW");
    merge_cmd->add_flag("--force", o.force, "Merge even if the image changed since the COW file was made");
}

int image(CLI::App& app, const ImageOptions& o)
{
    if (app.got_subcommand("create"))
        return create(o);
    return merge(o);
}

} // namespace umk::cli
