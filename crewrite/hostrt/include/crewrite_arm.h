/* Host stand-ins for the Arm DSP intrinsics that generated microTVM code and CMSIS-NN call,
 * written for crewrite from the instruction descriptions in the Arm Architecture Reference
 * Manual (ARMv7-M / ARMv8-M). crewrite's host builds include this header before anything
 * else (-include), so that every spelling resolves to one definition:
 *
 *   __smlad(...)                ACLE names (arm_acle.h): real functions, see arm_intrinsics.c;
 *                               weak, so a generated file that defines one itself (TVM's
 *                               micro-kernels define __ror) keeps its own
 *   __SMLAD(...)                CMSIS-Core names (cmsis_gcc.h), with CMSIS's argument and
 *                               result types
 *   __builtin_arm_smlad(...)    GCC/Clang Arm builtins
 *
 * A halfword lane is 16 bits, a byte lane 8 bits; "lo"/"b" is bits [15:0], "hi"/"t" is
 * bits [31:16]. Flags (Q, GE) are not modelled: no generated code reads them.
 */
#ifndef CREWRITE_ARM_H_
#define CREWRITE_ARM_H_
#include <stdint.h>

/* crewrite's parsing headers declare a subset of these; they are not needed any more. */
#define CREWRITE_ARM_ACLE_H

#ifdef __cplusplus
extern "C" {
#endif

/* Dual 16-bit multiplies: lo*lo + hi*hi (x: lanes of y exchanged), plus an accumulator. */
int32_t __smlad(int32_t x, int32_t y, int32_t acc);
int32_t __smladx(int32_t x, int32_t y, int32_t acc);
int32_t __smlsd(int32_t x, int32_t y, int32_t acc); /* lo*lo - hi*hi + acc */
int32_t __smlsdx(int32_t x, int32_t y, int32_t acc);
int32_t __smuad(int32_t x, int32_t y);
int32_t __smuadx(int32_t x, int32_t y);
int32_t __smusd(int32_t x, int32_t y);
int32_t __smusdx(int32_t x, int32_t y);
int64_t __smlald(int32_t x, int32_t y, int64_t acc);
int64_t __smlaldx(int32_t x, int32_t y, int64_t acc);

/* One 16x16 multiply of the chosen halves (b = bottom, t = top of x, then of y). */
int32_t __smlabb(int32_t x, int32_t y, int32_t acc);
int32_t __smlabt(int32_t x, int32_t y, int32_t acc);
int32_t __smlatb(int32_t x, int32_t y, int32_t acc);
int32_t __smlatt(int32_t x, int32_t y, int32_t acc);
int32_t __smulbb(int32_t x, int32_t y);
int32_t __smulbt(int32_t x, int32_t y);
int32_t __smultb(int32_t x, int32_t y);
int32_t __smultt(int32_t x, int32_t y);

/* Bytes 0 and 2 extended to two halfwords (and added to the halfwords of acc). */
int32_t __sxtb16(int32_t x);
int32_t __sxtab16(int32_t acc, int32_t x);
uint32_t __uxtb16(uint32_t x);
uint32_t __uxtab16(uint32_t acc, uint32_t x);

/* Halfword packing: PKHBT keeps the bottom of a and takes the top of b << shift (0..31);
   PKHTB keeps the top of a and takes the bottom of b >> shift, arithmetic (0..32). */
uint32_t __pkhbt(uint32_t a, uint32_t b, uint32_t shift);
uint32_t __pkhtb(uint32_t a, uint32_t b, uint32_t shift);

/* Lane-wise additions: q = saturating, s = modulo the lane width. */
int32_t __qadd16(int32_t x, int32_t y);
int32_t __qsub16(int32_t x, int32_t y);
int32_t __sadd16(int32_t x, int32_t y);
int32_t __ssub16(int32_t x, int32_t y);
int32_t __qadd8(int32_t x, int32_t y);
int32_t __qsub8(int32_t x, int32_t y);
int32_t __qadd(int32_t x, int32_t y);
int32_t __qsub(int32_t x, int32_t y);

/* Saturation to a signed width in 1..32 bits, or an unsigned width in 0..31 bits. */
int32_t __ssat(int32_t x, uint32_t bits);
uint32_t __usat(int32_t x, uint32_t bits);

uint32_t __ror(uint32_t x, uint32_t n); /* rotate right by n mod 32 */
uint32_t __clz(uint32_t x);             /* leading zero bits; 32 for 0 */
uint32_t __rev(uint32_t x);             /* bytes reversed */

#ifdef __cplusplus
}
#endif

