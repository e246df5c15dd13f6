/* What crewrite verify's driver (verify_main.c) needs from the code it generates for one
   project: every tensor the application hands the model, and one call per module. */
#ifndef CREWRITE_VERIFY_H_
#define CREWRITE_VERIFY_H_
#include <stddef.h>
#include <stdint.h>

enum { CREWRITE_INPUT = 0, CREWRITE_OUTPUT = 1, CREWRITE_POOL = 2 };
enum { CREWRITE_BYTES = 0, CREWRITE_FLOAT32 = 1, CREWRITE_FLOAT64 = 2 };

typedef struct {
  int module;       /* index into crewrite_modules */
  int kind;         /* CREWRITE_INPUT, _OUTPUT or _POOL */
  int fill;         /* how an input is drawn: random bytes, or floats in [-1, 1) */
  size_t size;      /* bytes */
  const char* name; /* member of the module's struct */
} crewrite_tensor;

/* Runs a module once; `buffers` holds every tensor of crewrite_tensors, in its order. */
typedef int32_t (*crewrite_run_fn)(uint8_t* const* buffers);

typedef struct {
  const char* name;
  crewrite_run_fn run;
} crewrite_module;

extern const crewrite_tensor crewrite_tensors[];
extern const int crewrite_tensor_count;
extern const crewrite_module crewrite_modules[];
extern const int crewrite_module_count;
#endif
