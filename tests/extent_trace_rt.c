/* Runtime of the extent cross-check (tests/extent_trace.py). The model's sources are compiled
 * with gcc's -fsanitize=thread, which calls __tsan_{read,write}N before every load and store
 * (ASan's instrumentation elides a store after a checked load of the same address, so it
 * cannot be used), -finstrument-functions (a frame per call) and a marker call
 * before each top-level statement naming the function, the statement and the current value of
 * every base. Each access is then checked, for every frame on the stack, against what the
 * analysis says that frame's current statement may read or write: an access inside an object
 * (a workspace allocation, a registered static array) that one of the frame's bases points
 * into must lie in the may-range of some base of the frame. Must-write runs are checked when
 * their statement ends: every byte written. Results go to stderr as XT lines. */
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extent_trace.h"

#define MAX_FRAMES 64
#define MAX_BASES 48
#define MAX_MUST 64
#define MAX_OBJECTS 4096
#define MAX_REPORTS 20

typedef struct {
  uintptr_t lo, hi;
} xt_object_t;

typedef struct {
  int base;
  long long lo, hi;
  uint8_t* bits;
} xt_run_t;

typedef struct {
  int fid, stmt, nb;
  uintptr_t val[MAX_BASES];
  uintptr_t olo[MAX_BASES], ohi[MAX_BASES];
  int nm;
  xt_run_t must[MAX_MUST];
} xt_frame_t;

static xt_object_t g_objects[MAX_OBJECTS];
static int g_nobjects;
static xt_frame_t g_frames[MAX_FRAMES];
static int g_depth;
static int g_quiet; /* inside the runtime shim: its own fills are no statement's accesses */
static unsigned long long g_accesses, g_relevant, g_violations, g_must_runs, g_must_bytes,
    g_must_violations, g_overflow;
static long long* g_obs; /* per xt_ext entry: observed rlo, rhi, wlo, whi */
static int g_registered;

static void xt_report(void);

static void xt_init(void) {
  if (g_registered) return;
  g_registered = 1;
  int total = 0;
  for (int f = 0; f < xt_nfuncs; ++f) total += xt_nbases[f] * xt_nstmts[f];
  g_obs = (long long*)malloc(sizeof(long long) * 4 * (size_t)(total > 0 ? total : 1));
  for (int i = 0; i < total; ++i) {
    g_obs[4 * i] = LLONG_MAX;
    g_obs[4 * i + 1] = LLONG_MIN;
    g_obs[4 * i + 2] = LLONG_MAX;
    g_obs[4 * i + 3] = LLONG_MIN;
  }
  atexit(xt_report);
}

void __xt_object(const void* start, unsigned long size) {
  xt_init();
  if (g_nobjects < MAX_OBJECTS && size > 0) {
    g_objects[g_nobjects].lo = (uintptr_t)start;
    g_objects[g_nobjects].hi = (uintptr_t)start + size;
    g_nobjects++;
  }
}

static void xt_forget(const void* start) {
  for (int i = g_nobjects - 1; i >= 0; --i) {
    if (g_objects[i].lo == (uintptr_t)start) {
      g_objects[i] = g_objects[--g_nobjects];
      return;
    }
  }
}

static void xt_object_of(uintptr_t p, uintptr_t* lo, uintptr_t* hi) {
  *lo = *hi = 0;
  for (int i = g_nobjects - 1; i >= 0; --i) { /* the latest: a buffer inside a pool */
    if (g_objects[i].lo <= p && p < g_objects[i].hi) {
      *lo = g_objects[i].lo;
      *hi = g_objects[i].hi;
      return;
    }
  }
}

static const xt_ext_t* xt_entry(const xt_frame_t* f, int base) {
  return &xt_ext[xt_first[f->fid] + f->stmt * f->nb + base];
}

static void xt_finish_statement(xt_frame_t* f) {
  for (int i = 0; i < f->nm; ++i) {
    xt_run_t* run = &f->must[i];
    long long missing = 0, first = -1;
    for (long long b = 0; b < run->hi - run->lo; ++b) {
      if (!(run->bits[b >> 3] & (1u << (b & 7)))) {
        if (first < 0) first = run->lo + b;
        missing++;
      }
    }
    g_must_runs++;
    g_must_bytes += (unsigned long long)(run->hi - run->lo);
    if (missing) {
      if (g_must_violations++ < MAX_REPORTS) {
        fprintf(stderr, "XTMUST %s stmt=%d base=%d run=[%lld,%lld) missing=%lld first=%lld\n",
                xt_fname[f->fid], f->stmt, run->base, run->lo, run->hi, missing, first);
      }
    }
    free(run->bits);
  }
  f->nm = 0;
}

