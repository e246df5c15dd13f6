/* Start-up of the C runtime, declared for crewrite. */
#ifndef CREWRITE_TVM_CRT_CRT_H_
#define CREWRITE_TVM_CRT_CRT_H_
#include <tvm/runtime/crt/error_codes.h>

#ifdef __cplusplus
extern "C" {
#endif

tvm_crt_error_t TVMInitializeRuntime(void);

#ifdef __cplusplus
}
#endif
#endif
