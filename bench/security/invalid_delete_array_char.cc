// Scalar delete on an array of chars from new[]: the forms mixed the other
// way (no cookie; with sized deallocation, the size passed is 1).
#include "probe.h"

int main() {
  char *a = new char[PROBE_SIZE];
  delete a;
  uncaught("delete of a new char[]");
  return 0;
}
