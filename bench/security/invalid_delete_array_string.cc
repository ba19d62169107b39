// Scalar delete on an array of std::string from new[]: one destructor
// runs, and operator delete gets the address past the array's count
// word, 8 bytes into the block.
#include <string>

#include "probe.h"

int main() {
  std::string *a = new std::string[PROBE_SIZE];
  delete a;
  uncaught("delete of a new std::string[]");
  return 0;
}
