/* The CMSIS compiler macros generated code and CMSIS-NN use, declared for crewrite (GCC
   spellings). Each is defined only if nobody did before. */
#ifndef CREWRITE_CMSIS_COMPILER_H
#define CREWRITE_CMSIS_COMPILER_H
#include "crewrite_cmsis_macros.h"
#ifndef __COMPILER_BARRIER
#define __COMPILER_BARRIER() ((void)0)
#endif
#endif
