# gcc compiling a C file (the compiler driver, cc1, as and ld all run
# preloaded), comparing the object, the program and the program's output.
case_needs() { echo gcc sha256sum; }
case_prepare() { cp "$TP_DATA/compile_me.c" .; }
case_run() {
  local src=$TP_INPUT/compile_me.c
  tp_run gcc -O2 -Wall -c "$src" -o prog.o
  tp_run gcc -O0 -S "$src" -o prog.s
  tp_run gcc prog.o -o prog
  sha256sum prog.o prog.s prog
  tp_run ./prog 12
}
