/* CMSIS-NN's basic types, limits and compiler macros, declared for crewrite. */
#ifndef CREWRITE_ARM_NN_MATH_TYPES_H
#define CREWRITE_ARM_NN_MATH_TYPES_H
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include "cmsis_compiler.h"
#include "arm_math_types.h"

#define NN_Q31_MAX ((int32_t)(0x7FFFFFFFL))
#define NN_Q15_MAX ((int16_t)(0x7FFF))
#define NN_Q7_MAX ((int8_t)(0x7F))
#define NN_Q31_MIN ((int32_t)(0x80000000L))
#define NN_Q15_MIN ((int16_t)(0x8000))
#define NN_Q7_MIN ((int8_t)(0x80))
#endif
