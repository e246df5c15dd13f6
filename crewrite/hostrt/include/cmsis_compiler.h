/* CMSIS-Core's compiler header, as crewrite's host builds see it: the attribute macros a
   kernel library such as CMSIS-NN uses (shared with the parser's cmsis_compiler.h), a real
   compiler barrier, unaligned reads, and the DSP intrinsics defined in C (crewrite_arm.h)
   instead of the Arm inline assembly of cmsis_gcc.h. */
#ifndef CREWRITE_HOST_CMSIS_COMPILER_H_
#define CREWRITE_HOST_CMSIS_COMPILER_H_
#include <stdint.h>
#include <string.h>

#include "crewrite_arm.h"
#include <crewrite_cmsis_macros.h> /* in fake_libc_include/cmsis, on every host build's path */

#ifndef __COMPILER_BARRIER
#define __COMPILER_BARRIER() __asm volatile("" ::: "memory")
#endif

static inline uint32_t crewrite_unaligned_read32(const void* p) {
  uint32_t v;
  memcpy(&v, p, sizeof(v));
  return v;
}
static inline uint16_t crewrite_unaligned_read16(const void* p) {
  uint16_t v;
  memcpy(&v, p, sizeof(v));
  return v;
}
#ifndef __UNALIGNED_UINT32_READ
#define __UNALIGNED_UINT32_READ(addr) crewrite_unaligned_read32(addr)
#endif
#ifndef __UNALIGNED_UINT16_READ
#define __UNALIGNED_UINT16_READ(addr) crewrite_unaligned_read16(addr)
#endif
#endif
