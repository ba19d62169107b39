// clean_cxx.cpp - a C++ program that frees everything it allocates: iostream,
// threads, strings, containers, exceptions, locale. `tierpool check` must
// pass it with no suppression file at all.
#include <chrono>
#include <iostream>
#include <locale>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

int main() {
  std::ios::sync_with_stdio(false);
  std::mutex m;
  std::map<int, std::string> seen;
  std::vector<std::thread> ts;
  for (int i = 0; i < 8; i++)
    ts.emplace_back([i, &m, &seen] {
      std::ostringstream os;
      os << "thread " << i << " with a name long enough to need the heap";
      try {
        if (i % 2) throw std::runtime_error(os.str());
      } catch (const std::exception &e) {
        std::lock_guard<std::mutex> g(m);
        seen[i] = e.what();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    });
  for (auto &t : ts) t.join();
  std::cout.imbue(std::locale::classic());
  for (auto &kv : seen) std::cout << kv.first << ": " << kv.second << '\n';
  std::cerr << "done" << std::endl;
  return 0;
}
