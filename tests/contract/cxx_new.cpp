/* cxx_new.cpp - libstdc++'s operator new and delete end in the pools.
 *
 * Run preloaded: libstdc++ is not rebuilt, its operators call malloc,
 * aligned_alloc and free, and those must be tierpool's. Each test counts
 * the gets and puts of the tier its objects belong to, so a new that
 * bypassed the pools (or landed in the wrong tier) fails here.
 */
#include <criterion/criterion.h>

#include <cstdint>
#include <cstring>
#include <list>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

#include "probe.h"
#include "tp_test.h"

namespace {

constexpr int NOBJ = 1000;
/* room for the allocations of the criterion worker's idle helper thread */
constexpr uint64_t NOISE = 4;

tierpool_stats_t snap() {
  tierpool_stats_t s;
  cr_assert_eq(tp_probe_snap(&s), 0, "tierpool_stats not found: tierpool is not in the process");
  return s;
}

/* The tier serving exactly `size`-byte blocks; fails the test if none. */
int tier(const tierpool_stats_t &s, size_t size) {
  int t = tp_probe_tier(&s, size);
  cr_assert(t >= 0 && s.tiers[t].size == size, "no tier of %zu bytes", size);
  return t;
}

void expect_grew(uint64_t before, uint64_t after, uint64_t want, const char *what) {
  uint64_t d = after - before;
  cr_expect(d >= want && d <= want + NOISE, "%s grew by %llu, expected %llu", what,
            (unsigned long long)d, (unsigned long long)want);
}

/* Checks that making and dropping NOBJ objects with mk/rm moves tier
 * `size` by NOBJ gets, then NOBJ puts. */
template <typename Make, typename Drop>
void count_in_tier(size_t size, size_t align, const char *what, Make mk, Drop rm) {
  static void *objs[NOBJ];
  tierpool_stats_t a = snap();
  for (int i = 0; i < NOBJ; i++)
    objs[i] = mk();
  tierpool_stats_t b = snap();
  for (int i = 0; i < NOBJ; i++)
    rm(objs[i]);
  tierpool_stats_t c = snap();
  int t = tier(a, size);
  for (int i = 0; i < NOBJ; i++)
    cr_assert((reinterpret_cast<uintptr_t>(objs[i]) & (align - 1)) == 0, "%s: %p not %zu-aligned",
              what, objs[i], align);
  char msg[128];
  snprintf(msg, sizeof msg, "%s x %d: tier %zu get", what, NOBJ, size);
  expect_grew(a.tiers[t].get, b.tiers[t].get, NOBJ, msg);
  snprintf(msg, sizeof msg, "%s x %d: tier %zu put", what, NOBJ, size);
  expect_grew(b.tiers[t].put, c.tiers[t].put, NOBJ, msg);
}

struct Obj100 {
  char c[100];
};
struct alignas(64) Obj64 {
  char c[150]; /* sizeof 192 */
};
struct alignas(4096) Obj4096 {
  char c[5000]; /* sizeof 8192 */
};
struct Node {
  std::string name;
  std::vector<int> v;
  virtual ~Node() = default;
};

} // namespace

Test(cxx, tierpool_is_in_the_process) {
  cr_assert_not_null(reinterpret_cast<void *>(tp_probe()), "dlsym(\"tierpool_stats\") is NULL");
  tierpool_stats_t a = snap();
  void *volatile p = ::operator new(opaque(64));
  tierpool_stats_t b = snap();
  cr_expect_gt(b.total_get, a.total_get, "operator new(64) did not count a get");
  ::operator delete(p);
}

Test(cxx, new_and_delete) {
  count_in_tier(128, 16, "new Obj100", [] { return static_cast<void *>(new Obj100); },
                [](void *p) { delete static_cast<Obj100 *>(p); });
  count_in_tier(64, 16, "new Node", [] { return static_cast<void *>(new Node); },
                [](void *p) { delete static_cast<Node *>(p); });
}

Test(cxx, array_new_and_delete) {
  count_in_tier(4096, 16, "new char[3000]", [] { return static_cast<void *>(new char[opaque(3000)]); },
                [](void *p) { delete[] static_cast<char *>(p); });
  /* non-trivial destructor: the array carries an 8-byte cookie (40 * 64
   * + 8), so the pointer new[] returns is only 8-aligned */
  count_in_tier(4096, 8, "new Node[40]", [] { return static_cast<void *>(new Node[40]); },
                [](void *p) { delete[] static_cast<Node *>(p); });
}

Test(cxx, aligned_new_64) {
  count_in_tier(256, 64, "new Obj64 (align_val_t 64)",
                [] { return static_cast<void *>(new Obj64); },
                [](void *p) { delete static_cast<Obj64 *>(p); });
  count_in_tier(2048, 64, "new Obj64[10]", [] { return static_cast<void *>(new Obj64[10]); },
                [](void *p) { delete[] static_cast<Obj64 *>(p); });
  count_in_tier(128, 64, "operator new(100, align_val_t 64)",
                [] { return ::operator new(opaque(100), std::align_val_t(64)); },
                [](void *p) { ::operator delete(p, std::align_val_t(64)); });
}

Test(cxx, aligned_new_4096) {
  count_in_tier(8192, 4096, "new Obj4096 (align_val_t 4096)",
                [] { return static_cast<void *>(new Obj4096); },
                [](void *p) { delete static_cast<Obj4096 *>(p); });
  count_in_tier(4096, 4096, "operator new(100, align_val_t 4096)",
                [] { return ::operator new(opaque(100), std::align_val_t(4096)); },
                [](void *p) { ::operator delete(p, opaque(100), std::align_val_t(4096)); });
}

