/* The CMSIS-DSP typedefs generated code may name, declared for crewrite. */
#ifndef CREWRITE_ARM_MATH_H
#define CREWRITE_ARM_MATH_H
#include <stdint.h>
#include "arm_acle.h"
typedef int8_t q7_t;
typedef int16_t q15_t;
typedef int32_t q31_t;
typedef int64_t q63_t;
typedef float float32_t;
#endif
