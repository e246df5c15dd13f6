/* The DLPack tensor types that TVM's C runtime API refers to, declared for crewrite.
   Older TVM (0.8 and before) names the device a "context": DLContext, and DLTensor.ctx; both
   spellings name the same member here. */
#ifndef CREWRITE_DLPACK_H_
#define CREWRITE_DLPACK_H_
#include <stdint.h>
#include <stddef.h>

#define DLPACK_VERSION 80
#define DLPACK_DLL

typedef enum {
  kDLCPU = 1,
  kDLCUDA = 2,
  kDLCUDAHost = 3,
  kDLOpenCL = 4,
  kDLVulkan = 7,
  kDLMetal = 8,
  kDLVPI = 9,
  kDLROCM = 10,
  kDLROCMHost = 11,
  kDLExtDev = 12,
  kDLCUDAManaged = 13,
  kDLOneAPI = 14,
  kDLWebGPU = 15,
  kDLHexagon = 16
} DLDeviceType;
/* The names older releases used for the same numbers. */
#define kDLGPU kDLCUDA
#define kDLCPUPinned kDLCUDAHost
#define kDLGPUManaged kDLCUDAManaged

typedef struct {
  DLDeviceType device_type;
  int32_t device_id;
} DLDevice;
typedef DLDevice DLContext;

typedef enum {
  kDLInt = 0,
  kDLUInt = 1,
  kDLFloat = 2,
  kDLOpaqueHandle = 3,
  kDLBfloat = 4,
  kDLComplex = 5,
  kDLBool = 6
} DLDataTypeCode;

typedef struct {
  uint8_t code;
  uint8_t bits;
  uint16_t lanes;
} DLDataType;

typedef struct {
  void* data;
  union {
    DLDevice device;
    DLDevice ctx; /* the 0.8-and-older name */
  };
  int32_t ndim;
  DLDataType dtype;
  int64_t* shape;
  int64_t* strides;
  uint64_t byte_offset;
} DLTensor;

typedef struct DLManagedTensor {
  DLTensor dl_tensor;
  void* manager_ctx;
  void (*deleter)(struct DLManagedTensor* self);
} DLManagedTensor;
#endif