Test(cxx, nothrow_new) {
  count_in_tier(128, 16, "new (nothrow) Obj100",
                [] { return static_cast<void *>(new (std::nothrow) Obj100); },
                [](void *p) { delete static_cast<Obj100 *>(p); });
  count_in_tier(512, 16, "new (nothrow) char[300]",
                [] { return static_cast<void *>(new (std::nothrow) char[opaque(300)]); },
                [](void *p) { delete[] static_cast<char *>(p); });
  count_in_tier(256, 64, "new (nothrow) Obj64",
                [] { return static_cast<void *>(new (std::nothrow) Obj64); },
                [](void *p) { delete static_cast<Obj64 *>(p); });
}

Test(cxx, sized_delete) {
  count_in_tier(1024, 16, "operator new(1000) / operator delete(p, 1000)",
                [] { return ::operator new(opaque(1000)); },
                [](void *p) { ::operator delete(p, opaque(1000)); });
}

Test(cxx, too_large_new_throws_and_nothrow_returns_null) {
  const size_t huge[] = {SIZE_MAX / 2, (size_t)PTRDIFF_MAX + 1, SIZE_MAX - 4095};
  for (size_t n : huge) {
    bool threw = false;
    try {
      void *volatile p = ::operator new(opaque(n));
      ::operator delete(p);
    } catch (const std::bad_alloc &) {
      threw = true;
    }
    cr_expect(threw, "operator new(%zu) did not throw std::bad_alloc", n);
    threw = false;
    try {
      void *volatile p = ::operator new[](opaque(n));
      ::operator delete[](p);
    } catch (const std::bad_alloc &) {
      threw = true;
    }
    cr_expect(threw, "operator new[](%zu) did not throw std::bad_alloc", n);
    threw = false;
    try {
      void *volatile p = ::operator new(opaque(n), std::align_val_t(64));
      ::operator delete(p, std::align_val_t(64));
    } catch (const std::bad_alloc &) {
      threw = true;
    }
    cr_expect(threw, "operator new(%zu, align_val_t 64) did not throw std::bad_alloc", n);
    void *p = ::operator new(opaque(n), std::nothrow);
    cr_expect_null(p, "operator new(%zu, nothrow) = %p", n, p);
    p = ::operator new[](opaque(n), std::nothrow);
    cr_expect_null(p, "operator new[](%zu, nothrow) = %p", n, p);
    p = ::operator new(opaque(n), std::align_val_t(4096), std::nothrow);
    cr_expect_null(p, "operator new(%zu, align_val_t 4096, nothrow) = %p", n, p);
  }
}

Test(cxx, large_new_is_forwarded) {
  tierpool_stats_t a = snap();
  char *p = new char[opaque(3u << 20)];
  std::memset(p, 1, 3u << 20);
  tierpool_stats_t b = snap();
  delete[] p;
  tierpool_stats_t c = snap();
  expect_grew(a.discarded, b.discarded, 1, "new char[3 MiB]: discarded");
  expect_grew(b.forwarded_frees, c.forwarded_frees, 1, "delete[] of 3 MiB: forwarded_frees");
}

Test(cxx, containers_move_the_counters) {
  tierpool_stats_t a = snap();
  uint64_t sum = 0;
  {
    std::vector<int> v;
    for (int i = 0; i < 100000; i++)
      v.push_back(i); /* doubles 1 .. 131072 ints: 18 blocks */
    std::map<int, int> m;
    for (int i = 0; i < NOBJ; i++)
      m[i] = i; /* one 40-byte node each: tier 64 */
    std::string s;
    for (int i = 0; i < 1000; i++)
      s += std::to_string(i);
    std::list<std::string> l(NOBJ, std::string(200, 'x')); /* node + 201-byte string */
    std::unordered_map<std::string, std::shared_ptr<Node>> um;
    for (int i = 0; i < 100; i++)
      um["key number " + std::to_string(i) + " is long enough to be on the heap"] =
          std::make_shared<Node>();
    for (int x : v)
      sum += (uint64_t)x;
    for (auto &kv : m)
      sum += (uint64_t)kv.second;
    sum += s.size() + l.size() + um.size();
  }
  tierpool_stats_t b = snap();
  cr_expect_eq(sum, 4999950000ull + 499500ull + 2890 + NOBJ + 100);
  int t64 = tier(a, 64), t256 = tier(a, 256);
  uint64_t g64 = b.tiers[t64].get - a.tiers[t64].get, p64 = b.tiers[t64].put - a.tiers[t64].put;
  uint64_t g256 = b.tiers[t256].get - a.tiers[t256].get;
  cr_expect_geq(g64, (uint64_t)NOBJ, "std::map nodes: tier 64 got %llu", (unsigned long long)g64);
  cr_expect_geq(p64, (uint64_t)NOBJ, "std::map nodes: tier 64 put %llu", (unsigned long long)p64);
  cr_expect_geq(g256, (uint64_t)NOBJ, "std::list<std::string(200)>: tier 256 got %llu",
                (unsigned long long)g256);
  cr_expect_geq(b.total_get - a.total_get, 18u + 2 * NOBJ + NOBJ + 200);
  /* everything made in the block is gone again */
  cr_expect_eq(b.total_get - a.total_get, b.total_put - a.total_put,
               "containers: %llu gets but %llu puts",
               (unsigned long long)(b.total_get - a.total_get),
               (unsigned long long)(b.total_put - a.total_put));
}
