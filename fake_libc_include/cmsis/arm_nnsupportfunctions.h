/* CMSIS-NN support declarations and the DSP intrinsics native Arm schedules call,
   declared for crewrite as plain functions (their host definitions live in the tests). */
#ifndef CREWRITE_ARM_NNSUPPORTFUNCTIONS_H
#define CREWRITE_ARM_NNSUPPORTFUNCTIONS_H
#include <stdint.h>
#include "arm_nn_types.h"
#include "arm_acle.h"
#endif
