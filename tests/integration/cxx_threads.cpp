// cxx_threads.cpp - a threaded C++ program using the standard containers,
// run by the integration tests with and without tierpool preloaded.
//
// Usage: tp_cxx_threads [threads]   (default 4)
//
// Each thread builds maps, vectors, strings and hash maps from its own
// seeded generator, and hands half of its strings to the next thread
// through a locked queue, so that blocks made in one thread are destroyed
// in another. The output depends on the seeds only, never on the
// interleaving: it is the same on every run.
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

struct Mailbox {
  std::mutex lock;
  std::condition_variable ready;
  std::deque<std::unique_ptr<std::string>> items;
  int closed_by = 0; // senders that are done
};

struct Result {
  uint64_t map_sum = 0, vec_sum = 0, received_chars = 0, received_count = 0;
  size_t distinct = 0, longest = 0;
  std::string first_key, last_key;
};

uint64_t xorshift(uint64_t &s) {
  s ^= s << 13;
  s ^= s >> 7;
  s ^= s << 17;
  return s;
}

std::string word(uint64_t &s) {
  std::string w;
  size_t n = 1 + xorshift(s) % 48; // short ones in place, long ones on the heap
  for (size_t i = 0; i < n; i++)
    w.push_back(static_cast<char>('a' + xorshift(s) % 26));
  return w;
}

void work(int id, int nthreads, std::vector<Mailbox> &boxes, Result &r) {
  uint64_t s = 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(id + 1);
  std::map<std::string, uint64_t> counts;
  std::unordered_map<uint64_t, std::vector<uint32_t>> buckets;
  std::vector<std::string> kept;
  Mailbox &out = boxes[(id + 1) % nthreads];
  for (int round = 0; round < 40; round++) {
    for (int i = 0; i < 5000; i++) {
      std::string w = word(s);
      counts[w] += w.size();
      buckets[xorshift(s) % 997].push_back(static_cast<uint32_t>(i));
      if (i % 2) {
        std::lock_guard<std::mutex> g(out.lock);
        out.items.push_back(std::make_unique<std::string>(w + "/" + std::to_string(id)));
        out.ready.notify_one();
      } else if (i % 7 == 0) {
        kept.push_back(std::move(w));
      }
    }
    if (round % 8 == 7) { // drop and rebuild: frees in bulk
      buckets.clear();
      kept.erase(kept.begin(), kept.begin() + static_cast<long>(kept.size() / 2));
      kept.shrink_to_fit();
    }
  }
  {
    std::lock_guard<std::mutex> g(out.lock);
    out.closed_by++;
    out.ready.notify_one();
  }
  // Receive what the previous thread sent, until it is done.
  Mailbox &in = boxes[id];
  for (;;) {
    std::unique_ptr<std::string> item;
    {
      std::unique_lock<std::mutex> g(in.lock);
      in.ready.wait(g, [&] { return !in.items.empty() || in.closed_by == 1; });
      if (in.items.empty())
        break;
      item = std::move(in.items.front());
      in.items.pop_front();
    }
    r.received_chars += item->size();
    r.received_count++;
  }
  for (auto &kv : counts)
    r.map_sum += kv.second * (kv.first.size() + 1);
  for (auto &kv : buckets)
    for (uint32_t v : kv.second)
      r.vec_sum += v ^ kv.first;
  for (auto &w : kept)
    r.longest = std::max(r.longest, w.size());
  r.distinct = counts.size();
  r.first_key = counts.begin()->first;
  r.last_key = counts.rbegin()->first;
}

} // namespace

int main(int argc, char **argv) {
  int nthreads = argc > 1 ? std::atoi(argv[1]) : 4;
  if (nthreads < 1 || nthreads > 64) {
    std::fprintf(stderr, "usage: %s [threads 1..64]\n", argv[0]);
    return 2;
  }
  std::vector<Mailbox> boxes(static_cast<size_t>(nthreads));
  std::vector<Result> results(static_cast<size_t>(nthreads));
  std::vector<std::thread> threads;
  for (int i = 0; i < nthreads; i++)
    threads.emplace_back(work, i, nthreads, std::ref(boxes), std::ref(results[static_cast<size_t>(i)]));
  for (auto &t : threads)
    t.join();
  uint64_t total = 0;
  for (int i = 0; i < nthreads; i++) {
    const Result &r = results[static_cast<size_t>(i)];
    std::printf("thread %d: %zu distinct, map %llu, vec %llu, got %llu strings (%llu chars), "
                "longest kept %zu, keys %s .. %s\n",
                i, r.distinct, static_cast<unsigned long long>(r.map_sum),
                static_cast<unsigned long long>(r.vec_sum),
                static_cast<unsigned long long>(r.received_count),
                static_cast<unsigned long long>(r.received_chars), r.longest, r.first_key.c_str(),
                r.last_key.c_str());
    total += r.map_sum + r.vec_sum + r.received_chars;
  }
  std::printf("total %llu\n", static_cast<unsigned long long>(total));
  return 0;
}
