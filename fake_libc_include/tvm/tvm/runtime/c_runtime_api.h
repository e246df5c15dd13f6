/* The part of TVM's C runtime API that generated operator code uses, declared for crewrite. */
#ifndef CREWRITE_TVM_C_RUNTIME_API_H_
#define CREWRITE_TVM_C_RUNTIME_API_H_
#include <stdint.h>
#include <stddef.h>
#include <dlpack/dlpack.h>

#ifndef TVM_DLL
#define TVM_DLL
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef int64_t tvm_index_t;
typedef DLDevice TVMDevice;
typedef DLDataType DLDataTypeAlias;
typedef void* TVMStreamHandle;
typedef void* TVMModuleHandle;
typedef void* TVMFunctionHandle;
typedef void* TVMRetValueHandle;

typedef union {
  int64_t v_int64;
  double v_float64;
  void* v_handle;
  const char* v_str;
  DLDataType v_type;
  DLDevice v_device;
} TVMValue;

typedef enum {
  kTVMArgInt = 0,
  kTVMArgFloat = 2,
  kTVMOpaqueHandle = 3,
  kTVMNullptr = 4,
  kTVMDLTensorHandle = 7
} TVMArgTypeCode;

TVM_DLL void TVMAPISetLastError(const char* msg);
TVM_DLL const char* TVMGetLastError(void);

#ifdef __cplusplus
}
#endif
#endif
