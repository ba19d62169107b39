// delete[] on a single char from new: the scalar and array forms mixed
// (a char has no destructor, so no array cookie is involved).
#include "probe.h"

int main() {
  char *c = new char;
  delete[] c;
  uncaught("delete[] of a scalar new char");
  return 0;
}
