#include "lib/byte_ring.h"

#include <gtest/gtest.h>

#include <numeric>

namespace umk {
namespace {

std::vector<u8> iota(usize n, u8 start)
{
    std::vector<u8> v(n);
    std::iota(v.begin(), v.end(), start);
    return v;
}

TEST(ByteRing, FillsToCapacityAndDrainsInOrderAcrossTheWrap)
{
    ByteRing ring(8);
    EXPECT_EQ(ring.push(iota(6, 0)), 6u);
    std::vector<u8> out(4);
    EXPECT_EQ(ring.pop(out), 4u);
    EXPECT_EQ(out, iota(4, 0));
    // 2 left; 6 more fit, wrapping around the end.
    EXPECT_EQ(ring.push(iota(10, 6)), 6u);
    EXPECT_EQ(ring.room(), 0u);
    out.assign(16, 0);
    EXPECT_EQ(ring.pop(out), 8u);
    out.resize(8);
    EXPECT_EQ(out, iota(8, 4));
    EXPECT_TRUE(ring.empty());
    EXPECT_EQ(ring.pop(out), 0u);
}

TEST(ByteRing, NewCapacityKeepsTheBytes)
{
    ByteRing ring(4);
    ring.push(iota(4, 0));
    std::vector<u8> two(2);
    ring.pop(two);
    ring.push(iota(2, 4)); // wrapped: 2 3 | 4 5
    ring.set_capacity(16);
    EXPECT_EQ(ring.capacity(), 16u);
    EXPECT_EQ(ring.push(iota(3, 6)), 3u);
    std::vector<u8> out(7);
    EXPECT_EQ(ring.pop(out), 7u);
    EXPECT_EQ(out, iota(7, 2));
    ring.set_capacity(1); // fine while empty
    EXPECT_EQ(ring.push(iota(5, 0)), 1u);
}

TEST(ByteRing, PeekLeavesTheBytes)
{
    ByteRing ring(8);
    const u8 in[] = { 1, 2, 3, 4, 5, 6 };
    ring.push(in);
    u8 out[4] {};
    ring.pop(std::span(out, 4)); // head moves: the next bytes wrap
    const u8 more[] = { 7, 8, 9, 10 };
    EXPECT_EQ(ring.push(more), 4u);
    u8 seen[8] {};
    EXPECT_EQ(ring.peek(seen), 6u);
    EXPECT_EQ(ring.size(), 6u);
    const u8 expected[] = { 5, 6, 7, 8, 9, 10 };
    EXPECT_TRUE(std::equal(expected, expected + 6, seen));
    u8 taken[8] {};
    EXPECT_EQ(ring.pop(taken), 6u);
    EXPECT_TRUE(std::equal(expected, expected + 6, taken));
}

} // namespace
} // namespace umk
