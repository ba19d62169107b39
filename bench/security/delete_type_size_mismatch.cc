// Sized delete with the wrong size: a 1-byte object deleted through a
// pointer to a 72-byte type. Built with -fsized-deallocation, the compiler
// passes 72 to operator delete; an allocator that checks the size against
// the block's can tell.
#include "probe.h"

struct wide {
  size_t words[9];
};

int main() {
  char *one = new char;
  wide *w = reinterpret_cast<wide *>(one);
  delete w;
  uncaught("sized delete of 72 bytes on a 1-byte new");
  return 0;
}
