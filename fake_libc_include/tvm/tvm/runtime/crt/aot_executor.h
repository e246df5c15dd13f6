/* The AOT executor module of the C runtime, declared for crewrite. */
#ifndef CREWRITE_TVM_CRT_AOT_EXECUTOR_H_
#define CREWRITE_TVM_CRT_AOT_EXECUTOR_H_
#include <dlpack/dlpack.h>
#include <tvm/runtime/c_runtime_api.h>
#include <tvm/runtime/crt/error_codes.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct TVMAotExecutor TVMAotExecutor;

tvm_crt_error_t TVMAotExecutor_Create(TVMModuleHandle module_handle, const DLDevice device,
                                      TVMAotExecutor** executor, const char* module_name);
tvm_crt_error_t TVMAotExecutor_Release(TVMAotExecutor* executor, const DLDevice device);
int TVMAotExecutor_GetNumInputs(TVMAotExecutor* executor);
int TVMAotExecutor_GetNumOutputs(TVMAotExecutor* executor);
int TVMAotExecutor_GetInputIndex(TVMAotExecutor* executor, const char* name);
int TVMAotExecutor_Run(TVMAotExecutor* executor);
tvm_crt_error_t TVMAotExecutorModule_Register(void);

#ifdef __cplusplus
}
#endif
#endif
