/* The Arm C Language Extensions header, as crewrite's host builds see it: the intrinsics
   generated code calls, defined in C (crewrite_arm.h, arm_intrinsics.c). */
#ifndef CREWRITE_HOST_ARM_ACLE_H_
#define CREWRITE_HOST_ARM_ACLE_H_
#include "crewrite_arm.h"
#endif
