/* The table of functions a system library registers, declared for crewrite. `names` holds
   the number of functions, then each name NUL-terminated; `funcs` the functions in order. */
#ifndef CREWRITE_TVM_CRT_FUNC_REGISTRY_H_
#define CREWRITE_TVM_CRT_FUNC_REGISTRY_H_
#include <stdint.h>
#include <stddef.h>
#include <tvm/runtime/c_backend_api.h>
#include <tvm/runtime/crt/error_codes.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef uint16_t tvm_function_index_t;
typedef uint16_t tvm_module_index_t;

typedef struct TVMFuncRegistry {
  const char* names;
  const TVMBackendPackedCFunc* funcs;
} TVMFuncRegistry;

uint16_t TVMFuncRegistry_GetNumFuncs(const TVMFuncRegistry* reg);
tvm_crt_error_t TVMFuncRegistry_SetNumFuncs(const TVMFuncRegistry* reg, const uint16_t n);
const char* TVMFuncRegistry_Get0thFunctionName(const TVMFuncRegistry* reg);
tvm_crt_error_t TVMFuncRegistry_Lookup(const TVMFuncRegistry* reg, const char* name,
                                       tvm_function_index_t* function_index);
tvm_crt_error_t TVMFuncRegistry_GetByIndex(const TVMFuncRegistry* reg,
                                           tvm_function_index_t index,
                                           TVMBackendPackedCFunc* out_func);

typedef struct TVMMutableFuncRegistry {
  TVMFuncRegistry registry;
  size_t max_functions;
} TVMMutableFuncRegistry;

tvm_crt_error_t TVMMutableFuncRegistry_Create(TVMMutableFuncRegistry* reg, uint8_t* buffer,
                                              size_t buffer_size_bytes);
tvm_crt_error_t TVMMutableFuncRegistry_Set(TVMMutableFuncRegistry* reg, const char* name,
                                           TVMBackendPackedCFunc func, int override);

#ifdef __cplusplus
}
#endif
#endif
