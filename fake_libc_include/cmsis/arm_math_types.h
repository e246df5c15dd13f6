/* CMSIS-DSP's fixed-point types and status codes, declared for crewrite (older CMSIS-NN
   kernels return arm_status). */
#ifndef CREWRITE_ARM_MATH_TYPES_H
#define CREWRITE_ARM_MATH_TYPES_H
#include <stdint.h>
#include "cmsis_compiler.h"
typedef int8_t q7_t;
typedef int16_t q15_t;
typedef int32_t q31_t;
typedef int64_t q63_t;
typedef float float32_t;
typedef double float64_t;
typedef enum {
  ARM_MATH_SUCCESS = 0,
  ARM_MATH_ARGUMENT_ERROR = -1,
  ARM_MATH_LENGTH_ERROR = -2,
  ARM_MATH_SIZE_MISMATCH = -3,
  ARM_MATH_NANINF = -4,
  ARM_MATH_SINGULAR = -5,
  ARM_MATH_TEST_FAILURE = -6,
  ARM_MATH_DECOMPOSITION_FAILURE = -7
} arm_status;
#endif