void __cyg_profile_func_enter(void* fn, void* site) {
  (void)fn;
  (void)site;
  if (g_depth >= MAX_FRAMES) {
    g_overflow++;
    g_depth++;
    return;
  }
  xt_frame_t* f = &g_frames[g_depth++];
  f->fid = -1;
  f->stmt = -1;
  f->nb = 0;
  f->nm = 0;
}

void __cyg_profile_func_exit(void* fn, void* site) {
  (void)fn;
  (void)site;
  if (g_depth <= 0) return;
  if (g_depth <= MAX_FRAMES) {
    xt_frame_t* f = &g_frames[g_depth - 1];
    if (f->fid >= 0) xt_finish_statement(f);
  }
  g_depth--;
}

void __xt_stmt(int fid, int index, ...) {
  xt_init();
  if (g_depth <= 0 || g_depth > MAX_FRAMES) return;
  xt_frame_t* f = &g_frames[g_depth - 1];
  if (f->fid < 0) {
    f->fid = fid;
    f->nb = xt_nbases[fid] < MAX_BASES ? xt_nbases[fid] : MAX_BASES;
    for (int b = 0; b < MAX_BASES; ++b) f->val[b] = f->olo[b] = f->ohi[b] = 0;
  } else {
    xt_finish_statement(f);
  }
  f->stmt = index;
  va_list ap;
  va_start(ap, index);
  for (int b = 0; b < xt_nbases[fid]; ++b) {
    uintptr_t v = (uintptr_t)va_arg(ap, void*);
    if (b < MAX_BASES && f->val[b] == 0 && v != 0) {
      f->val[b] = v; /* a base is its value where it is first seen (a parameter: on entry) */
      xt_object_of(v, &f->olo[b], &f->ohi[b]);
    }
  }
  va_end(ap);
  for (int b = 0; b < f->nb; ++b) {
    const xt_ext_t* e = xt_entry(f, b);
    for (int m = 0; m < e->must_count && f->val[b] != 0 && f->nm < MAX_MUST; ++m) {
      xt_run_t* run = &f->must[f->nm++];
      run->base = b;
      run->lo = xt_must[e->must_first + m][0];
      run->hi = xt_must[e->must_first + m][1];
      run->bits = (uint8_t*)calloc((size_t)((run->hi - run->lo + 7) / 8 + 1), 1);
    }
  }
}

static void xt_access(uintptr_t addr, size_t size, int write) {
  if (g_quiet || !g_registered || size == 0) return;
  g_accesses++;
  int top = g_depth < MAX_FRAMES ? g_depth : MAX_FRAMES;
  for (int d = 0; d < top; ++d) {
    xt_frame_t* f = &g_frames[d];
    if (f->fid < 0 || f->stmt < 0) continue;
    int relevant = 0;
    for (int b = 0; b < f->nb && !relevant; ++b) {
      relevant = f->val[b] != 0 && addr < f->ohi[b] && addr + size > f->olo[b];
    }
    if (relevant) {
      g_relevant++;
      int explained = 0;
      for (int b = 0; b < f->nb; ++b) {
        if (f->val[b] == 0) continue;
        const xt_ext_t* e = xt_entry(f, b);
        long long off = (long long)(addr - f->val[b]);
        long long lo = write ? e->wlo : e->rlo, hi = write ? e->whi : e->rhi;
        int present = e->flags & (write ? XT_WRITE : XT_READ);
        if (present && off >= lo && (hi == LLONG_MAX || off + (long long)size <= hi)) {
          explained = 1;
          if (addr >= f->olo[b] && addr < f->ohi[b]) {
            long long* obs = &g_obs[4 * (xt_first[f->fid] + f->stmt * f->nb + b) + 2 * write];
            if (off < obs[0]) obs[0] = off;
            if (off + (long long)size > obs[1]) obs[1] = off + (long long)size;
          }
        }
      }
      if (!explained && g_violations++ < MAX_REPORTS) {
        fprintf(stderr, "XTMAY %s stmt=%d %s addr=%p size=%zu bases:", xt_fname[f->fid],
                f->stmt, write ? "write" : "read", (void*)addr, size);
        for (int b = 0; b < f->nb; ++b) {
          if (f->val[b] != 0) {
            fprintf(stderr, " %d@%+lld", b, (long long)(addr - f->val[b]));
          }
        }
        fprintf(stderr, "\n");
      }
    }
    if (write) {
      for (int m = 0; m < f->nm; ++m) {
        xt_run_t* run = &f->must[m];
        long long off = (long long)(addr - f->val[run->base]);
        for (long long b = off; b < off + (long long)size; ++b) {
          if (b >= run->lo && b < run->hi) {
            long long i = b - run->lo;
            run->bits[i >> 3] |= (uint8_t)(1u << (i & 7));
          }
        }
      }
    }
  }
}

