/* crewrite's host Arm intrinsics (crewrite/hostrt) against plain formulas: every lane taken
 * out by division and remainder on 64-bit integers, computed exactly, and put back modulo
 * its width or clamped. Each intrinsic is checked in all its spellings (ACLE, CMSIS-Core,
 * GCC builtin) on edge values and on pseudo-random ones. Prints "checked N failed M" and
 * the first failures; exits 1 if any failed. Built with -fsanitize=undefined by the test. */
#include <arm_acle.h>
#include <stdint.h>
#include <stdio.h>

static long checked, failed;

static void expect(const char* what, int64_t got, int64_t want, uint32_t x, uint32_t y,
                   uint32_t z) {
  ++checked;
  if (got != want) {
    if (++failed <= 10) {
      printf("%s(0x%08x, 0x%08x, 0x%08x): got %lld want %lld\n", what, x, y, z, (long long)got,
             (long long)want);
    }
  }
}

/* Lanes as numbers. */
static int64_t half(uint32_t x, int top) {
  int64_t v = top ? (int64_t)(x / 65536u) : (int64_t)(x % 65536u);
  return v >= 32768 ? v - 65536 : v;
}
static int64_t sbyte(uint32_t x, int k) {
  uint32_t scale = 1u;
  for (int i = 0; i < k; ++i) scale *= 256u;
  int64_t v = (int64_t)((x / scale) % 256u);
  return v >= 128 ? v - 256 : v;
}
static int64_t ubyte(uint32_t x, int k) { return sbyte(x, k) < 0 ? sbyte(x, k) + 256 : sbyte(x, k); }
static int64_t modulo(int64_t v, int64_t m) { return ((v % m) + m) % m; }
static int64_t as_int32(int64_t v) {
  int64_t u = modulo(v, 4294967296LL);
  return u >= 2147483648LL ? u - 4294967296LL : u;
}
static int64_t as_uint32(int64_t v) { return modulo(v, 4294967296LL); }
static int64_t pack16(int64_t hi, int64_t lo) {
  return as_int32(modulo(hi, 65536) * 65536 + modulo(lo, 65536));
}
static int64_t pack8(int64_t b3, int64_t b2, int64_t b1, int64_t b0) {
  return as_int32(((modulo(b3, 256) * 256 + modulo(b2, 256)) * 256 + modulo(b1, 256)) * 256 +
                  modulo(b0, 256));
}
static int64_t clamp(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : (v > hi ? hi : v); }
static int64_t pow2(int n) {
  int64_t p = 1;
  for (int i = 0; i < n; ++i) p *= 2;
  return p;
}
static int64_t floor_div(int64_t a, int64_t b) {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

static void check(uint32_t x, uint32_t y, uint32_t z) {
  int32_t a = (int32_t)x, b = (int32_t)y, c = (int32_t)z;
  int64_t xl = half(x, 0), xh = half(x, 1), yl = half(y, 0), yh = half(y, 1);
  int64_t acc64 = (int64_t)(((uint64_t)x << 32) | z);

  int64_t want = as_int32(xl * yl + xh * yh + c);
  expect("__smlad", __smlad(a, b, c), want, x, y, z);
  expect("__SMLAD", (int32_t)__SMLAD(x, y, z), want, x, y, z);
  expect("__builtin_arm_smlad", __builtin_arm_smlad(a, b, c), want, x, y, z);
  want = as_int32(xl * yh + xh * yl + c);
  expect("__smladx", __smladx(a, b, c), want, x, y, z);
  expect("__SMLADX", (int32_t)__SMLADX(x, y, z), want, x, y, z);
  want = as_int32(xl * yl - xh * yh + c);
  expect("__smlsd", __smlsd(a, b, c), want, x, y, z);
  expect("__SMLSD", (int32_t)__SMLSD(x, y, z), want, x, y, z);
  expect("__smlsdx", __smlsdx(a, b, c), as_int32(xl * yh - xh * yl + c), x, y, z);
  expect("__smuad", __smuad(a, b), as_int32(xl * yl + xh * yh), x, y, z);
  expect("__SMUAD", (int32_t)__SMUAD(x, y), as_int32(xl * yl + xh * yh), x, y, z);
  expect("__smuadx", __smuadx(a, b), as_int32(xl * yh + xh * yl), x, y, z);
  expect("__smusd", __smusd(a, b), as_int32(xl * yl - xh * yh), x, y, z);
  expect("__smusdx", __smusdx(a, b), as_int32(xl * yh - xh * yl), x, y, z);
  /* 64-bit accumulate: compared modulo 2^64 through unsigned arithmetic */
  uint64_t want64 = (uint64_t)acc64 + (uint64_t)(xl * yl) + (uint64_t)(xh * yh);
  expect("__smlald", (int64_t)((uint64_t)__smlald(a, b, acc64) ^ want64), 0, x, y, z);
  expect("__SMLALD", (int64_t)(__SMLALD(x, y, (uint64_t)acc64) ^ want64), 0, x, y, z);
  want64 = (uint64_t)acc64 + (uint64_t)(xl * yh) + (uint64_t)(xh * yl);
  expect("__smlaldx", (int64_t)((uint64_t)__smlaldx(a, b, acc64) ^ want64), 0, x, y, z);

  expect("__smlabb", __smlabb(a, b, c), as_int32(xl * yl + c), x, y, z);
  expect("__builtin_arm_smlabb", __builtin_arm_smlabb(a, b, c), as_int32(xl * yl + c), x, y, z);
  expect("__smlabt", __smlabt(a, b, c), as_int32(xl * yh + c), x, y, z);
  expect("__builtin_arm_smlabt", __builtin_arm_smlabt(a, b, c), as_int32(xl * yh + c), x, y, z);
  expect("__smlatb", __smlatb(a, b, c), as_int32(xh * yl + c), x, y, z);
  expect("__builtin_arm_smlatb", __builtin_arm_smlatb(a, b, c), as_int32(xh * yl + c), x, y, z);
  expect("__smlatt", __smlatt(a, b, c), as_int32(xh * yh + c), x, y, z);
  expect("__builtin_arm_smlatt", __builtin_arm_smlatt(a, b, c), as_int32(xh * yh + c), x, y, z);
  expect("__smulbb", __smulbb(a, b), xl * yl, x, y, z);
  expect("__smulbt", __smulbt(a, b), xl * yh, x, y, z);
  expect("__smultb", __smultb(a, b), xh * yl, x, y, z);
  expect("__smultt", __smultt(a, b), xh * yh, x, y, z);

  want = pack16(sbyte(x, 2), sbyte(x, 0));
  expect("__sxtb16", __sxtb16(a), want, x, y, z);
  expect("__SXTB16", (int32_t)__SXTB16(x), want, x, y, z);
  expect("__builtin_arm_sxtb16", __builtin_arm_sxtb16(a), want, x, y, z);
  want = pack16(half(y, 1) + sbyte(x, 2), half(y, 0) + sbyte(x, 0));
  expect("__sxtab16", __sxtab16(b, a), want, x, y, z);
  expect("__SXTAB16", (int32_t)__SXTAB16(y, x), want, x, y, z);
  expect("__uxtb16", (int32_t)__uxtb16(x), pack16(ubyte(x, 2), ubyte(x, 0)), x, y, z);
  want = pack16((int64_t)(y / 65536u) + ubyte(x, 2), (int64_t)(y % 65536u) + ubyte(x, 0));
  expect("__uxtab16", (int32_t)__uxtab16(y, x), want, x, y, z);
  int rot = (int)(z % 4u) * 8; /* the rotations the instruction encodes: 0, 8, 16, 24 */
  uint32_t rotated = rot == 0 ? x : (x >> rot) | (x << (32 - rot));
  want = pack16(sbyte(rotated, 2), sbyte(rotated, 0));
  expect("__SXTB16_RORn", (int32_t)__SXTB16_RORn(x, rot), want, x, y, (uint32_t)rot);

  int64_t sum_hi = xh + yh, sum_lo = xl + yl, dif_hi = xh - yh, dif_lo = xl - yl;
  want = pack16(clamp(sum_hi, -32768, 32767), clamp(sum_lo, -32768, 32767));
  expect("__qadd16", __qadd16(a, b), want, x, y, z);
  expect("__QADD16", (int32_t)__QADD16(x, y), want, x, y, z);
  want = pack16(clamp(dif_hi, -32768, 32767), clamp(dif_lo, -32768, 32767));
  expect("__qsub16", __qsub16(a, b), want, x, y, z);
  expect("__QSUB16", (int32_t)__QSUB16(x, y), want, x, y, z);
  expect("__sadd16", __sadd16(a, b), pack16(sum_hi, sum_lo), x, y, z);
  expect("__ssub16", __ssub16(a, b), pack16(dif_hi, dif_lo), x, y, z);
  int64_t q[4], s[4];
  for (int k = 0; k < 4; ++k) {
    q[k] = clamp(sbyte(x, k) + sbyte(y, k), -128, 127);
    s[k] = clamp(sbyte(x, k) - sbyte(y, k), -128, 127);
  }
  expect("__qadd8", __qadd8(a, b), pack8(q[3], q[2], q[1], q[0]), x, y, z);
  expect("__QADD8", (int32_t)__QADD8(x, y), pack8(q[3], q[2], q[1], q[0]), x, y, z);
  expect("__qsub8", __qsub8(a, b), pack8(s[3], s[2], s[1], s[0]), x, y, z);
  want = clamp((int64_t)a + b, INT32_MIN, INT32_MAX);
  expect("__qadd", __qadd(a, b), want, x, y, z);
  expect("__QADD", __QADD(a, b), want, x, y, z);
  expect("__qsub", __qsub(a, b), clamp((int64_t)a - b, INT32_MIN, INT32_MAX), x, y, z);

  for (int n = 0; n <= 32; ++n) {
    if (n <= 31) {
      want = as_int32(modulo(x, 65536) + modulo(as_uint32((int64_t)y * pow2(n)) / 65536, 65536) * 65536);
      expect("__pkhbt", (int32_t)__pkhbt(x, y, (uint32_t)n), want, x, y, (uint32_t)n);
      expect("__PKHBT", (int32_t)__PKHBT(x, y, n), want, x, y, (uint32_t)n);
    }
    want = as_int32((int64_t)(x / 65536u) * 65536 + modulo(floor_div(b, pow2(n)), 65536));
    expect("__pkhtb", (int32_t)__pkhtb(x, y, (uint32_t)n), want, x, y, (uint32_t)n);
    expect("__PKHTB", (int32_t)__PKHTB(x, y, n), want, x, y, (uint32_t)n);
    if (n >= 1) {
      want = clamp(a, -pow2(n - 1), pow2(n - 1) - 1);
      expect("__ssat", __ssat(a, (uint32_t)n), want, x, (uint32_t)n, 0);
      expect("__SSAT", __SSAT(a, n), want, x, (uint32_t)n, 0);
    }
    if (n <= 31) {
      want = clamp(a, 0, pow2(n) - 1);
      expect("__usat", __usat(a, (uint32_t)n), want, x, (uint32_t)n, 0);
      expect("__USAT", __USAT(a, n), want, x, (uint32_t)n, 0);
    }
  }
  for (int n = 0; n < 40; ++n) {
    int r = n % 32;
    want = (int64_t)(x % (uint32_t)pow2(r)) * pow2(32 - r) + (int64_t)(x / (uint32_t)pow2(r));
    expect("__ror", __ror(x, (uint32_t)n), as_uint32(want), x, (uint32_t)n, 0);
    expect("__ROR", __ROR(x, n), as_uint32(want), x, (uint32_t)n, 0);
  }
  int lead = 0;
  while (lead < 32 && x < (uint32_t)(pow2(31 - lead))) ++lead;
  expect("__clz", __clz(x), lead, x, 0, 0);
  expect("__rev", __rev(x), as_uint32(ubyte(x, 0) * pow2(24) + ubyte(x, 1) * 65536 + ubyte(x, 2) * 256 + ubyte(x, 3)), x, 0, 0);
}

int main(void) {
  static const uint32_t edges[] = {
      0u,          1u,          0xffffffffu, 0x7fffu,     0x8000u,     0xffffu,
      0x10000u,    0x7fff7fffu, 0x80008000u, 0x80000000u, 0x7fffffffu, 0xffff0000u,
      0x807f7f80u, 0x7f80807fu, 0x00ff00ffu, 0xff00ff00u, 0x01010101u, 0xfefefefeu,
  };
  const int n = (int)(sizeof(edges) / sizeof(edges[0]));
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < n; ++j) {
      check(edges[i], edges[j], edges[(i + j) % n]);
    }
  }
  uint32_t state = 12345u;
  for (int i = 0; i < 4000; ++i) {
    uint32_t r[3];
    for (int k = 0; k < 3; ++k) {
      state = state * 1664525u + 1013904223u;
      r[k] = state ^ (state >> 15);
    }
    check(r[0], r[1], r[2]);
  }
  printf("checked %ld failed %ld\n", checked, failed);
  return failed == 0 ? 0 : 1;
}
