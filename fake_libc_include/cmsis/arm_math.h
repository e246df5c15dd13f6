/* The CMSIS-DSP declarations generated code may name, declared for crewrite. */
#ifndef CREWRITE_ARM_MATH_H
#define CREWRITE_ARM_MATH_H
#include <stdint.h>
#include "arm_math_types.h"
#include "arm_acle.h"
#endif
