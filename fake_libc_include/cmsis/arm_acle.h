/* Arm DSP intrinsics used by native Arm schedules, declared for crewrite as plain functions. */
#ifndef CREWRITE_ARM_ACLE_H
#define CREWRITE_ARM_ACLE_H
#include <stdint.h>
int32_t __smlad(int32_t x, int32_t y, int32_t acc);
int32_t __sxtb16(int32_t x);
int32_t __qadd8(int32_t x, int32_t y);
int32_t __ssat(int32_t x, uint32_t bits);
#define __SMLAD __smlad
#define __SXTB16 __sxtb16
#define __QADD8 __qadd8
#define __SSAT __ssat
#endif
