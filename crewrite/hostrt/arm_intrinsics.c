/* Arm DSP intrinsics on the host, written for crewrite from the instruction descriptions
 * of the Arm Architecture Reference Manual (SMLAD, SXTB16, PKHBT, QADD16, SSAT, ...): each
 * lane is taken out with shifts and masks, computed wide enough never to overflow, and put
 * back modulo its width (or saturated, for the Q forms). Weak, so that a generated file
 * defining one of these names itself (TVM's micro-kernels define __ror) keeps its own.
 * Declared in include/crewrite_arm.h. */
#include <stdint.h>

#include "crewrite_arm.h"

#define WEAK __attribute__((weak))

static int32_t lo16(int32_t x) { return (int32_t)(int16_t)(uint16_t)((uint32_t)x & 0xffffu); }
static int32_t hi16(int32_t x) { return (int32_t)(int16_t)(uint16_t)((uint32_t)x >> 16); }
static int32_t byte_s(int32_t x, int lane) {
  return (int32_t)(int8_t)(uint8_t)(((uint32_t)x >> (8 * lane)) & 0xffu);
}
static uint32_t byte_u(uint32_t x, int lane) { return (x >> (8 * lane)) & 0xffu; }
static uint32_t halves(int64_t hi, int64_t lo) {
  return (((uint32_t)(uint64_t)hi & 0xffffu) << 16) | ((uint32_t)(uint64_t)lo & 0xffffu);
}
static int32_t wrap32(int64_t v) { return (int32_t)(uint32_t)(uint64_t)v; }
static int64_t clamp(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : (v > hi ? hi : v); }

WEAK int32_t __smlad(int32_t x, int32_t y, int32_t acc) {
  return wrap32((int64_t)lo16(x) * lo16(y) + (int64_t)hi16(x) * hi16(y) + acc);
}
WEAK int32_t __smladx(int32_t x, int32_t y, int32_t acc) {
  return wrap32((int64_t)lo16(x) * hi16(y) + (int64_t)hi16(x) * lo16(y) + acc);
}
WEAK int32_t __smlsd(int32_t x, int32_t y, int32_t acc) {
  return wrap32((int64_t)lo16(x) * lo16(y) - (int64_t)hi16(x) * hi16(y) + acc);
}
WEAK int32_t __smlsdx(int32_t x, int32_t y, int32_t acc) {
  return wrap32((int64_t)lo16(x) * hi16(y) - (int64_t)hi16(x) * lo16(y) + acc);
}
WEAK int32_t __smuad(int32_t x, int32_t y) { return __smlad(x, y, 0); }
WEAK int32_t __smuadx(int32_t x, int32_t y) { return __smladx(x, y, 0); }
WEAK int32_t __smusd(int32_t x, int32_t y) { return __smlsd(x, y, 0); }
WEAK int32_t __smusdx(int32_t x, int32_t y) { return __smlsdx(x, y, 0); }
WEAK int64_t __smlald(int32_t x, int32_t y, int64_t acc) {
  uint64_t sum = (uint64_t)acc + (uint64_t)((int64_t)lo16(x) * lo16(y)) +
                 (uint64_t)((int64_t)hi16(x) * hi16(y));
  return (int64_t)sum;
}
WEAK int64_t __smlaldx(int32_t x, int32_t y, int64_t acc) {
  uint64_t sum = (uint64_t)acc + (uint64_t)((int64_t)lo16(x) * hi16(y)) +
                 (uint64_t)((int64_t)hi16(x) * lo16(y));
  return (int64_t)sum;
}

WEAK int32_t __smlabb(int32_t x, int32_t y, int32_t acc) {
  return wrap32((int64_t)lo16(x) * lo16(y) + acc);
}
WEAK int32_t __smlabt(int32_t x, int32_t y, int32_t acc) {
  return wrap32((int64_t)lo16(x) * hi16(y) + acc);
}
WEAK int32_t __smlatb(int32_t x, int32_t y, int32_t acc) {
  return wrap32((int64_t)hi16(x) * lo16(y) + acc);
}
WEAK int32_t __smlatt(int32_t x, int32_t y, int32_t acc) {
  return wrap32((int64_t)hi16(x) * hi16(y) + acc);
}
WEAK int32_t __smulbb(int32_t x, int32_t y) { return __smlabb(x, y, 0); }
WEAK int32_t __smulbt(int32_t x, int32_t y) { return __smlabt(x, y, 0); }
WEAK int32_t __smultb(int32_t x, int32_t y) { return __smlatb(x, y, 0); }
WEAK int32_t __smultt(int32_t x, int32_t y) { return __smlatt(x, y, 0); }

