/* Shared by tests/extent_trace_rt.c and the table tests/extent_trace.py generates: what the
   extent analysis claims, per function (fid), top-level statement and base. */
#ifndef CREWRITE_EXTENT_TRACE_H
#define CREWRITE_EXTENT_TRACE_H

#include <stdint.h>

#define XT_READ 1  /* the statement may read the base: [rlo, rhi) */
#define XT_WRITE 2 /* the statement may write the base: [wlo, whi) */

typedef struct {
  int flags;
  long long rlo, rhi, wlo, whi; /* LLONG_MIN / LLONG_MAX: unbounded */
  int must_first, must_count;   /* runs in xt_must: bytes always written */
} xt_ext_t;

extern const int xt_nfuncs;
extern const char* const xt_fname[];
extern const int xt_nbases[];
extern const int xt_nstmts[];
extern const int xt_first[]; /* xt_ext index of (fid, statement 0, base 0) */
extern const xt_ext_t xt_ext[];
extern const long long xt_must[][2];

void __xt_stmt(int fid, int index, ...);
void __xt_object(const void* start, unsigned long size);

#endif