static void xt_report(void) {
  int index = 0;
  for (int f = 0; f < xt_nfuncs; ++f) {
    for (int s = 0; s < xt_nstmts[f]; ++s) {
      for (int b = 0; b < xt_nbases[f]; ++b, ++index) {
        long long* obs = &g_obs[4 * index];
        if (obs[0] <= obs[1] || obs[2] <= obs[3]) {
          fprintf(stderr, "XTOBS %d %d %d %lld %lld %lld %lld\n", f, s, b, obs[0], obs[1],
                  obs[2], obs[3]);
        }
      }
    }
  }
  fprintf(stderr,
          "XTSUM accesses=%llu relevant=%llu violations=%llu must_runs=%llu must_bytes=%llu "
          "must_violations=%llu overflow=%llu\n",
          g_accesses, g_relevant, g_violations, g_must_runs, g_must_bytes, g_must_violations,
          g_overflow);
}

#define XT_SIZED(n)                                                                  \
  void __tsan_read##n(void* p) { xt_access((uintptr_t)p, n, 0); }                    \
  void __tsan_write##n(void* p) { xt_access((uintptr_t)p, n, 1); }                   \
  void __tsan_unaligned_read##n(void* p) { xt_access((uintptr_t)p, n, 0); }          \
  void __tsan_unaligned_write##n(void* p) { xt_access((uintptr_t)p, n, 1); }         \
  void __tsan_volatile_read##n(void* p) { xt_access((uintptr_t)p, n, 0); }           \
  void __tsan_volatile_write##n(void* p) { xt_access((uintptr_t)p, n, 1); }          \
  void __tsan_unaligned_volatile_read##n(void* p) { xt_access((uintptr_t)p, n, 0); } \
  void __tsan_unaligned_volatile_write##n(void* p) { xt_access((uintptr_t)p, n, 1); }
XT_SIZED(1)
XT_SIZED(2)
XT_SIZED(4)
XT_SIZED(8)
XT_SIZED(16)
void __tsan_read_range(void* p, size_t n) { xt_access((uintptr_t)p, n, 0); }
void __tsan_write_range(void* p, size_t n) { xt_access((uintptr_t)p, n, 1); }
/* Frames come from -finstrument-functions, which marks every function. */
void __tsan_func_entry(void* pc) { (void)pc; }
void __tsan_func_exit(void) {}
void __tsan_init(void) {}

/* Linked with -Wl,--wrap=...: workspace buffers are objects while they live; library copies
   are accesses of the statement that calls them. */
void* __real_TVMBackendAllocWorkspace(int, int, uint64_t, int, int);
int __real_TVMBackendFreeWorkspace(int, int, void*);
void* __real_memcpy(void*, const void*, size_t);
void* __real_memmove(void*, const void*, size_t);
void* __real_memset(void*, int, size_t);

void* __wrap_TVMBackendAllocWorkspace(int t, int id, uint64_t n, int code, int bits) {
  g_quiet++;
  void* p = __real_TVMBackendAllocWorkspace(t, id, n, code, bits);
  g_quiet--;
  if (p != NULL) __xt_object(p, (unsigned long)n);
  return p;
}

int __wrap_TVMBackendFreeWorkspace(int t, int id, void* p) {
  xt_forget(p);
  g_quiet++;
  int r = __real_TVMBackendFreeWorkspace(t, id, p);
  g_quiet--;
  return r;
}

void* __wrap_memcpy(void* d, const void* s, size_t n) {
  xt_access((uintptr_t)s, n, 0);
  xt_access((uintptr_t)d, n, 1);
  return __real_memcpy(d, s, n);
}

void* __wrap_memmove(void* d, const void* s, size_t n) {
  xt_access((uintptr_t)s, n, 0);
  xt_access((uintptr_t)d, n, 1);
  return __real_memmove(d, s, n);
}

void* __wrap_memset(void* d, int c, size_t n) {
  xt_access((uintptr_t)d, n, 1);
  return __real_memset(d, c, n);
}
