/* Logging of the C runtime, declared for crewrite. */
#ifndef CREWRITE_TVM_CRT_LOGGING_H_
#define CREWRITE_TVM_CRT_LOGGING_H_
#include <tvm/runtime/crt/platform.h>

#define TVM_CRT_LOG_LEVEL_DEBUG 3
#define TVM_CRT_LOG_LEVEL_INFO 2
#define TVM_CRT_LOG_LEVEL_WARN 1
#define TVM_CRT_LOG_LEVEL_ERROR 0

#ifdef __cplusplus
extern "C" {
#endif

void TVMLogf(const char* fmt, ...);

#ifdef __cplusplus
}
#endif

#define LOG_DEBUG(...) TVMLogf(__VA_ARGS__)
#define LOG_INFO(...) TVMLogf(__VA_ARGS__)
#define LOG_WARN(...) TVMLogf(__VA_ARGS__)
#define LOG_ERROR(...) TVMLogf(__VA_ARGS__)
#define CHECK(x) \
  do {           \
    if (!(x)) {  \
      TVMPlatformAbort(kTvmErrorPlatformCheckFailure); \
    }            \
  } while (0)
#endif
