/* The graph executor of the C runtime, declared for crewrite. */
#ifndef CREWRITE_TVM_CRT_GRAPH_EXECUTOR_H_
#define CREWRITE_TVM_CRT_GRAPH_EXECUTOR_H_
#include <dlpack/dlpack.h>
#include <tvm/runtime/c_runtime_api.h>
#include <tvm/runtime/crt/module.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct TVMGraphExecutor TVMGraphExecutor;

int TVMGraphExecutor_Create(const char* sym_json, TVMModuleHandle module_handle,
                            const DLDevice* devices, TVMGraphExecutor** executor);
int TVMGraphExecutor_GetInputIndex(TVMGraphExecutor* executor, const char* name);
void TVMGraphExecutor_SetInput(TVMGraphExecutor* executor, const char* name, DLTensor* data_in);
int TVMGraphExecutor_GetOutput(TVMGraphExecutor* executor, const int32_t index, DLTensor* out);
int TVMGraphExecutor_LoadParams(TVMGraphExecutor* executor, const char* param_blob,
                                const uint32_t param_size);
void TVMGraphExecutor_Run(TVMGraphExecutor* executor);
int TVMGraphExecutor_Release(TVMGraphExecutor** executor);
int TVMGraphExecutor_GetNumInputs(void);
int TVMGraphExecutor_GetNumOutputs(void);
tvm_crt_error_t TVMGraphExecutorModule_Register(void);

#ifdef __cplusplus
}
#endif
#endif
