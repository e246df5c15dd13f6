/* Host runtime shim for crewrite fixtures: a LIFO workspace allocator and host definitions
   of the Arm DSP intrinsics declared in fake_libc_include/cmsis/arm_acle.h. */
#include "crewrite_shim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tvm/runtime/c_backend_api.h>
#include <arm_acle.h>

#define SHIM_ALIGN 16u
#define SHIM_MAX_DEPTH 1024

static uint8_t* g_base;
static size_t g_size;
static size_t g_top;
static size_t g_peak;
static size_t g_calls;
static size_t g_depth;
static size_t g_stack_off[SHIM_MAX_DEPTH];
static uint8_t* g_stack_ptr[SHIM_MAX_DEPTH];
static uint32_t g_fill_seed;
static uint32_t g_fill_count; /* never reset: every allocation of the process is distinct */
static int g_fill_ready;

static uint32_t shim_fill_seed(void) {
  if (!g_fill_ready) {
    const char* s = getenv("CREWRITE_FILL_SEED");
    g_fill_seed = (s != NULL && *s != '\0') ? (uint32_t)strtoul(s, NULL, 0) : 1u;
    g_fill_ready = 1;
  }
  return g_fill_seed;
}

void shim_workspace_init(uint8_t* pool, size_t size) {
  uintptr_t p = (uintptr_t)pool;
  uintptr_t aligned = (p + (SHIM_ALIGN - 1)) & ~(uintptr_t)(SHIM_ALIGN - 1);
  size_t lost = (size_t)(aligned - p);
  g_base = (uint8_t*)aligned;
  g_size = (pool == NULL || size < lost) ? 0 : size - lost;
  g_top = 0;
  g_peak = 0;
  g_calls = 0;
  g_depth = 0;
  (void)shim_fill_seed();
}

size_t shim_workspace_peak(void) { return g_peak; }
size_t shim_workspace_calls(void) { return g_calls; }
size_t shim_workspace_in_use(void) { return g_top; }

void* TVMBackendAllocWorkspace(int device_type, int device_id, uint64_t nbytes,
                               int dtype_code_hint, int dtype_bits_hint) {
  (void)device_type;
  (void)device_id;
  (void)dtype_code_hint;
  (void)dtype_bits_hint;
  g_calls++;
  uint64_t rounded = (nbytes + (SHIM_ALIGN - 1)) & ~(uint64_t)(SHIM_ALIGN - 1);
  if (g_depth >= SHIM_MAX_DEPTH) {
    fprintf(stderr, "crewrite_shim: more than %d live workspace buffers\n", SHIM_MAX_DEPTH);
    abort();
  }
  if (g_base == NULL || rounded > (uint64_t)(g_size - g_top)) {
    return NULL;
  }
#ifdef CREWRITE_SHIM_EXACT_MALLOC
  /* Debug builds (with -fsanitize=address): every buffer is its own exact-size heap block so
     a read or write past a buffer's declared end is reported. Accounting is unchanged. */
  uint8_t* p = (uint8_t*)malloc(nbytes == 0 ? 1 : (size_t)nbytes);
  if (p == NULL) {
    return NULL;
  }
  rounded = nbytes;
#else
  uint8_t* p = g_base + g_top;
#endif
  /* A byte that differs per allocation and per fill seed (never 0 for two runs alike). */
  uint32_t x = shim_fill_seed() * 2654435761u + (++g_fill_count) * 40503u;
  x ^= x >> 15;
  x *= 2246822519u;
  x ^= x >> 13;
  memset(p, (int)(x & 0xffu), (size_t)rounded);
  g_stack_off[g_depth] = g_top;
  g_stack_ptr[g_depth] = p;
  g_depth++;
#ifdef CREWRITE_SHIM_EXACT_MALLOC
  rounded = (nbytes + (SHIM_ALIGN - 1)) & ~(uint64_t)(SHIM_ALIGN - 1);
#endif
  g_top += (size_t)rounded;
  if (g_top > g_peak) {
    g_peak = g_top;
  }
  return p;
}

int TVMBackendFreeWorkspace(int device_type, int device_id, void* ptr) {
  (void)device_type;
  (void)device_id;
  if (g_depth == 0) {
    fprintf(stderr, "crewrite_shim: TVMBackendFreeWorkspace(%p) with nothing allocated\n", ptr);
    abort();
  }
  if (g_stack_ptr[g_depth - 1] != (uint8_t*)ptr) {
    fprintf(stderr,
            "crewrite_shim: TVMBackendFreeWorkspace(%p) is not LIFO: the last live buffer is "
            "%p\n",
            ptr, (void*)g_stack_ptr[g_depth - 1]);
    abort();
  }
  g_depth--;
  g_top = g_stack_off[g_depth];
#ifdef CREWRITE_SHIM_EXACT_MALLOC
  free(ptr);
#endif
  return 0;
}

void TVMAPISetLastError(const char* msg) { fprintf(stderr, "TVMAPISetLastError: %s\n", msg); }
const char* TVMGetLastError(void) { return ""; }

/* ---- Arm DSP intrinsics, host definitions ---- */

static int32_t shim_lo16(int32_t x) { return (int32_t)(int16_t)(uint16_t)((uint32_t)x & 0xffffu); }
static int32_t shim_hi16(int32_t x) { return (int32_t)(int16_t)(uint16_t)((uint32_t)x >> 16); }

/* Dual 16-bit signed multiply with addition of the two products to the accumulator. */
int32_t __smlad(int32_t x, int32_t y, int32_t acc) {
  return (int32_t)((uint32_t)acc + (uint32_t)(shim_lo16(x) * shim_lo16(y)) +
                   (uint32_t)(shim_hi16(x) * shim_hi16(y)));
}

/* Sign-extend bytes 0 and 2 into two halfwords. */
int32_t __sxtb16(int32_t x) {
  uint32_t u = (uint32_t)x;
  uint32_t lo = (uint32_t)(uint16_t)(int16_t)(int8_t)(uint8_t)(u & 0xffu);
  uint32_t hi = (uint32_t)(uint16_t)(int16_t)(int8_t)(uint8_t)((u >> 16) & 0xffu);
  return (int32_t)(lo | (hi << 16));
}

/* Four saturating signed 8-bit additions. */
int32_t __qadd8(int32_t x, int32_t y) {
  uint32_t r = 0;
  for (int i = 0; i < 4; ++i) {
    int32_t a = (int8_t)(uint8_t)(((uint32_t)x >> (8 * i)) & 0xffu);
    int32_t b = (int8_t)(uint8_t)(((uint32_t)y >> (8 * i)) & 0xffu);
    int32_t s = a + b;
    s = s > 127 ? 127 : (s < -128 ? -128 : s);
    r |= ((uint32_t)(uint8_t)(int8_t)s) << (8 * i);
  }
  return (int32_t)r;
}

/* Signed saturation to a bit width in 1..32. */
int32_t __ssat(int32_t x, uint32_t bits) {
  if (bits == 0 || bits >= 32) {
    return x;
  }
  int64_t hi = ((int64_t)1 << (bits - 1)) - 1;
  int64_t lo = -((int64_t)1 << (bits - 1));
  return (int32_t)(x > hi ? hi : (x < lo ? lo : x));
}
