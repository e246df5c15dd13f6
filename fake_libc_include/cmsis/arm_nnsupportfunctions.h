/* CMSIS-NN support declarations and the DSP intrinsics native Arm schedules call,
   declared for crewrite as plain functions (host definitions: crewrite/hostrt). */
#ifndef CREWRITE_ARM_NNSUPPORTFUNCTIONS_H
#define CREWRITE_ARM_NNSUPPORTFUNCTIONS_H
#include <stdint.h>
#include "arm_nn_types.h"
#include "arm_acle.h"
#endif