/* CMSIS-Core spellings, with CMSIS's types. */
#define __SMLAD(x, y, a) ((uint32_t)__smlad((int32_t)(x), (int32_t)(y), (int32_t)(a)))
#define __SMLADX(x, y, a) ((uint32_t)__smladx((int32_t)(x), (int32_t)(y), (int32_t)(a)))
#define __SMLSD(x, y, a) ((uint32_t)__smlsd((int32_t)(x), (int32_t)(y), (int32_t)(a)))
#define __SMLSDX(x, y, a) ((uint32_t)__smlsdx((int32_t)(x), (int32_t)(y), (int32_t)(a)))
#define __SMUAD(x, y) ((uint32_t)__smuad((int32_t)(x), (int32_t)(y)))
#define __SMUADX(x, y) ((uint32_t)__smuadx((int32_t)(x), (int32_t)(y)))
#define __SMUSD(x, y) ((uint32_t)__smusd((int32_t)(x), (int32_t)(y)))
#define __SMUSDX(x, y) ((uint32_t)__smusdx((int32_t)(x), (int32_t)(y)))
#define __SMLALD(x, y, a) ((uint64_t)__smlald((int32_t)(x), (int32_t)(y), (int64_t)(a)))
#define __SMLALDX(x, y, a) ((uint64_t)__smlaldx((int32_t)(x), (int32_t)(y), (int64_t)(a)))
#define __SMLABB(x, y, a) __smlabb((int32_t)(x), (int32_t)(y), (int32_t)(a))
#define __SMLABT(x, y, a) __smlabt((int32_t)(x), (int32_t)(y), (int32_t)(a))
#define __SMLATB(x, y, a) __smlatb((int32_t)(x), (int32_t)(y), (int32_t)(a))
#define __SMLATT(x, y, a) __smlatt((int32_t)(x), (int32_t)(y), (int32_t)(a))
#define __SXTB16(x) ((uint32_t)__sxtb16((int32_t)(x)))
#define __SXTB16_RORn(x, n) ((uint32_t)__sxtb16((int32_t)__ror((uint32_t)(x), (uint32_t)(n))))
#define __SXTAB16(a, x) ((uint32_t)__sxtab16((int32_t)(a), (int32_t)(x)))
#define __SXTAB16_RORn(a, x, n) \
  ((uint32_t)__sxtab16((int32_t)(a), (int32_t)__ror((uint32_t)(x), (uint32_t)(n))))
#define __UXTB16(x) __uxtb16((uint32_t)(x))
#define __UXTAB16(a, x) __uxtab16((uint32_t)(a), (uint32_t)(x))
#define __PKHBT(a, b, s) __pkhbt((uint32_t)(a), (uint32_t)(b), (uint32_t)(s))
#define __PKHTB(a, b, s) __pkhtb((uint32_t)(a), (uint32_t)(b), (uint32_t)(s))
#define __QADD16(x, y) ((uint32_t)__qadd16((int32_t)(x), (int32_t)(y)))
#define __QSUB16(x, y) ((uint32_t)__qsub16((int32_t)(x), (int32_t)(y)))
#define __SADD16(x, y) ((uint32_t)__sadd16((int32_t)(x), (int32_t)(y)))
#define __SSUB16(x, y) ((uint32_t)__ssub16((int32_t)(x), (int32_t)(y)))
#define __QADD8(x, y) ((uint32_t)__qadd8((int32_t)(x), (int32_t)(y)))
#define __QSUB8(x, y) ((uint32_t)__qsub8((int32_t)(x), (int32_t)(y)))
#define __QADD(x, y) __qadd((int32_t)(x), (int32_t)(y))
#define __QSUB(x, y) __qsub((int32_t)(x), (int32_t)(y))
#define __SSAT(x, n) __ssat((int32_t)(x), (uint32_t)(n))
#define __USAT(x, n) __usat((int32_t)(x), (uint32_t)(n))
#define __ROR(x, n) __ror((uint32_t)(x), (uint32_t)(n))
#define __CLZ(x) ((uint8_t)__clz((uint32_t)(x)))
#define __REV(x) __rev((uint32_t)(x))

/* GCC / Clang Arm builtins. */
#define __builtin_arm_smlad __smlad
#define __builtin_arm_smladx __smladx
#define __builtin_arm_smlsd __smlsd
#define __builtin_arm_smlsdx __smlsdx
#define __builtin_arm_smuad __smuad
#define __builtin_arm_smuadx __smuadx
#define __builtin_arm_smusd __smusd
#define __builtin_arm_smusdx __smusdx
#define __builtin_arm_smlald __smlald
#define __builtin_arm_smlaldx __smlaldx
#define __builtin_arm_smlabb __smlabb
#define __builtin_arm_smlabt __smlabt
#define __builtin_arm_smlatb __smlatb
#define __builtin_arm_smlatt __smlatt
#define __builtin_arm_smulbb __smulbb
#define __builtin_arm_smulbt __smulbt
#define __builtin_arm_smultb __smultb
#define __builtin_arm_smultt __smultt
#define __builtin_arm_sxtb16 __sxtb16
#define __builtin_arm_sxtab16 __sxtab16
#define __builtin_arm_uxtb16 __uxtb16
#define __builtin_arm_uxtab16 __uxtab16
#define __builtin_arm_qadd16 __qadd16
#define __builtin_arm_qsub16 __qsub16
#define __builtin_arm_sadd16 __sadd16
#define __builtin_arm_ssub16 __ssub16
#define __builtin_arm_qadd8 __qadd8
#define __builtin_arm_qsub8 __qsub8
#define __builtin_arm_qadd __qadd
#define __builtin_arm_qsub __qsub
#define __builtin_arm_ssat __ssat
#define __builtin_arm_usat __usat

#endif
