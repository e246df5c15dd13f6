/* A system library as the C runtime sees it, declared for crewrite: graph-executor and
   system-lib outputs define one in default_lib0.c (or lib0.c) and return it from
   TVMSystemLibEntryPoint. */
#ifndef CREWRITE_TVM_CRT_MODULE_H_
#define CREWRITE_TVM_CRT_MODULE_H_
#include <tvm/runtime/c_backend_api.h>
#include <tvm/runtime/crt/func_registry.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct TVMModule {
  const TVMFuncRegistry* registry;
} TVMModule;

const TVMModule* TVMSystemLibEntryPoint(void);

#ifdef __cplusplus
}
#endif
#endif
