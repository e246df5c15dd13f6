/* Arm DSP intrinsics used by native Arm schedules and CMSIS-NN, declared for crewrite as plain
   functions, with the types of crewrite's host runtime (crewrite/hostrt/include/crewrite_arm.h
   defines them for host builds, which never read this file). */
#ifndef CREWRITE_ARM_ACLE_H
#define CREWRITE_ARM_ACLE_H
#include <stdint.h>
int32_t __smlad(int32_t x, int32_t y, int32_t acc);
int32_t __sxtb16(int32_t x);
int32_t __qadd8(int32_t x, int32_t y);
int32_t __ssat(int32_t x, uint32_t bits);
int32_t __smladx(int32_t x, int32_t y, int32_t acc);
int32_t __smuad(int32_t x, int32_t y);
int32_t __smuadx(int32_t x, int32_t y);
int64_t __smlald(int32_t x, int32_t y, int64_t acc);
int32_t __smlabb(int32_t x, int32_t y, int32_t acc);
int32_t __smlatt(int32_t x, int32_t y, int32_t acc);
int32_t __sxtab16(int32_t acc, int32_t x);
uint32_t __pkhbt(uint32_t a, uint32_t b, uint32_t shift);
uint32_t __pkhtb(uint32_t a, uint32_t b, uint32_t shift);
int32_t __qadd(int32_t x, int32_t y);
int32_t __qsub(int32_t x, int32_t y);
int32_t __qadd16(int32_t x, int32_t y);
int32_t __qsub16(int32_t x, int32_t y);
int32_t __qsub8(int32_t x, int32_t y);
int32_t __sadd16(int32_t x, int32_t y);
int32_t __ssub16(int32_t x, int32_t y);
uint32_t __usat(int32_t x, uint32_t bits);
uint32_t __ror(uint32_t x, uint32_t shift);
uint32_t __rev(uint32_t x);
uint32_t __clz(uint32_t x);
#define __SMLAD __smlad
#define __SXTB16 __sxtb16
#define __QADD8 __qadd8
#define __SSAT __ssat
#define __SMLADX __smladx
#define __SMUAD __smuad
#define __SMUADX __smuadx
#define __SMLALD __smlald
#define __SMLABB __smlabb
#define __SMLATT __smlatt
#define __SXTAB16 __sxtab16
#define __PKHBT __pkhbt
#define __PKHTB __pkhtb
#define __QADD __qadd
#define __QSUB __qsub
#define __QADD16 __qadd16
#define __QSUB16 __qsub16
#define __QSUB8 __qsub8
#define __SADD16 __sadd16
#define __SSUB16 __ssub16
#define __USAT __usat
#define __ROR __ror
#define __REV __rev
#define __CLZ __clz
#endif
