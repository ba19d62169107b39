// leaky_cxx.cpp - a C++ program that leaks on purpose, for the leak tests.
//
//   leaky_cxx all     the leaks below
//   leaky_cxx clean   the same work, everything freed
//
// Leaks (function: blocks x bytes):
//   Factory::make(int)      3 x 40    operator new of a Widget, from a method
//   make_buffer(unsigned)   2 x 256   operator new[]
//   worker(int)             4 x 24    one per std::thread, threads joined
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

static void *volatile sink;
static bool clean;

struct Widget {
  char name[32];
  long id;
};
static_assert(sizeof(Widget) == 40, "Widget is 40 bytes");

struct Factory {
  __attribute__((noinline)) Widget *make(int id) {
    Widget *w = new Widget();
    w->id = id;
    return w;
  }
};

__attribute__((noinline)) char *make_buffer(unsigned n) { return new char[n]; }

struct Node {
  long v[2];
};
static_assert(sizeof(Node) == 16, "Node is 16 bytes");

__attribute__((noinline)) void worker(int i) {
  long *p = new long[3]; // 24 bytes
  p[0] = i;
  sink = p;
  if (clean) delete[] p;
  std::ostringstream os;
  os << "worker " << i << " says hello from a string long enough to allocate";
  sink = (void *)os.str().c_str();
}

int main(int argc, char **argv) {
  clean = argc > 1 && !std::strcmp(argv[1], "clean");
  std::cout << "leaky_cxx " << (clean ? "clean" : "all") << std::endl;
  Factory f;
  for (int i = 0; i < 3; i++) {
    Widget *w = f.make(i);
    sink = w;
    if (clean) delete w;
  }
  for (int i = 0; i < 2; i++) {
    char *b = make_buffer(256);
    sink = b;
    if (clean) delete[] b;
  }
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; i++) ts.emplace_back(worker, i);
  for (auto &t : ts) t.join();
  // Balanced work: containers, strings, a shared_ptr, an exception.
  std::vector<std::unique_ptr<Node>> nodes;
  for (int i = 0; i < 100; i++) nodes.push_back(std::make_unique<Node>());
  auto sp = std::make_shared<std::string>(200, 'x');
  try {
    throw std::runtime_error("an exception, caught");
  } catch (const std::exception &e) {
    std::cerr << e.what() << std::endl;
  }
  return 0;
}
