// delete[] on a single std::string from new: the array form looks for an
// element count just before the object, where there is none, and hands
// operator delete[] an address 8 bytes before the block.
#include <string>

#include "probe.h"

int main() {
  std::string *s = new std::string;
  delete[] s;
  uncaught("delete[] of a scalar new std::string");
  return 0;
}
