/* crewrite verify's driver: runs every module of a generated project on seeded inputs and
 * writes every output byte to stdout, for the original and the rewritten build alike.
 *
 *   driver SEED...        (CREWRITE_FILL_SEED in the environment picks the workspace fill)
 *
 * stdout: for each seed, for each module, its outputs in table order, raw bytes.
 * stderr: "crewrite-stat module=M seed=S peak=P calls=C" after each run, and one
 * "crewrite-error: ..." line before a non-zero exit (3) when a run fails, leaves workspace
 * allocated, or writes past a tensor the driver handed it. Each tensor is followed by
 * GUARD bytes of a known pattern (none under sanitizers, whose red zones do that job).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crewrite_shim.h"
#include "crewrite_verify.h"

#ifdef CREWRITE_SANITIZE
#define GUARD 0u
#else
#define GUARD 64u
#endif
#ifndef CREWRITE_POOL_BYTES
#define CREWRITE_POOL_BYTES (16u << 20)
#endif

static uint8_t guard_byte(size_t i) { return (uint8_t)(0xa5u ^ (i * 29u)); }

static uint64_t next_random(uint64_t* state) {
  /* splitmix64 */
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static void fill_input(uint8_t* data, const crewrite_tensor* t, unsigned long seed, int index) {
  uint64_t state = ((uint64_t)seed << 20) ^ (uint64_t)(index + 1) * 0x2545f4914f6cdd1dull;
  if (t->fill == CREWRITE_FLOAT32) {
    for (size_t i = 0; i + sizeof(float) <= t->size; i += sizeof(float)) {
      float v = (float)((double)(next_random(&state) >> 40) / 8388608.0 - 1.0);
      memcpy(data + i, &v, sizeof(v));
    }
  } else if (t->fill == CREWRITE_FLOAT64) {
    for (size_t i = 0; i + sizeof(double) <= t->size; i += sizeof(double)) {
      double v = (double)(next_random(&state) >> 11) / 4503599627370496.0 - 1.0;
      memcpy(data + i, &v, sizeof(v));
    }
  } else {
    for (size_t i = 0; i < t->size; ++i) {
      data[i] = (uint8_t)(next_random(&state) >> 56);
    }
  }
}

int main(int argc, char** argv) {
  uint8_t** buffers = (uint8_t**)calloc((size_t)crewrite_tensor_count + 1, sizeof(uint8_t*));
  uint8_t* pool = (uint8_t*)malloc(CREWRITE_POOL_BYTES);
  if (buffers == NULL || pool == NULL) {
    fprintf(stderr, "crewrite-error: out of memory\n");
    return 3;
  }
  for (int i = 0; i < crewrite_tensor_count; ++i) {
    size_t bytes = crewrite_tensors[i].size + GUARD;
    buffers[i] = (uint8_t*)malloc(bytes > 0 ? bytes : 1);
    if (buffers[i] == NULL) {
      fprintf(stderr, "crewrite-error: out of memory\n");
      return 3;
    }
  }
  for (int a = 1; a < argc; ++a) {
    unsigned long seed = strtoul(argv[a], NULL, 0);
    for (int m = 0; m < crewrite_module_count; ++m) {
      for (int i = 0; i < crewrite_tensor_count; ++i) {
        const crewrite_tensor* t = &crewrite_tensors[i];
        if (t->module != m) {
          continue;
        }
        if (t->kind == CREWRITE_INPUT) {
          fill_input(buffers[i], t, seed, i);
        } else if (t->kind == CREWRITE_OUTPUT) {
          memset(buffers[i], 0, t->size);
        } else {
          shim_fill(buffers[i], t->size);
        }
        for (size_t g = 0; g < GUARD; ++g) {
          buffers[i][t->size + g] = guard_byte(g);
        }
      }
      shim_workspace_init(pool, CREWRITE_POOL_BYTES);
      int32_t rc = crewrite_modules[m].run(buffers);
      if (rc != 0) {
        fprintf(stderr, "crewrite-error: module=%s seed=%lu run returned %d\n",
                crewrite_modules[m].name, seed, (int)rc);
        return 3;
      }
      if (shim_workspace_in_use() != 0) {
        fprintf(stderr, "crewrite-error: module=%s seed=%lu left %zu workspace bytes allocated\n",
                crewrite_modules[m].name, seed, shim_workspace_in_use());
        return 3;
      }
      for (int i = 0; i < crewrite_tensor_count; ++i) {
        const crewrite_tensor* t = &crewrite_tensors[i];
        for (size_t g = 0; t->module == m && g < GUARD; ++g) {
          if (buffers[i][t->size + g] != guard_byte(g)) {
            fprintf(stderr, "crewrite-error: module=%s seed=%lu wrote past %s at +%zu\n",
                    crewrite_modules[m].name, seed, t->name, g);
            return 3;
          }
        }
      }
      fprintf(stderr, "crewrite-stat module=%s seed=%lu peak=%zu calls=%zu\n",
              crewrite_modules[m].name, seed, shim_workspace_peak(), shim_workspace_calls());
      for (int i = 0; i < crewrite_tensor_count; ++i) {
        const crewrite_tensor* t = &crewrite_tensors[i];
        if (t->module == m && t->kind == CREWRITE_OUTPUT &&
            fwrite(buffers[i], 1, t->size, stdout) != t->size) {
          fprintf(stderr, "crewrite-error: cannot write the outputs\n");
          return 3;
        }
      }
    }
  }
  return fflush(stdout) == 0 ? 0 : 3;
}
