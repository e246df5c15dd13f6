/* Status codes of TVM's C runtime, declared for crewrite. */
#ifndef CREWRITE_TVM_CRT_ERROR_CODES_H_
#define CREWRITE_TVM_CRT_ERROR_CODES_H_
typedef enum { kTvmErrorNoError = 0, kTvmErrorPlatformNoMemory = 0x0201 } tvm_crt_error_t;
#endif
