/* CMSIS-Core's compiler header, as crewrite's host builds see it: the attribute macros a
   kernel library such as CMSIS-NN uses, and the DSP intrinsics defined in C
   (crewrite_arm.h) instead of the Arm inline assembly of cmsis_gcc.h. */
#ifndef CREWRITE_HOST_CMSIS_COMPILER_H_
#define CREWRITE_HOST_CMSIS_COMPILER_H_
#include <stdint.h>
#include <string.h>

#include "crewrite_arm.h"

#ifndef __ASM
#define __ASM __asm
#endif
#ifndef __INLINE
#define __INLINE inline
#endif
#ifndef __STATIC_INLINE
#define __STATIC_INLINE static inline
#endif
#ifndef __STATIC_FORCEINLINE
#define __STATIC_FORCEINLINE __attribute__((always_inline)) static inline
#endif
#ifndef __NO_RETURN
#define __NO_RETURN __attribute__((__noreturn__))
#endif
#ifndef __USED
#define __USED __attribute__((used))
#endif
#ifndef __WEAK
#define __WEAK __attribute__((weak))
#endif
#ifndef __PACKED
#define __PACKED __attribute__((packed, aligned(1)))
#endif
#ifndef __PACKED_STRUCT
#define __PACKED_STRUCT struct __attribute__((packed, aligned(1)))
#endif
#ifndef __ALIGNED
#define __ALIGNED(x) __attribute__((aligned(x)))
#endif
#ifndef __RESTRICT
#define __RESTRICT __restrict
#endif
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
