/* leak_cfi.h - a frame's shape from DWARF call frame information
 * (leak_cfi.c), as the capture's unwinder (leak_unwind.c) follows it. */
#ifndef TP_STATS_LEAK_CFI_H
#define TP_STATS_LEAK_CFI_H

#include <stdint.h>

#pragma GCC visibility push(hidden)

/* A shape, packed in one word: CFA offset (32 bits), rbp's save offset
 * (16), flags (16). x86-64's: its DWARF register numbers, its return
 * address at CFA - 8. */
#define UW_VALID 1u       /* a computed shape (an empty slot reads 0) */
#define UW_LAST 2u        /* the return address is undefined: the outermost frame */
#define UW_UNKNOWN 4u     /* not a shape this unwinder follows */
#define UW_CFA_RBP 8u     /* CFA = rbp + offset (else rsp + offset) */
#define UW_RBP_SAVED 16u  /* rbp is restored from CFA + its offset */
#define UW_SIGNAL 32u     /* the kernel's signal frame (x86-64 Linux's rt_sigreturn
                           * trampoline): the interrupted registers are in the
                           * ucontext at the CFA of the handler's frame */

/* The largest frame followed: a CFA further than this above the stack
 * pointer is a wrong shape (or a frame libunwind may judge). */
#define UW_FRAME_MAX ((uintptr_t)1 << 24)

/* The shape of the frame that is executing at pc (x86-64 only). */
uint64_t tp_cfi_shape(uintptr_t pc);

#pragma GCC visibility pop

#endif
