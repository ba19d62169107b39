/* leak_elf.c - function names for the report, from the modules' own ELF
 * symbol tables, without malloc and without the dynamic linker.
 *
 * dladdr would only see exported symbols (.dynsym): the static functions of
 * a program are in .symtab, which ld.so never loads. So at report time each
 * module's file is mapped read-only, its .symtab (or .dynsym when stripped)
 * is scanned once for functions, and their addresses are sorted into an
 * mmap'd array that each frame looks up by binary search. Names stay
 * mangled here; `tierpool check` demangles and adds file:line.
 *
 * Runs with the report lock held (leak_report.c), so one thread at a time
 * fills a module's fields.
 */
#include <elf.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "leak_int.h"
#include "os.h"
#include "sort.h"

typedef struct tp_elf_sym_s {
  uint64_t value; /* link-time address */
  uint64_t size;  /* bytes; 0 if unknown */
  uint32_t name;  /* offset in the string table */
  uint32_t rank;  /* 0 global, 1 weak, 2 local: the preferred name of aliases */
} tp_elf_sym_t;

static bool sym_before(const void *pa, const void *pb) {
  const tp_elf_sym_t *a = pa, *b = pb;
  if (a->value != b->value) return a->value < b->value;
  if (a->rank != b->rank) return a->rank < b->rank;
  return a->name < b->name;
}

/* Maps path and finds its function symbols; false if it is no ELF file we
 * can read. The file mapping stays: the names point into it. */
static bool elf_load(tp_module_t *m, const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st;
  void *map = MAP_FAILED;
  if (fstat(fd, &st) == 0 && st.st_size >= (off_t)sizeof(Elf64_Ehdr))
    map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (map == MAP_FAILED) return false;
  size_t size = (size_t)st.st_size;
  const unsigned char *base = map;
  const Elf64_Ehdr *eh = map;
  if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
      eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shoff > size ||
      (size - eh->e_shoff) / sizeof(Elf64_Shdr) < eh->e_shnum)
    goto fail;
  const Elf64_Shdr *sh = (const Elf64_Shdr *)(base + eh->e_shoff);
  const Elf64_Shdr *symtab = NULL;
  for (unsigned i = 0; i < eh->e_shnum; i++) {
    if (sh[i].sh_type == SHT_SYMTAB) symtab = &sh[i];
    else if (sh[i].sh_type == SHT_DYNSYM && !symtab) symtab = &sh[i];
  }
  if (!symtab || symtab->sh_link >= eh->e_shnum || symtab->sh_offset > size ||
      symtab->sh_size > size - symtab->sh_offset)
    goto fail;
  const Elf64_Shdr *strs = &sh[symtab->sh_link];
  if (strs->sh_offset > size || strs->sh_size > size - strs->sh_offset || strs->sh_size == 0)
    goto fail;
  const Elf64_Sym *sym = (const Elf64_Sym *)(base + symtab->sh_offset);
  size_t nsym = symtab->sh_size / sizeof(Elf64_Sym), nfun = 0;
  for (size_t i = 0; i < nsym; i++) {
    unsigned type = ELF64_ST_TYPE(sym[i].st_info);
    if ((type == STT_FUNC || type == STT_GNU_IFUNC) && sym[i].st_shndx != SHN_UNDEF &&
        sym[i].st_value && sym[i].st_name < strs->sh_size)
      nfun++;
  }
  if (!nfun) goto fail;
  tp_elf_sym_t *funs = tp_os_map(nfun * sizeof *funs, false);
  if (!funs) goto fail;
  size_t k = 0;
  for (size_t i = 0; i < nsym && k < nfun; i++) {
    unsigned type = ELF64_ST_TYPE(sym[i].st_info), bind = ELF64_ST_BIND(sym[i].st_info);
    if ((type == STT_FUNC || type == STT_GNU_IFUNC) && sym[i].st_shndx != SHN_UNDEF &&
        sym[i].st_value && sym[i].st_name < strs->sh_size)
      funs[k++] = (tp_elf_sym_t){sym[i].st_value, sym[i].st_size, sym[i].st_name,
                                 bind == STB_GLOBAL ? 0u : bind == STB_WEAK ? 1u : 2u};
  }
  tp_sort(funs, k, sizeof *funs, sym_before);
  m->strtab = (const char *)base + strs->sh_offset;
  m->syms = funs;
  m->nsyms = k;
  return true;
fail:
  munmap(map, size);
  return false;
}

bool tp_elf_lookup(tp_module_t *m, uint64_t vaddr, const char **name, uint64_t *off) {
  if (m->elf_state == 0) {
    const char *path = tp_module_path(m);
    m->elf_state = path[0] == '/' && elf_load(m, path) ? 1 : -1;
  }
  if (m->elf_state != 1) return false;
  /* The last symbol at or below vaddr, then back to the first of its aliases. */
  size_t lo = 0, hi = m->nsyms;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (m->syms[mid].value <= vaddr) lo = mid + 1;
    else hi = mid;
  }
  if (lo == 0) return false;
  size_t i = lo - 1;
  while (i > 0 && m->syms[i - 1].value == m->syms[i].value) i--;
  const tp_elf_sym_t *s = &m->syms[i];
  if (s->size && vaddr - s->value >= s->size) return false;
  *name = m->strtab + s->name;
  *off = vaddr - s->value;
  return true;
}
