/* CMSIS-Core's GCC header as generated code may include it, declared for crewrite: the
   compiler macros (cmsis_compiler.h) and the DSP intrinsics (arm_acle.h), found on the include
   path (crewrite/hostrt/include's own come first in host builds). */
#ifndef CREWRITE_CMSIS_GCC_H
#define CREWRITE_CMSIS_GCC_H
#include <cmsis_compiler.h>
#include <arm_acle.h>
#endif
