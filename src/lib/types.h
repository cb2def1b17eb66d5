#pragma once

#include <cstddef>
#include <cstdint>

namespace umk {

using u8 = std::uint8_t;
using u16 = std::uint16_t;
using u32 = std::uint32_t;
using u64 = std::uint64_t;
using i8 = std::int8_t;
using i16 = std::int16_t;
using i32 = std::int32_t;
using i64 = std::int64_t;
using usize = std::size_t;

inline constexpr u64 kPageSize = 4096;
constexpr u64 page_round_down(u64 v) { return v & ~(kPageSize - 1); }
constexpr u64 page_round_up(u64 v) { return (v + kPageSize - 1) & ~(kPageSize - 1); }
constexpr bool page_aligned(u64 v) { return (v & (kPageSize - 1)) == 0; }

} // namespace umk
