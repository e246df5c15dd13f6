/* crewrite's host runtime: the LIFO workspace allocator the C runtime gives a generated
   microTVM project (see crewrite_shim.h). The Arm intrinsics are in arm_intrinsics.c. */
#include "crewrite_shim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tvm/runtime/c_backend_api.h>

#ifndef CREWRITE_SHIM_ALIGN
#define CREWRITE_SHIM_ALIGN 16u
#endif
#define SHIM_ALIGN ((size_t)CREWRITE_SHIM_ALIGN)
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

void shim_fill(void* data, size_t n) {
  /* A byte that differs per call and per fill seed. Seeds 2k-1 and 2k give every call
     complementary bytes, so that two runs under such a pair differ in every bit of every
     byte nobody wrote: a value read from there cannot saturate to the same result twice
     (both positive, say, and clamped to 127 alike) and hide that it was never written. */
  uint32_t seed = shim_fill_seed();
  uint32_t x = ((seed + 1u) / 2u) * 2654435761u + (++g_fill_count) * 40503u;
  x ^= x >> 15;
  x *= 2246822519u;
  x ^= x >> 13;
  uint32_t byte = (seed % 2u == 0u) ? ~x : x;
  memset(data, (int)(byte & 0xffu), n);
}

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
    fprintf(stderr,
            "crewrite_shim: a workspace buffer of %llu bytes does not fit (%zu of %zu bytes "
            "in use)\n",
            (unsigned long long)nbytes, g_top, g_size);
    return NULL;
  }
#ifdef CREWRITE_SHIM_EXACT_MALLOC
  /* Sanitizer builds: every buffer is its own exact-size heap block, so a read or write
     past a buffer's declared end lands in AddressSanitizer's red zone. */
  uint8_t* p = (uint8_t*)malloc(nbytes == 0 ? 1 : (size_t)nbytes);
  if (p == NULL) {
    return NULL;
  }
  shim_fill(p, (size_t)nbytes);
#else
  uint8_t* p = g_base + g_top;
  shim_fill(p, (size_t)rounded);
#endif
  g_stack_off[g_depth] = g_top;
  g_stack_ptr[g_depth] = p;
  g_depth++;
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
