/* The shape of the helpers TVM's native arm_cpu (DSP) schedules put into generated code: a
 * file-local definition of __ror guarded by a macro, and a read_and_pad helper that widens
 * four int8 values into two words of int16 pairs with __sxtb16, __ror, __pkhbt and __pkhtb,
 * followed by __smlad dot products. Written for crewrite's tests in that style; checked
 * against plain C. The file's own __ror must win over crewrite's weak one. */
#include <arm_acle.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifndef MY_ROR_DEFINED
#define MY_ROR_DEFINED
__attribute__((always_inline)) uint32_t __ror(uint32_t value, uint32_t amount) {
  amount %= 32U;
  return amount == 0U ? value : (value >> amount) | (value << (32U - amount));
}
#endif

__attribute__((always_inline)) static inline const int8_t* widen4(const int8_t* src,
                                                                   int32_t* first,
                                                                   int32_t* second) {
  int32_t word;
  memcpy(&word, src, 4);
  int32_t odd = __sxtb16(__ror((uint32_t)word, 8));
  int32_t even = __sxtb16(word);
  *second = (int32_t)__pkhtb(odd, even, 16);
  *first = (int32_t)__pkhbt(even, odd, 16);
  return src + 4;
}

int main(void) {
  long checked = 0, failed = 0;
  int8_t a[64], b[64];
  uint32_t state = 7u;
  for (int round = 0; round < 500; ++round) {
    for (int i = 0; i < 64; ++i) {
      state = state * 1103515245u + 12345u;
      a[i] = (int8_t)(state >> 24);
      state = state * 1103515245u + 12345u;
      b[i] = (int8_t)(state >> 24);
    }
    int16_t wide_a[64], wide_b[64];
    for (int i = 0; i < 64; i += 4) {
      widen4(&a[i], (int32_t*)&wide_a[i], (int32_t*)&wide_a[i + 2]);
      widen4(&b[i], (int32_t*)&wide_b[i], (int32_t*)&wide_b[i + 2]);
    }
    int32_t plain = 0, dsp = 0;
    for (int i = 0; i < 64; ++i) {
      ++checked;
      if (wide_a[i] != a[i] || wide_b[i] != b[i]) ++failed;
      plain += (int32_t)a[i] * (int32_t)b[i];
    }
    const int32_t* pa = (const int32_t*)wide_a;
    const int32_t* pb = (const int32_t*)wide_b;
    for (int i = 0; i < 32; ++i) dsp = __smlad(pa[i], pb[i], dsp);
    ++checked;
    if (dsp != plain) ++failed;
  }
  ++checked;
  if (__ror(0x12345678u, 8) != 0x78123456u) ++failed;
  printf("checked %ld failed %ld\n", checked, failed);
  return failed == 0 ? 0 : 1;
}