WEAK int32_t __sxtb16(int32_t x) { return (int32_t)halves(byte_s(x, 2), byte_s(x, 0)); }
WEAK int32_t __sxtab16(int32_t acc, int32_t x) {
  return (int32_t)halves((int64_t)hi16(acc) + byte_s(x, 2), (int64_t)lo16(acc) + byte_s(x, 0));
}
WEAK uint32_t __uxtb16(uint32_t x) { return halves(byte_u(x, 2), byte_u(x, 0)); }
WEAK uint32_t __uxtab16(uint32_t acc, uint32_t x) {
  return halves((int64_t)(acc >> 16) + byte_u(x, 2), (int64_t)(acc & 0xffffu) + byte_u(x, 0));
}

WEAK uint32_t __pkhbt(uint32_t a, uint32_t b, uint32_t shift) {
  uint32_t shifted = shift >= 32 ? 0u : b << shift;
  return (shifted & 0xffff0000u) | (a & 0xffffu);
}
WEAK uint32_t __pkhtb(uint32_t a, uint32_t b, uint32_t shift) {
  int64_t value = (int64_t)(int32_t)b;
  /* arithmetic shift right: floor division by 2^shift, all sign bits from 32 on */
  int64_t shifted = shift >= 32 ? (value < 0 ? -1 : 0) : value >> shift;
  return (a & 0xffff0000u) | ((uint32_t)(uint64_t)shifted & 0xffffu);
}

WEAK int32_t __qadd16(int32_t x, int32_t y) {
  return (int32_t)halves(clamp((int64_t)hi16(x) + hi16(y), INT16_MIN, INT16_MAX),
                         clamp((int64_t)lo16(x) + lo16(y), INT16_MIN, INT16_MAX));
}
WEAK int32_t __qsub16(int32_t x, int32_t y) {
  return (int32_t)halves(clamp((int64_t)hi16(x) - hi16(y), INT16_MIN, INT16_MAX),
                         clamp((int64_t)lo16(x) - lo16(y), INT16_MIN, INT16_MAX));
}
WEAK int32_t __sadd16(int32_t x, int32_t y) {
  return (int32_t)halves((int64_t)hi16(x) + hi16(y), (int64_t)lo16(x) + lo16(y));
}
WEAK int32_t __ssub16(int32_t x, int32_t y) {
  return (int32_t)halves((int64_t)hi16(x) - hi16(y), (int64_t)lo16(x) - lo16(y));
}
static int32_t bytewise(int32_t x, int32_t y, int sign) {
  uint32_t r = 0;
  for (int lane = 0; lane < 4; ++lane) {
    int64_t v = clamp((int64_t)byte_s(x, lane) + sign * byte_s(y, lane), INT8_MIN, INT8_MAX);
    r |= ((uint32_t)(uint64_t)v & 0xffu) << (8 * lane);
  }
  return (int32_t)r;
}
WEAK int32_t __qadd8(int32_t x, int32_t y) { return bytewise(x, y, 1); }
WEAK int32_t __qsub8(int32_t x, int32_t y) { return bytewise(x, y, -1); }
WEAK int32_t __qadd(int32_t x, int32_t y) {
  return (int32_t)clamp((int64_t)x + y, INT32_MIN, INT32_MAX);
}
WEAK int32_t __qsub(int32_t x, int32_t y) {
  return (int32_t)clamp((int64_t)x - y, INT32_MIN, INT32_MAX);
}

WEAK int32_t __ssat(int32_t x, uint32_t bits) {
  if (bits == 0 || bits >= 32) {
    return x;
  }
  int64_t top = ((int64_t)1 << (bits - 1)) - 1;
  return (int32_t)clamp(x, -top - 1, top);
}
WEAK uint32_t __usat(int32_t x, uint32_t bits) {
  int64_t top = bits >= 32 ? (int64_t)UINT32_MAX : ((int64_t)1 << bits) - 1;
  return (uint32_t)clamp(x, 0, top);
}

WEAK uint32_t __ror(uint32_t x, uint32_t n) {
  n %= 32u;
  return n == 0 ? x : (x >> n) | (x << (32u - n));
}
WEAK uint32_t __clz(uint32_t x) {
  uint32_t n = 0;
  for (uint32_t bit = 0x80000000u; bit != 0 && (x & bit) == 0; bit >>= 1) {
    ++n;
  }
  return n;
}
WEAK uint32_t __rev(uint32_t x) {
  return (x >> 24) | ((x >> 8) & 0xff00u) | ((x << 8) & 0xff0000u) | (x << 24);
}
