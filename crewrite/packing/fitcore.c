/* Exact "does it fit in CAPACITY bytes?" searches for crewrite's offset planner.
 *
 * Written for crewrite; no code from elsewhere. Loaded through ctypes (plain C ABI, no Python
 * headers), compiled on first use by crewrite/packing/native.py. bnb.py mirrors both searches
 * line for line in Python: same branching order, same node counting, same results.
 *
 * Two complete depth-first searches over the same problem description:
 *
 *  - canonical: MiniMalloc's idea (Moffitt, ASPLOS 2023). Every feasible instance has a
 *    solution in which each buffer sits at the lowest aligned offset above the buffers it
 *    conflicts with that lie below it; so the search only places buffers at those "min
 *    offsets", in non-decreasing (offset, rank) order. It prunes with the sections (sets of
 *    buffers live together at one time): the floor every unplaced buffer of a section must
 *    sit above, plus the bytes still unplaced there, must stay within the capacity. A buffer
 *    whose min offset is at or above the top of another unplaced buffer would leave a hole
 *    that buffer fits in (dominated; skipped). Once no unplaced buffer crosses a section
 *    boundary, the two sides are solved independently.
 *
 *  - skyline (interval buffers only, alignments dividing every size): the leftmost lowest
 *    free cell of the time x memory plane is either covered by a buffer that starts exactly
 *    there and fits under the neighbouring heights, or stays empty. "Empty" defers the columns
 *    up to the next start; a deferred run is raised to its lower neighbour once both
 *    neighbours are higher, spending waste that each column's slack (capacity minus its
 *    load) must cover. Perfect packings (no slack anywhere) never defer, which is what makes
 *    them tractable here while the canonical search drowns in equivalent orders.
 *
 * Both return FOUND with offsets, EXHAUSTED (proof that nothing fits), or LIMIT / STOPPED.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FOUND 1
#define EXHAUSTED 0
#define LIMIT 2
#define STOPPED 3
#define NOMEM 4

#define BIG INT64_MAX

typedef struct {
    int32_t n;
    const int64_t *size;
    const int64_t *align;
    const int32_t *adj_start; /* n + 1 */
    const int32_t *adj;
    int32_t nsec;
    const int32_t *sec_start; /* nsec + 1 */
    const int32_t *sec_buf;
    const int32_t *bsec_start; /* n + 1 */
    const int32_t *bsec;       /* sections of each buffer, ascending */
    int32_t split;             /* 1: decompose at boundaries no unplaced buffer crosses */
    int32_t ncol;              /* skyline only: time columns */
    const int32_t *col_a;      /* first column of each buffer */
    const int32_t *col_b;      /* one past its last column */
    const int64_t *width;      /* program points live (canonical re-ranking) */
} Problem;

/* ---- undo log shared by both searches ------------------------------------------------ */

typedef struct {
    int64_t *slot;
    int64_t old;
} Undo;

typedef struct {
    Undo *items;
    size_t len, cap;
    int failed;
} Log;

static void log_set(Log *log, int64_t *slot, int64_t value) {
    if (log->len == log->cap) {
        size_t cap = log->cap ? 2 * log->cap : 1024;
        Undo *items = realloc(log->items, cap * sizeof(Undo));
        if (!items) {
            log->failed = 1;
            return;
        }
        log->items = items;
        log->cap = cap;
    }
    log->items[log->len].slot = slot;
    log->items[log->len].old = *slot;
    log->len++;
    *slot = value;
}

static void log_undo(Log *log, size_t mark) {
    while (log->len > mark) {
        log->len--;
        *log->items[log->len].slot = log->items[log->len].old;
    }
}

static int64_t align_up(int64_t value, int64_t step) {
    return (value + step - 1) / step * step;
}

/* The scratch of one split (see split_groups), for up to `nb` buffers over [lo, hi). */
typedef struct {
    int32_t *bufs, *out, *bounds, *gstart, *span;
} Split;

static void split_free(Split *sp) {
    free(sp->bufs);
    free(sp->out);
    free(sp->bounds);
    free(sp->gstart);
    free(sp->span);
}

/* Returns 0 (with nothing left allocated) when out of memory. */
static int split_alloc(Split *sp, int nb, int lo, int hi) {
    sp->bufs = malloc((size_t)(nb + 1) * sizeof(int32_t));
    sp->out = malloc((size_t)(nb + 1) * sizeof(int32_t));
    sp->bounds = malloc((size_t)(hi - lo + 2) * sizeof(int32_t));
    sp->gstart = malloc((size_t)(hi - lo + 1) * sizeof(int32_t));
    sp->span = malloc((size_t)(hi - lo + 1) * 2 * sizeof(int32_t));
    if (sp->bufs && sp->out && sp->bounds && sp->gstart && sp->span) return 1;
    split_free(sp);
    return 0;
}

/* Splits the first `nb` of `sp->bufs` (the still unplaced ones) into groups separated by
 * zero-count boundaries in [lo, hi - 1); `first`/`last` give each buffer's range. Writes
 * group bounds into `bounds` (ngroups + 1 entries), the buffers, grouped, into `out`, and
 * the range each group spans into `span` (2 entries per group: first, one past the last).
 * Returns the number of groups, -1 when out of memory. */
static int split_groups(Split *sp, int nb, const int64_t *cuts, int lo, int hi,
                        const int32_t *first, const int32_t *last) {
    const int32_t *bufs = sp->bufs;
    int32_t *out = sp->out, *bounds = sp->bounds, *gstart = sp->gstart, *span = sp->span;
    /* gstart[k - lo] = group index of position k */
    int g = 0;
    for (int k = lo; k < hi; k++) {
        gstart[k - lo] = g;
        if (k + 1 < hi && cuts[k] == 0) g++;
    }
    int ng = g + 1;
    memset(bounds, 0, (size_t)(ng + 1) * sizeof(int32_t));
    for (int t = 0; t < nb; t++) bounds[gstart[first[bufs[t]] - lo] + 1]++;
    for (int q = 0; q < ng; q++) bounds[q + 1] += bounds[q];
    int32_t *fill = malloc((size_t)ng * sizeof(int32_t));
    if (!fill) return -1;
    memcpy(fill, bounds, (size_t)ng * sizeof(int32_t));
    for (int t = 0; t < nb; t++) out[fill[gstart[first[bufs[t]] - lo]]++] = bufs[t];
    free(fill);
    for (int q = 0; q < ng; q++) {
        span[2 * q] = hi;
        span[2 * q + 1] = lo;
        for (int t = bounds[q]; t < bounds[q + 1]; t++) {
            if (first[out[t]] < span[2 * q]) span[2 * q] = first[out[t]];
            if (last[out[t]] + 1 > span[2 * q + 1]) span[2 * q + 1] = last[out[t]] + 1;
        }
    }
    return ng;
}

/* ---- canonical search ------------------------------------------------------------------ */

typedef struct {
    const Problem *p;
    int64_t cap;
    int64_t *rank;         /* current order; re-ranked per sub-problem by `heuristic` */
    int32_t heuristic;     /* 0 WAT, 1 TAW, 2 TWA (MiniMalloc's preorders), -1 fixed */
    int64_t nodes, limit;
    volatile int32_t *stop;
    int64_t *off, *minoff, *floor_, *total, *cuts;
    int32_t *first, *last; /* first / last section of each buffer */
    int32_t *stamp;        /* per section, for "affected" marking */
    int32_t *affected;
    int32_t clock;
    int64_t *sol;
    Log log;
} Canon;

typedef struct {
    int64_t off;
    int64_t rank;
    int32_t buf;
} Cand;

static int cand_cmp(const void *x, const void *y) {
    const Cand *a = x, *b = y;
    if (a->off != b->off) return a->off < b->off ? -1 : 1;
    return a->rank < b->rank ? -1 : a->rank > b->rank;
}

static int canon_search(Canon *c, const int32_t *part, int np, int slo, int shi, int64_t lo_off,
                        int32_t lo_rank);

typedef struct {
    int64_t key[3];
    int32_t buf;
} Ranked;

static int ranked_cmp(const void *x, const void *y) {
    const Ranked *a = x, *b = y;
    for (int k = 0; k < 3; k++)
        if (a->key[k] != b->key[k]) return a->key[k] > b->key[k] ? -1 : 1;
    return a->buf - b->buf;
}

/* MiniMalloc's preorders, computed when a (sub-)problem starts: W = lifetime, A = area,
 * T = the most bytes still unplaced in any of the buffer's sections; all descending. */
static int canon_rank(Canon *c, const int32_t *group, int count) {
    const Problem *p = c->p;
    if (c->heuristic < 0) return 1;
    Ranked *r = malloc((size_t)(count + 1) * sizeof(Ranked));
    if (!r) return 0;
    for (int t = 0; t < count; t++) {
        int i = group[t];
        int64_t w = p->width[i], a = p->size[i] * p->width[i], tot = 0;
        for (int u = p->bsec_start[i]; u < p->bsec_start[i + 1]; u++)
            if (c->total[p->bsec[u]] > tot) tot = c->total[p->bsec[u]];
        int64_t wat[3] = {w, a, tot}, taw[3] = {tot, a, w}, twa[3] = {tot, w, a};
        const int64_t *key = c->heuristic == 0 ? wat : c->heuristic == 1 ? taw : twa;
        memcpy(r[t].key, key, sizeof r[t].key);
        r[t].buf = i;
    }
    qsort(r, (size_t)count, sizeof(Ranked), ranked_cmp);
    for (int t = 0; t < count; t++) log_set(&c->log, &c->rank[r[t].buf], t);
    free(r);
    return !c->log.failed;
}

static int canon_split(Canon *c, const int32_t *part, int np, int slo, int shi) {
    Split sp;
    if (!split_alloc(&sp, np, slo, shi)) return NOMEM;
    int nb = 0;
    for (int t = 0; t < np; t++)
        if (c->off[part[t]] < 0) sp.bufs[nb++] = part[t];
    int ng = split_groups(&sp, nb, c->cuts, slo, shi, c->first, c->last);
    int status = ng < 0 ? NOMEM : FOUND;
    for (int g = 0; g < ng && status == FOUND; g++) {
        int count = sp.bounds[g + 1] - sp.bounds[g];
        if (!count) continue;
        const int32_t *group = sp.out + sp.bounds[g];
        status = canon_rank(c, group, count)
                     ? canon_search(c, group, count, sp.span[2 * g], sp.span[2 * g + 1], 0, -1)
                     : NOMEM;
    }
    split_free(&sp);
    return status;
}

/* Places buffer i at offset o and propagates. The sections' capacity check for this
 * placement was done by the caller (o <= threshold); what is left are the sections whose
 * floor rises because all their unplaced buffers now sit higher. Returns 0 if one overflows. */
static int canon_place(Canon *c, int i, int64_t o, int slo, int shi, int *split,
                       int *hatless) {
    const Problem *p = c->p;
    int64_t top = o + p->size[i];
    int ok = 1;
    *hatless = 1;
    log_set(&c->log, &c->off[i], o);
    c->sol[i] = o;
    c->clock++;
    int na = 0;
    for (int t = p->adj_start[i]; t < p->adj_start[i + 1]; t++) {
        int j = p->adj[t];
        if (c->off[j] >= 0) continue;
        *hatless = 0;
        if (c->minoff[j] >= top) continue;
        log_set(&c->log, &c->minoff[j], align_up(top, p->align[j]));
        for (int u = p->bsec_start[j]; u < p->bsec_start[j + 1]; u++) {
            int s = p->bsec[u];
            if (c->stamp[s] != c->clock && s >= slo && s < shi) {
                c->stamp[s] = c->clock;
                c->affected[na++] = s;
            }
        }
    }
    for (int u = p->bsec_start[i]; u < p->bsec_start[i + 1]; u++) {
        int s = p->bsec[u];
        if (c->floor_[s] < top) log_set(&c->log, &c->floor_[s], top);
        log_set(&c->log, &c->total[s], c->total[s] - p->size[i]);
    }
    /* A section's unplaced buffers all sit at or above the lowest of their min offsets. */
    for (int q = 0; q < na && ok; q++) {
        int s = c->affected[q];
        if (c->total[s] == 0) continue;
        int64_t low = BIG;
        for (int t = p->sec_start[s]; t < p->sec_start[s + 1]; t++) {
            int j = p->sec_buf[t];
            if (c->off[j] < 0 && c->minoff[j] < low) low = c->minoff[j];
        }
        if (low > c->floor_[s]) {
            log_set(&c->log, &c->floor_[s], low);
            if (low + c->total[s] > c->cap) ok = 0;
        }
    }
    *split = 0;
    if (p->split) {
        for (int k = c->first[i]; k < c->last[i]; k++) {
            log_set(&c->log, &c->cuts[k], c->cuts[k] - 1);
            if (c->cuts[k] == 0 && k >= slo && k + 1 < shi) *split = 1;
        }
    }
    return ok && !c->log.failed;
}

static int canon_search(Canon *c, const int32_t *part, int np, int slo, int shi, int64_t lo_off,
                        int32_t lo_rank) {
    const Problem *p = c->p;
    if (c->nodes >= c->limit) return LIMIT;
    c->nodes++;
    if ((c->nodes & 255) == 0 && *c->stop) return STOPPED;
    Cand *cand = malloc((size_t)(np + 1) * sizeof(Cand));
    if (!cand) return NOMEM;
    int nc = 0;
    int64_t min_top = BIG;
    for (int t = 0; t < np; t++) {
        int i = part[t];
        if (c->off[i] >= 0) continue;
        cand[nc].off = c->minoff[i];
        cand[nc].rank = c->rank[i];
        cand[nc].buf = i;
        nc++;
        if (c->minoff[i] + p->size[i] < min_top) min_top = c->minoff[i] + p->size[i];
    }
    if (nc == 0) {
        free(cand);
        return FOUND;
    }
    /* Spatial inference: from here on every buffer goes at or above the offset o chosen
     * now, so each section needs max(floor, o) + unplaced <= capacity; for the sections of
     * the placed buffer too (its top becomes their floor, its size leaves their total).
     * That holds exactly for o <= max(floor, capacity - unplaced) in every section. */
    int64_t threshold = BIG;
    for (int s = slo; s < shi; s++) {
        if (c->total[s] == 0) continue;
        int64_t room = c->cap - c->total[s];
        int64_t limit = c->floor_[s] > room ? c->floor_[s] : room;
        if (limit < threshold) threshold = limit;
    }
    qsort(cand, (size_t)nc, sizeof(Cand), cand_cmp);
    int status = EXHAUSTED;
    for (int t = 0; t < nc; t++) {
        int64_t o = cand[t].off;
        int i = cand[t].buf;
        if (o >= min_top) break; /* dominated: a buffer would fit in the hole below */
        if (o > threshold) break;
        if (o < lo_off || (o == lo_off && cand[t].rank < lo_rank)) continue; /* not canonical */
        size_t mark = c->log.len;
        int split, hatless;
        int st = EXHAUSTED;
        if (canon_place(c, i, o, slo, shi, &split, &hatless))
            st = split ? canon_split(c, part, np, slo, shi)
                       : canon_search(c, part, np, slo, shi, o, (int32_t)cand[t].rank);
        if (c->log.failed) st = NOMEM;
        log_undo(&c->log, mark);
        if (st != EXHAUSTED) {
            status = st;
            break;
        }
        /* Nothing unplaced overlaps it: no other choice here can do better. */
        if (hatless) break;
    }
    free(cand);
    return status;
}

int crw_canonical(const Problem *p, int64_t cap, const int32_t *rank, int32_t heuristic,
                  int64_t limit, volatile int32_t *stop, int64_t *out, int64_t *nodes) {
    int n = p->n;
    Canon c;
    memset(&c, 0, sizeof c);
    c.p = p;
    c.cap = cap;
    c.heuristic = heuristic;
    c.limit = limit;
    c.stop = stop;
    int nsec = p->nsec > 0 ? p->nsec : 1;
    c.off = malloc((size_t)(n + 1) * sizeof(int64_t));
    c.minoff = calloc((size_t)n + 1, sizeof(int64_t));
    c.floor_ = calloc((size_t)nsec, sizeof(int64_t));
    c.total = calloc((size_t)nsec, sizeof(int64_t));
    c.cuts = calloc((size_t)nsec, sizeof(int64_t));
    c.first = malloc((size_t)(n + 1) * sizeof(int32_t));
    c.last = malloc((size_t)(n + 1) * sizeof(int32_t));
    c.stamp = calloc((size_t)nsec, sizeof(int32_t));
    c.affected = malloc((size_t)nsec * sizeof(int32_t));
    int32_t *all = malloc((size_t)(n + 1) * sizeof(int32_t));
    c.rank = malloc((size_t)(n + 1) * sizeof(int64_t));
    int status = NOMEM;
    if (!c.rank) goto done;
    for (int i = 0; i < n; i++) c.rank[i] = rank[i];
    if (!c.off || !c.minoff || !c.floor_ || !c.total || !c.cuts || !c.first || !c.last ||
        !c.stamp || !c.affected || !all)
        goto done;
    c.sol = out;
    for (int i = 0; i < n; i++) {
        c.off[i] = -1;
        all[i] = i;
        c.first[i] = p->bsec[p->bsec_start[i]];
        c.last[i] = p->bsec[p->bsec_start[i + 1] - 1];
        for (int u = p->bsec_start[i]; u < p->bsec_start[i + 1]; u++) c.total[p->bsec[u]] += p->size[i];
        for (int k = c.first[i]; k < c.last[i]; k++) c.cuts[k]++;
        if (p->size[i] > cap) status = EXHAUSTED;
    }
    for (int s = 0; s < p->nsec; s++)
        if (c.total[s] > cap) status = EXHAUSTED;
    if (status == EXHAUSTED) goto done;
    if (p->split) {
        status = canon_split(&c, all, n, 0, p->nsec);
    } else {
        status = canon_rank(&c, all, n) ? canon_search(&c, all, n, 0, p->nsec, 0, -1) : NOMEM;
    }
done:
    *nodes = c.nodes;
    free(c.off);
    free(c.minoff);
    free(c.floor_);
    free(c.total);
    free(c.cuts);
    free(c.first);
    free(c.last);
    free(c.stamp);
    free(c.affected);
    free(c.log.items);
    free(all);
    free(c.rank);
    return status;
}

/* ---- skyline search --------------------------------------------------------------------- */

typedef struct {
    const Problem *p;
    int64_t cap;
    int64_t nodes, limit;
    volatile int32_t *stop;
    int m;             /* columns */
    int64_t *h;        /* height of the filled (placed or wasted) region per column */
    int64_t *slack;    /* capacity minus load, per column: waste it may still take */
    int64_t *rem;      /* unplaced buffers covering each column */
    int64_t *starts;   /* unplaced buffers starting at each column */
    int64_t *deferred; /* 1: the cell at h[k] stays empty */
    int64_t *cuts;     /* unplaced buffers covering both column k and k + 1 */
    int64_t *placed;
    int32_t *by_start; /* buffers grouped by first column, each group in rank order */
    int32_t *start_at; /* m + 1 group bounds */
    int32_t *first, *last;
    int64_t *sol;
    Log log;
} Sky;

/* Height a deferred run sees on one side: a wall (no unplaced buffer can span into it). */
static int64_t sky_side(const Sky *s, int k, int lo, int hi) {
    if (k < lo || k >= hi || s->rem[k] == 0) return BIG;
    return s->h[k];
}

/* If column k is in a deferred run whose neighbours are both higher, raise the run to the
 * lower neighbour. Returns 0 when that is impossible (no slack, or walls on both sides). */
static int sky_settle(Sky *s, int k, int lo, int hi) {
    if (k < lo || k >= hi || !s->deferred[k]) return 1;
    int64_t level = s->h[k];
    int a = k, b = k + 1;
    while (a - 1 >= lo && s->deferred[a - 1] && s->h[a - 1] == level) a--;
    while (b < hi && s->deferred[b] && s->h[b] == level) b++;
    int64_t left = sky_side(s, a - 1, lo, hi), right = sky_side(s, b, lo, hi);
    if (left <= level || right <= level) return 1; /* still waiting for a neighbour */
    int64_t target = left < right ? left : right;
    if (target == BIG) return 0;
    int64_t rise = target - level;
    for (int c = a; c < b; c++) {
        if (s->slack[c] < rise) return 0;
        log_set(&s->log, &s->slack[c], s->slack[c] - rise);
        log_set(&s->log, &s->h[c], target);
        log_set(&s->log, &s->deferred[c], 0);
    }
    return 1;
}

static int sky_search(Sky *s, int lo, int hi);

static int sky_split(Sky *s, int lo, int hi) {
    int cnt = 0;
    for (int k = lo; k < hi; k++) cnt += s->start_at[k + 1] - s->start_at[k];
    Split sp;
    if (!split_alloc(&sp, cnt, lo, hi)) return NOMEM;
    int nb = 0;
    for (int k = lo; k < hi; k++)
        for (int t = s->start_at[k]; t < s->start_at[k + 1]; t++)
            if (!s->placed[s->by_start[t]]) sp.bufs[nb++] = s->by_start[t];
    int ng = split_groups(&sp, nb, s->cuts, lo, hi, s->first, s->last);
    int status = ng < 0 ? NOMEM : FOUND;
    for (int g = 0; g < ng && status == FOUND; g++) {
        if (sp.bounds[g + 1] == sp.bounds[g]) continue;
        int glo = sp.span[2 * g], ghi = sp.span[2 * g + 1];
        /* The new walls may let deferred runs at the edges settle. */
        size_t mark = s->log.len;
        if (sky_settle(s, glo, glo, ghi) && sky_settle(s, ghi - 1, glo, ghi))
            status = sky_search(s, glo, ghi);
        else
            status = EXHAUSTED;
        if (s->log.failed) status = NOMEM;
        log_undo(&s->log, mark);
    }
    split_free(&sp);
    return status;
}

static int sky_search(Sky *s, int lo, int hi) {
    const Problem *p = s->p;
    if (s->nodes >= s->limit) return LIMIT;
    s->nodes++;
    if ((s->nodes & 255) == 0 && *s->stop) return STOPPED;
    int k = -1, waiting = 0;
    for (int c = lo; c < hi; c++) {
        if (s->rem[c] == 0) continue;
        if (s->deferred[c]) {
            waiting = 1;
            continue;
        }
        if (k < 0 || s->h[c] < s->h[k]) k = c;
    }
    if (k < 0) return waiting ? EXHAUSTED : FOUND;
    int64_t level = s->h[k];
    int end = k + 1;
    while (end < hi && s->rem[end] && !s->deferred[end] && s->h[end] == level) end++;
    /* 1. a buffer starting at column k covers the cell; those spanning the whole run of
     * columns at this level first (they keep the skyline flat) */
    for (int pass = 0; pass < 2; pass++)
    for (int t = s->start_at[k]; t < s->start_at[k + 1]; t++) {
        int i = s->by_start[t];
        if (s->placed[i] || p->col_b[i] > end || level + p->size[i] > s->cap) continue;
        if ((p->col_b[i] == end) != (pass == 0)) continue;
        if (level % p->align[i]) continue;
        size_t mark = s->log.len;
        int a = p->col_a[i], b = p->col_b[i], split = 0;
        log_set(&s->log, &s->placed[i], 1);
        s->sol[i] = level;
        log_set(&s->log, &s->starts[a], s->starts[a] - 1);
        for (int c = a; c < b; c++) {
            log_set(&s->log, &s->h[c], level + p->size[i]);
            log_set(&s->log, &s->rem[c], s->rem[c] - 1);
        }
        for (int c = a; c + 1 < b; c++) {
            log_set(&s->log, &s->cuts[c], s->cuts[c] - 1);
            if (s->cuts[c] == 0) split = 1;
        }
        int st = EXHAUSTED;
        if (sky_settle(s, a - 1, lo, hi) && sky_settle(s, b, lo, hi))
            st = split ? sky_split(s, lo, hi) : sky_search(s, lo, hi);
        if (s->log.failed) st = NOMEM;
        log_undo(&s->log, mark);
        if (st != EXHAUSTED) return st;
    }
    /* 2. the cell stays empty: defer the columns up to the next start */
    int stop = k + 1;
    while (stop < end && s->starts[stop] == 0) stop++;
    for (int c = k; c < stop; c++)
        if (s->slack[c] <= 0) return EXHAUSTED;
    size_t mark = s->log.len;
    for (int c = k; c < stop; c++) log_set(&s->log, &s->deferred[c], 1);
    int st = EXHAUSTED;
    if (sky_settle(s, k, lo, hi)) st = sky_search(s, lo, hi);
    if (s->log.failed) st = NOMEM;
    log_undo(&s->log, mark);
    return st;
}

int crw_skyline(const Problem *p, int64_t cap, const int32_t *rank, int64_t limit,
                volatile int32_t *stop, int64_t *out, int64_t *nodes) {
    int n = p->n, m = p->ncol;
    Sky s;
    memset(&s, 0, sizeof s);
    s.p = p;
    s.cap = cap;
    s.limit = limit;
    s.stop = stop;
    s.m = m;
    size_t cols = (size_t)m + 1;
    s.h = calloc(cols, sizeof(int64_t));
    s.slack = calloc(cols, sizeof(int64_t));
    s.rem = calloc(cols, sizeof(int64_t));
    s.starts = calloc(cols, sizeof(int64_t));
    s.deferred = calloc(cols, sizeof(int64_t));
    s.cuts = calloc(cols, sizeof(int64_t));
    s.placed = calloc((size_t)n + 1, sizeof(int64_t));
    s.by_start = malloc((size_t)(n + 1) * sizeof(int32_t));
    s.start_at = calloc(cols + 1, sizeof(int32_t));
    s.first = malloc((size_t)(n + 1) * sizeof(int32_t));
    s.last = malloc((size_t)(n + 1) * sizeof(int32_t));
    Cand *order = malloc((size_t)(n + 1) * sizeof(Cand));
    int status = NOMEM;
    if (!s.h || !s.slack || !s.rem || !s.starts || !s.deferred || !s.cuts || !s.placed ||
        !s.by_start || !s.start_at || !s.first || !s.last || !order)
        goto done;
    s.sol = out;
    status = FOUND;
    for (int c = 0; c < m; c++) s.slack[c] = cap;
    for (int i = 0; i < n; i++) {
        int a = p->col_a[i], b = p->col_b[i];
        s.first[i] = a;
        s.last[i] = b - 1;
        s.starts[a]++;
        for (int c = a; c < b; c++) {
            s.slack[c] -= p->size[i];
            s.rem[c]++;
        }
        for (int c = a; c + 1 < b; c++) s.cuts[c]++;
        order[i].off = a;
        order[i].rank = rank[i];
        order[i].buf = i;
    }
    for (int c = 0; c < m; c++)
        if (s.slack[c] < 0) status = EXHAUSTED;
    if (status == EXHAUSTED) goto done;
    qsort(order, (size_t)n, sizeof(Cand), cand_cmp);
    for (int i = 0; i < n; i++) {
        s.by_start[i] = order[i].buf;
        s.start_at[order[i].off + 1]++;
    }
    for (int c = 0; c < m; c++) s.start_at[c + 1] += s.start_at[c];
    status = p->split ? sky_split(&s, 0, m) : sky_search(&s, 0, m);
done:
    *nodes = s.nodes;
    free(s.h);
    free(s.slack);
    free(s.rem);
    free(s.starts);
    free(s.deferred);
    free(s.cuts);
    free(s.placed);
    free(s.by_start);
    free(s.start_at);
    free(s.first);
    free(s.last);
    free(s.log.items);
    free(order);
    return status;
}

/* ---- sweep search (no slack anywhere) ---------------------------------------------------
 *
 * When every column is exactly full at the capacity, the buffers that start at a column
 * must tile exactly the holes left by those that end there. The search walks the columns
 * left to right and enumerates those tilings. Lookahead: in the layout after a column,
 * memory-adjacent buffers that all end at the same later column e, with buffers that live
 * on past e (or the memory edges) right below and above them, leave a hole whose size is
 * final; it must be a sum of sizes of buffers starting at e, and all such holes of e
 * together must be filled by disjoint subsets of them (sweep_future_ok, also run after
 * each hole while tiling, for column t + 1). On entering a column, each hole alone must
 * have a filling that passes those checks (sweep_holes_ok).
 *
 * Conflict-directed backjumping (Prosser): the filling of one hole of one column is a
 * decision level. A failure records the levels it depends on (the buffers its checks read,
 * the buffers that shape the holes involved); when every filling of a hole has failed and
 * its level is not among the reasons, the search returns straight past it. Layouts known
 * to fail are remembered by their blocks (adjacent buffers ending together act as one),
 * with their reasons. Value order: a newcomer that fills the rest of the hole exactly
 * first; two newcomers side by side that end together are tried in one order only. */

/* A layout (before some column) known to fail: a 128-bit fingerprint of the column and of
 * its blocks (runs of memory-adjacent buffers ending at the same column), and the blocks
 * the failure depended on (bit b: block b; bit 63: blocks 63 and up). */
typedef struct {
    uint64_t key[2];
    uint64_t blocks;
} SweepFailed;

typedef struct {
    const Problem *p;
    int64_t cap;
    int64_t nodes, limit;
    volatile int32_t *stop;
    int m, unit, words;   /* sums are kept as bitsets over multiples of `unit` */
    uint64_t *sums;       /* per column: subset sums of the sizes starting there */
    int32_t *start_at, *by_start;
    int32_t *lay;         /* layout stack: per depth, buffers ordered by offset */
    int32_t *lay_len;
    int32_t maxlive;
    int64_t *used;        /* per buffer: placed */
    int64_t *hole_lo, *hole_hi;
    uint64_t *scratch;
    uint64_t *grow;       /* per column e: subset sums of the buffers ending at e */
    int t;                /* column being tiled */
    uint32_t **memo;      /* per column: per set of used newcomers, visit << 1 | fillable */
    uint32_t *visit;      /* per column: visits so far (memo entries of older ones are stale) */
    int64_t *sol;
    int32_t *win;         /* scratch layout of sweep_holes_ok */
    int cw;               /* 64-bit words of a set of levels */
    uint64_t *acc;        /* per level: levels its failures so far depend on */
    uint64_t *fail;       /* levels the failure being returned depends on */
    int32_t *lev;         /* per buffer: level that placed it */
    int32_t *base;        /* per column: level of its first hole */
    int64_t *joint;       /* scratch of sweep_future_ok: sizes of closed holes, then items */
    int32_t *jdone;       /* per column: the call of sweep_future_ok that last checked it */
    int32_t jstamp;
    int32_t *qpos;        /* per buffer: its index in by_start */
    int swappable;        /* every alignment divides every size: neighbours may swap */
    SweepFailed *failed;  /* layouts known to fail, by fingerprint (open addressing) */
    size_t failed_mask;   /* slots - 1 */
    int32_t *block;       /* scratch: block index of each layout entry */
} Sweep;

#define JUMP 6 /* a later failure does not depend on this hole's filling */

#define SWEEP_LEVELS_MAX_BYTES ((size_t)64 << 20)
#define SWEEP_FAILED_SLOTS ((size_t)1 << 19) /* 12 MiB */
#define SWEEP_JOINT_BUDGET 1000             /* steps per column of sweep_joint */
#define SWEEP_HOLE_BUDGET 2000              /* steps per hole of sweep_holes_ok */
#define MEMO_MAX_NEW 22                    /* newcomers per column memoised up to this */
#define MEMO_MAX_BYTES ((size_t)256 << 20) /* and up to this in all */

static int64_t gcd64(int64_t a, int64_t b) {
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Sets of levels (bitsets of w->cw words): what a failure depends on. A level is the
 * filling of one hole of one column (the offsets of the buffers placed in it), numbered
 * along the current path: hole h of column t is level base[t] + h. */
static int set_has(const uint64_t *set, int level) {
    return (int)(set[level >> 6] >> (level & 63) & 1);
}

static void set_add(uint64_t *set, int level) { set[level >> 6] |= (uint64_t)1 << (level & 63); }

/* Adds every level below `t`. */
static void set_below(const Sweep *w, uint64_t *set, int t) {
    for (int x = 0; x < w->cw; x++) {
        int64_t lo = (int64_t)x * 64;
        set[x] |= t >= lo + 64 ? ~(uint64_t)0 : t > lo ? ((uint64_t)1 << (t - lo)) - 1 : 0;
    }
}

static int sweep_has_sum(const Sweep *w, int col, int64_t bytes) {
    if (bytes % w->unit) return 0;
    int64_t q = bytes / w->unit;
    if (q < 0 || q >= (int64_t)w->words * 64) return 0;
    const uint64_t *bits = w->sums + (size_t)col * w->words;
    return (int)((bits[q >> 6] >> (q & 63)) & 1);
}

static int t_now(const Sweep *w) { return w->t; }

/* 1 if a run of `bytes` ending at column e, which other buffers ending at e may still join
 * (through regions refilled later), can become a hole the buffers starting at e refill. */
static int sweep_may_grow(const Sweep *w, int e, int t, int64_t bytes) {
    if (!w->grow) return 1;
    if (bytes % w->unit) return 0;
    int64_t q = bytes / w->unit;
    int ws = (int)(q >> 6), bs = (int)(q & 63);
    const uint64_t *later = w->grow + (size_t)e * w->words;
    (void)t;
    const uint64_t *need = w->sums + (size_t)e * w->words;
    for (int y = w->words - 1; y >= ws; y--) {
        uint64_t v = later[y - ws] << bs;
        if (bs && y - ws - 1 >= 0) v |= later[y - ws - 1] >> (64 - bs);
        if (v & need[y]) return 1;
    }
    return 0;
}

/* Called after appending lay[n - 1] to a layout under construction (by offset): if that
 * closes, from above, a run of buffers that all end at the same later column e and sit on a
 * buffer living past e (or on byte 0), the run's bytes are a hole at e that only buffers
 * starting at e can refill. 0 if they cannot. `top` marks the memory edge above lay[n-1]. */
static int sweep_closes_in(const Sweep *w, const int32_t *lay, int n, int top, int open) {
    const Problem *p = w->p;
    int k = top ? n : n - 1; /* the run to test ends at index k - 1 */
    if (k <= 0) return 1;
    int e = p->col_b[lay[k - 1]];
    if (e >= w->m) return 1;
    if (!top && p->col_b[lay[k]] < e) { /* open above: later buffers may extend the run */
        int r = k - 1;
        int64_t bytes = p->size[lay[r]];
        while (r > 0 && p->col_b[lay[r - 1]] == e) bytes += p->size[lay[--r]];
        return sweep_may_grow(w, e, t_now(w), bytes);
    }
    if (!top && p->col_b[lay[k]] == e) return 1; /* the run goes on */
    int r = k - 1;
    int64_t bytes = p->size[lay[r]];
    while (r > 0 && p->col_b[lay[r - 1]] == e) bytes += p->size[lay[--r]];
    if (r > 0 && p->col_b[lay[r - 1]] < e) return sweep_may_grow(w, e, t_now(w), bytes);
    if (r == 0 && open) return sweep_may_grow(w, e, t_now(w), bytes);
    return sweep_has_sum(w, e, bytes);
}

static int sweep_closes(const Sweep *w, const int32_t *lay, int n, int top) {
    return sweep_closes_in(w, lay, n, top, 0);
}

/* After sweep_closes(lay, n, top) failed: adds to `set` the levels of the entries it read
 * (the run, the entry below it and the one above), all its answer depends on. */
static void sweep_closes_read(const Sweep *w, const int32_t *lay, int n, int top,
                              uint64_t *set) {
    int k = top ? n : n - 1, e = w->p->col_b[lay[k - 1]], r = k - 1;
    while (r > 0 && w->p->col_b[lay[r - 1]] == e) r--;
    for (int x = r > 0 ? r - 1 : 0; x <= k && x < n; x++) set_add(set, w->lev[lay[x]]);
}

/* Adds to `set` what decides the holes k0..k1-1 of column t (old layout at `depth`): the
 * buffers leaving them and the two around each. With those in place the holes are the same
 * whatever else changes. */
static void sweep_holes_why(const Sweep *w, int depth, int k0, int k1, uint64_t *set) {
    const int32_t *old = w->lay + (size_t)depth * w->maxlive;
    const int64_t *lo = w->hole_lo + (size_t)depth * w->maxlive;
    const int64_t *hi = w->hole_hi + (size_t)depth * w->maxlive;
    int k = k0;
    for (int a = 0; a < w->lay_len[depth] && k < k1; a++) {
        int i = old[a];
        int64_t bottom = w->sol[i], top = bottom + w->p->size[i];
        while (k < k1 && hi[k] < bottom) k++;
        /* touches hole k, or hole k + 1 (a buffer between two holes touches both) */
        for (int x = k; x < k1 && x <= k + 1; x++)
            if (top >= lo[x] && bottom <= hi[x]) set_add(set, w->lev[i]);
    }
}

/* 1 if `room` bytes are a sum of sizes of the unused buffers starting at t. */
static int sweep_fillable(Sweep *w, int t, int64_t room) {
    const Problem *p = w->p;
    if (room % w->unit) return 0;
    int64_t q = room / w->unit;
    if (q >= (int64_t)w->words * 64) return 0;
    uint64_t *bits = w->scratch;
    memset(bits, 0, (size_t)w->words * sizeof(uint64_t));
    bits[0] = 1;
    for (int x = w->start_at[t]; x < w->start_at[t + 1]; x++) {
        int i = w->by_start[x];
        if (w->used[i]) continue;
        int64_t shift = p->size[i] / w->unit;
        int ws = (int)(shift >> 6), bs = (int)(shift & 63);
        for (int y = w->words - 1; y >= ws; y--) {
            uint64_t v = bits[y - ws] << bs;
            if (bs && y - ws - 1 >= 0) v |= bits[y - ws - 1] >> (64 - bs);
            bits[y] |= v;
        }
    }
    return (int)((bits[q >> 6] >> (q & 63)) & 1);
}

/* 1 if the newcomers of column t not in `mask` can fill what is left of the holes exactly,
 * the holes being filled in order (so the bytes used by `mask` say where the filling is).
 * Ignores the order inside holes: a necessary condition, memoised per mask. */
static int sweep_completable(Sweep *w, int t, int depth, int nholes, uint32_t mask) {
    const Problem *p = w->p;
    uint32_t *memo = w->memo[t];
    if (!memo) return 1;
    if (memo[mask] >> 1 == w->visit[t]) return (int)(memo[mask] & 1);
    int first = w->start_at[t], k = w->start_at[t + 1] - first;
    const int64_t *lo = w->hole_lo + (size_t)depth * w->maxlive;
    const int64_t *hi = w->hole_hi + (size_t)depth * w->maxlive;
    int64_t used = 0;
    for (int x = 0; x < k; x++)
        if (mask >> x & 1) used += p->size[w->by_start[first + x]];
    int h = 0;
    while (h < nholes && used >= hi[h] - lo[h]) used -= hi[h] - lo[h], h++;
    int ok = 0;
    if (h == nholes) {
        ok = used == 0;
    } else {
        int64_t room = hi[h] - lo[h] - used, last = -1;
        for (int x = 0; x < k && !ok; x++) {
            int64_t size = p->size[w->by_start[first + x]];
            if (mask >> x & 1 || size > room || size == last) continue;
            last = size; /* equal sizes lead to equal answers: try one */
            ok = sweep_completable(w, t, depth, nholes, mask | 1u << x);
        }
    }
    memo[mask] = w->visit[t] << 1 | (uint32_t)ok;
    return ok;
}

static int sweep_column(Sweep *w, int t, int depth);
static int sweep_column_new(Sweep *w, int t, int depth);
static int sweep_fill(Sweep *w, int t, int depth, int nholes, int h, int64_t pos, int n, int a,
                      uint32_t mask);

/* 1 if the closed holes hole[0..k) can be filled at once by disjoint subsets of item[0..c)
 * (sorted by size, descending); item[x] < 0 marks one taken. Hole j is filled before j+1.
 * Running out of `*budget` answers 1. */
static int sweep_joint(int64_t *hole, int k, int j, int64_t room, int64_t *item, int c, int from,
                       int64_t *budget) {
    if (room == 0) {
        if (++j == k) return 1;
        return sweep_joint(hole, k, j, hole[j], item, c, 0, budget);
    }
    if (--*budget < 0) return 1;
    int64_t last = -1;
    for (int x = from; x < c; x++) {
        int64_t size = item[x];
        if (size < 0 || size > room || size == last) continue;
        last = size; /* equal sizes lead to equal answers */
        item[x] = -1;
        int ok = sweep_joint(hole, k, j, room - size, item, c, x + 1, budget);
        item[x] = size;
        if (ok) return 1;
    }
    return 0;
}

/* Called with lay[0..n) the next layout while column t is tiled: complete, or (`partial`)
 * up to the hole just filled. For every later column e (only t + 1 when partial: the
 * columns further on are checked once the column is complete), the runs of buffers ending
 * at e with buffers living past e (or the memory edges) on both sides are holes of e
 * whatever comes next, and the buffers starting at e must fill them all at once (each on
 * its own is checked as it closes). 0 if they cannot; w->fail then holds the levels of
 * those runs and their neighbours. */
static int sweep_future_ok(Sweep *w, int t, const int32_t *lay, int n, int partial) {
    const Problem *p = w->p;
    int64_t *hole = w->joint, *item = w->joint + n + 1;
    w->jstamp++;
    for (int k0 = 0; k0 < n; k0++) {
        int e = p->col_b[lay[k0]];
        if ((partial ? e != t + 1 : e <= t + 1) || e >= w->m) continue;
        if (w->jdone[e] == w->jstamp) continue; /* this column's runs were checked already */
        w->jdone[e] = w->jstamp;
        /* closed runs ending at e */
        int k = 0;
        for (int a = 0; a < n;) {
            if (p->col_b[lay[a]] != e) {
                a++;
                continue;
            }
            int b = a;
            int64_t bytes = 0;
            while (b < n && p->col_b[lay[b]] == e) bytes += p->size[lay[b++]];
            if ((a == 0 || p->col_b[lay[a - 1]] > e) && (b == n ? !partial : p->col_b[lay[b]] > e))
                hole[k++] = bytes;
            a = b;
        }
        if (k < 2) continue;
        int c = 0;
        for (int q = w->start_at[e]; q < w->start_at[e + 1]; q++)
            item[c++] = p->size[w->by_start[q]];
        /* largest holes first: they constrain most */
        for (int x = 1; x < k; x++)
            for (int y = x; y > 0 && hole[y] > hole[y - 1]; y--) {
                int64_t v = hole[y];
                hole[y] = hole[y - 1];
                hole[y - 1] = v;
            }
        for (int x = 1; x < c; x++)
            for (int y = x; y > 0 && item[y] > item[y - 1]; y--) {
                int64_t v = item[y];
                item[y] = item[y - 1];
                item[y - 1] = v;
            }
        int64_t budget = SWEEP_JOINT_BUDGET;
        int ok = sweep_joint(hole, k, 0, hole[0], item, c, 0, &budget);
        if (ok) continue;
        memset(w->fail, 0, (size_t)w->cw * 8);
        for (int a = 0; a < n; a++) {
            int near = p->col_b[lay[a]] == e || (a > 0 && p->col_b[lay[a - 1]] == e) ||
                       (a + 1 < n && p->col_b[lay[a + 1]] == e);
            if (near) set_add(w->fail, w->lev[lay[a]]);
        }
        return 0;
    }
    return 1;
}

/* Hole h of column t is filled (h = -1: the column starts): copy the survivors up to the
 * next hole into the next layout, then fill that hole, or tile the next column. On failure
 * w->fail holds the levels it depends on; EXHAUSTED if that includes hole h's level
 * (then its other fillings are worth trying), JUMP if not. */
static int sweep_next(Sweep *w, int t, int depth, int nholes, int h, int n, int a,
                      uint32_t mask) {
    const Problem *p = w->p;
    const int32_t *old = w->lay + (size_t)depth * w->maxlive;
    int32_t *nxt = w->lay + (size_t)(depth + 1) * w->maxlive;
    const int64_t *lo = w->hole_lo + (size_t)depth * w->maxlive;
    int on = w->lay_len[depth];
    int level = w->base[t] + h; /* of hole h (below base[t] when h = -1: none) */
    uint64_t *acc = h >= 0 ? w->acc + (size_t)level * w->cw : NULL;
    int64_t until = h + 1 < nholes ? lo[h + 1] : w->cap;
    int ok = 1, top = 0;
    while (ok && a < on && w->sol[old[a]] < until) {
        int i = old[a++];
        if (p->col_b[i] == t) continue;
        nxt[n++] = i;
        ok = sweep_closes(w, nxt, n, 0);
    }
    if (ok && h + 1 == nholes) ok = sweep_closes(w, nxt, n, top = 1);
    if (!ok) {
        memset(w->fail, 0, (size_t)w->cw * 8);
        sweep_closes_read(w, nxt, n, top, w->fail);
        if (!acc) return EXHAUSTED;
        for (int x = 0; x < w->cw; x++) acc[x] |= w->fail[x];
        acc[level >> 6] &= ~((uint64_t)1 << (level & 63));
        return EXHAUSTED;
    }
    int st;
    if (h + 1 == nholes) {
        w->lay_len[depth + 1] = n;
        st = sweep_future_ok(w, t, nxt, n, 0) ? sweep_column(w, t + 1, depth + 1) : EXHAUSTED;
    } else if (h >= 0 && !sweep_future_ok(w, t, nxt, n, 1)) {
        st = EXHAUSTED; /* holes of later columns closed so far cannot be filled together */
    } else {
        /* the next hole's fillings depend on its extent and on the newcomers left */
        uint64_t *inner = w->acc + (size_t)(level + 1) * w->cw;
        memset(inner, 0, (size_t)w->cw * 8);
        sweep_holes_why(w, depth, h + 1, h + 2, inner);
        for (int l = w->base[t]; l <= level; l++) set_add(inner, l);
        st = sweep_fill(w, t, depth, nholes, h + 1, lo[h + 1], n, a, mask);
        if (st == EXHAUSTED) memcpy(w->fail, inner, (size_t)w->cw * 8);
        else if (st == JUMP) st = EXHAUSTED;
    }
    if (st != EXHAUSTED || !acc) return st;
    /* conflict-directed backjumping: unless this hole's filling is part of the reason, its
     * other fillings fail alike */
    if (!set_has(w->fail, level)) return JUMP;
    for (int x = 0; x < w->cw; x++) acc[x] |= w->fail[x];
    acc[level >> 6] &= ~((uint64_t)1 << (level & 63));
    return EXHAUSTED;
}

/* Fill hole h from byte `pos` with the unused buffers starting at t, building the next
 * layout in `nxt` (n entries so far; survivors of the old layout from index a). The reasons
 * of the failures found here gather in acc of the hole's level. */
static int sweep_fill(Sweep *w, int t, int depth, int nholes, int h, int64_t pos, int n, int a,
                      uint32_t mask) {
    const Problem *p = w->p;
    int level = w->base[t] + h;
    uint64_t *acc = w->acc + (size_t)level * w->cw;
    if (!sweep_completable(w, t, depth, nholes, mask)) {
        /* depends on the sizes of this hole and those above, and the newcomers left */
        sweep_holes_why(w, depth, h, nholes, acc);
        for (int l = w->base[t]; l < level; l++) set_add(acc, l);
        return EXHAUSTED;
    }
    int32_t *nxt = w->lay + (size_t)(depth + 1) * w->maxlive;
    const int64_t *hi = w->hole_hi + (size_t)depth * w->maxlive;
    w->t = t;
    if (pos == hi[h]) return sweep_next(w, t, depth, nholes, h, n, a, mask);
    int64_t room = hi[h] - pos;
    if (!sweep_fillable(w, t, room)) return EXHAUSTED; /* the domain's reasons are in acc */
    int64_t last_size = -1, last_end = -1, last_align = -1;
    const int64_t *lo = w->hole_lo + (size_t)depth * w->maxlive;
    int below = w->swappable && pos > lo[h] ? nxt[n - 1] : -1; /* newcomer right below */
    /* a newcomer that fills the rest of the hole first, then the others */
    for (int pass = 0; pass < 2; pass++, last_size = last_end = last_align = -1)
    for (int q = w->start_at[t]; q < w->start_at[t + 1]; q++) {
        int i = w->by_start[q];
        if (w->used[i] || p->size[i] > room || pos % p->align[i]) continue;
        if ((p->size[i] == room) != (pass == 0)) continue;
        /* buffers alike in size, end and alignment are interchangeable: try one */
        if (p->size[i] == last_size && p->col_b[i] == last_end && p->align[i] == last_align)
            continue;
        /* two newcomers side by side that end together act as one buffer: try one order */
        if (below >= 0 && p->col_b[i] == p->col_b[below] && q < w->qpos[below]) continue;
        last_size = p->size[i];
        last_end = p->col_b[i];
        last_align = p->align[i];
        if (w->nodes >= w->limit) return LIMIT;
        w->nodes++;
        if ((w->nodes & 255) == 0 && *w->stop) return STOPPED;
        nxt[n] = i;
        w->lev[i] = level;
        if (!sweep_closes(w, nxt, n + 1, 0)) { /* the run below i is a dead hole */
            sweep_closes_read(w, nxt, n + 1, 0, acc);
            acc[level >> 6] &= ~((uint64_t)1 << (level & 63));
            continue;
        }
        w->used[i] = 1;
        w->sol[i] = pos;
        /* (bit positions past 31 only occur where the memo is off) */
        uint32_t bit = q - w->start_at[t] < 32 ? (uint32_t)1 << (q - w->start_at[t]) : 0;
        int st = sweep_fill(w, t, depth, nholes, h, pos + p->size[i], n + 1, a, mask | bit);
        w->used[i] = 0;
        if (st != EXHAUSTED) return st;
    }
    return EXHAUSTED;
}

/* 1 if hole h of column t can be tiled on its own, by unused newcomers, so that every run
 * the checks of sweep_closes see between the hole's neighbouring holes stays refillable.
 * `win` holds the survivors between the previous hole and h (count `nb`); what lies below
 * them is unknown unless h is the first hole, so runs reaching down there count as open.
 * A necessary condition for the column (other holes may need the same newcomers); `*budget`
 * bounds the work, and running out answers 1. */
static int sweep_hole_ok(Sweep *w, int t, int depth, int nholes, int h, int64_t pos, int32_t *win,
                         int n, int64_t *budget) {
    const Problem *p = w->p;
    const int32_t *old = w->lay + (size_t)depth * w->maxlive;
    const int64_t *lo = w->hole_lo + (size_t)depth * w->maxlive;
    const int64_t *hi = w->hole_hi + (size_t)depth * w->maxlive;
    int open = h > 0;
    if (--*budget < 0) return 1;
    if (pos == hi[h]) {
        int64_t until = h + 1 < nholes ? lo[h + 1] : w->cap;
        int on = w->lay_len[depth];
        for (int a = 0; a < on; a++) {
            int i = old[a];
            if (w->sol[i] < hi[h]) continue;
            if (w->sol[i] >= until) break;
            win[n++] = i;
            if (!sweep_closes_in(w, win, n, 0, open)) {
                sweep_closes_read(w, win, n, 0, w->fail);
                return 0;
            }
        }
        if (h + 1 < nholes || sweep_closes_in(w, win, n, 1, open)) return 1;
        return sweep_closes_read(w, win, n, 1, w->fail), 0;
    }
    int64_t room = hi[h] - pos, last_size = -1, last_end = -1, last_align = -1;
    for (int q = w->start_at[t]; q < w->start_at[t + 1]; q++) {
        int i = w->by_start[q];
        if (w->used[i] || p->size[i] > room || pos % p->align[i]) continue;
        if (p->size[i] == last_size && p->col_b[i] == last_end && p->align[i] == last_align)
            continue;
        last_size = p->size[i];
        last_end = p->col_b[i];
        last_align = p->align[i];
        win[n] = i;
        w->lev[i] = w->base[t]; /* a level of this column: dropped from the reasons */
        if (!sweep_closes_in(w, win, n + 1, 0, open)) {
            sweep_closes_read(w, win, n + 1, 0, w->fail);
            continue;
        }
        w->used[i] = 1;
        int ok = sweep_hole_ok(w, t, depth, nholes, h, pos + p->size[i], win, n + 1, budget);
        w->used[i] = 0;
        if (ok) return 1;
    }
    return 0;
}

/* 1 unless some hole of column t has no tiling of its own (see sweep_hole_ok). */
static int sweep_holes_ok(Sweep *w, int t, int depth, int nholes) {
    const int32_t *old = w->lay + (size_t)depth * w->maxlive;
    const int64_t *lo = w->hole_lo + (size_t)depth * w->maxlive;
    const int64_t *hi = w->hole_hi + (size_t)depth * w->maxlive;
    int32_t *win = w->win;
    int on = w->lay_len[depth];
    for (int h = 0; h < nholes; h++) {
        int64_t from = h ? hi[h - 1] : 0;
        int nb = 0;
        for (int a = 0; a < on; a++) {
            int i = old[a];
            if (w->sol[i] >= from && w->sol[i] < lo[h]) win[nb++] = i;
        }
        int64_t budget = SWEEP_HOLE_BUDGET;
        memset(w->fail, 0, (size_t)w->cw * 8); /* gathers what the failed checks read */
        int ok = sweep_hole_ok(w, t, depth, nholes, h, lo[h], win, nb, &budget);
        if (!ok) {
            /* no filling of the hole passes: the reasons are the buffers those checks read
             * and the hole's extent, the buffers that leave it */
            sweep_holes_why(w, depth, h, h + 1, w->fail);
            w->fail[w->base[t] >> 6] &= ~((uint64_t)1 << (w->base[t] & 63));
            return 0;
        }
    }
    return 1;
}

/* The layout before column t with adjacent buffers ending together merged into blocks:
 * every check reads blocks only (sizes and end columns), so two layouts with the same
 * blocks have the same future. Writes each entry's block index into w->block. */
static void sweep_key(const Sweep *w, const int32_t *lay, int n, int t, uint64_t key[2]) {
    const Problem *p = w->p;
    uint64_t a = 0x9E3779B97F4A7C15ull ^ (uint64_t)t, b = 0xC2B2AE3D27D4EB4Full + (uint64_t)t;
    int count = 0;
    for (int k = 0; k < n; count++) {
        int e = p->col_b[lay[k]];
        int64_t bytes = 0;
        while (k < n && p->col_b[lay[k]] == e) {
            w->block[k] = count < 63 ? count : 63;
            bytes += p->size[lay[k++]];
        }
        uint64_t v = (uint64_t)bytes * 0x100000001B3ull ^ (uint64_t)e;
        a = (a ^ v) * 0xFF51AFD7ED558CCDull;
        a ^= a >> 29;
        b = (b + v) * 0xC4CEB9FE1A85EC53ull;
        b ^= b >> 31;
    }
    key[0] = a | 1; /* never the empty slot */
    key[1] = b;
}

/* The slot holding `key`, else an empty one, else (the table is a cache) its home slot. */
static SweepFailed *sweep_slot(const Sweep *w, const uint64_t key[2], int *found) {
    for (size_t probe = 0; probe < 8; probe++) {
        SweepFailed *f = w->failed + ((key[0] + probe) & w->failed_mask);
        *found = f->key[0] == key[0] && f->key[1] == key[1];
        if (*found || !f->key[0]) return f;
    }
    return w->failed + (key[0] & w->failed_mask);
}

/* The slot of the layout before column t (at `depth`); its key in `key`. */
static SweepFailed *sweep_lookup(Sweep *w, int t, int depth, uint64_t key[2], int *found) {
    sweep_key(w, w->lay + (size_t)depth * w->maxlive, w->lay_len[depth], t, key);
    return sweep_slot(w, key, found);
}

/* 1 if the layout before column t (at `depth`) failed before; w->fail then gets the levels
 * of the blocks that failure depended on. */
static int sweep_failed_before(Sweep *w, int t, int depth) {
    const int32_t *lay = w->lay + (size_t)depth * w->maxlive;
    int n = w->lay_len[depth], found;
    uint64_t key[2];
    SweepFailed *f = sweep_lookup(w, t, depth, key, &found);
    if (!found) return 0;
    memset(w->fail, 0, (size_t)w->cw * 8);
    for (int k = 0; k < n; k++)
        if (f->blocks >> w->block[k] & 1) set_add(w->fail, w->lev[lay[k]]);
    return 1;
}

/* Records that the layout before column t failed, for the reasons in w->fail. */
static void sweep_remember(Sweep *w, int t, int depth) {
    const int32_t *lay = w->lay + (size_t)depth * w->maxlive;
    int n = w->lay_len[depth], found;
    uint64_t key[2];
    SweepFailed *f = sweep_lookup(w, t, depth, key, &found);
    f->key[0] = key[0];
    f->key[1] = key[1];
    f->blocks = 0;
    for (int k = 0; k < n; k++)
        if (set_has(w->fail, w->lev[lay[k]])) f->blocks |= (uint64_t)1 << w->block[k];
}

static int sweep_column(Sweep *w, int t, int depth) {
    if (t == w->m) return FOUND;
    if (sweep_failed_before(w, t, depth)) return EXHAUSTED;
    int st = sweep_column_new(w, t, depth);
    if (st == EXHAUSTED) sweep_remember(w, t, depth);
    return st;
}

/* sweep_column for a layout not known to fail. */
static int sweep_column_new(Sweep *w, int t, int depth) {
    const Problem *p = w->p;
    w->t = t;
    const int32_t *lay = w->lay + (size_t)depth * w->maxlive;
    int n = w->lay_len[depth];
    int64_t *lo = w->hole_lo + (size_t)depth * w->maxlive;
    int64_t *hi = w->hole_hi + (size_t)depth * w->maxlive;
    int nholes = 0;
    int64_t cursor = 0;
    for (int k = 0; k <= n; k++) {
        int gone = k < n && p->col_b[lay[k]] == t;
        int64_t at = k < n ? w->sol[lay[k]] : w->cap;
        if (k == n || !gone) {
            if (at > cursor) {
                if (nholes && hi[nholes - 1] == cursor) hi[nholes - 1] = at;
                else {
                    lo[nholes] = cursor;
                    hi[nholes] = at;
                    nholes++;
                }
            }
            if (k < n) cursor = at + p->size[lay[k]];
        }
    }
    w->base[t + 1] = w->base[t] + nholes;
    memset(w->fail, 0, (size_t)w->cw * 8);
    if (nholes == 0 && w->start_at[t + 1] > w->start_at[t])
        return set_below(w, w->fail, w->base[t]), EXHAUSTED;
    if (!sweep_holes_ok(w, t, depth, nholes)) return EXHAUSTED;
    w->visit[t]++; /* a new layout below: earlier fillability answers no longer hold */
    return sweep_next(w, t, depth, nholes, -1, 0, 0, 0);
}

int crw_sweep(const Problem *p, int64_t cap, const int32_t *rank, int64_t limit,
              volatile int32_t *stop, int64_t *out, int64_t *nodes) {
    int n = p->n, m = p->ncol;
    Sweep w;
    memset(&w, 0, sizeof w);
    w.p = p;
    w.cap = cap;
    w.limit = limit;
    w.stop = stop;
    w.m = m;
    w.sol = out;
    int status = NOMEM;
    int64_t unit = cap;
    for (int i = 0; i < n; i++) unit = gcd64(unit, p->size[i]);
    if (unit <= 0) unit = 1;
    w.unit = (int)(unit > (1 << 30) ? 1 : unit);
    int64_t bits = cap / w.unit + 1;
    if (bits > ((int64_t)1 << 24)) {
        *nodes = 0;
        return LIMIT; /* too fine-grained for the bitsets: give up, other searches go on */
    }
    w.words = (int)((bits + 63) / 64);
    size_t cols = (size_t)m + 2;
    w.sums = calloc(cols * (size_t)w.words, sizeof(uint64_t));
    w.start_at = calloc(cols + 1, sizeof(int32_t));
    w.by_start = malloc((size_t)(n + 1) * sizeof(int32_t));
    w.used = calloc((size_t)n + 1, sizeof(int64_t));
    Cand *order = malloc((size_t)(n + 1) * sizeof(Cand));
    int64_t *load = calloc(cols, sizeof(int64_t));
    if (!w.sums || !w.start_at || !w.by_start || !w.used || !order ||
        !load)
        goto done;
    for (int i = 0; i < n; i++)
        for (int c = p->col_a[i]; c < p->col_b[i]; c++) load[c] += p->size[i];
    status = EXHAUSTED;
    for (int c = 0; c < m; c++)
        if (load[c] > cap) goto done;
    status = LIMIT; /* not applicable: some column has slack */
    for (int c = 0; c < m; c++)
        if (load[c] != cap) goto done;
    int maxlive = 1;
    for (int c = 0; c < m; c++) {
        int here = 0;
        for (int i = 0; i < n; i++)
            if (p->col_a[i] <= c && c < p->col_b[i]) here++;
        if (here > maxlive) maxlive = here;
    }
    w.maxlive = maxlive + 1;
    w.lay = calloc((cols + 1) * (size_t)w.maxlive, sizeof(int32_t));
    w.lay_len = calloc(cols + 1, sizeof(int32_t));
    w.hole_lo = calloc((cols + 1) * (size_t)w.maxlive, sizeof(int64_t));
    w.hole_hi = calloc((cols + 1) * (size_t)w.maxlive, sizeof(int64_t));
    w.scratch = calloc((size_t)w.words, sizeof(uint64_t));
    w.memo = calloc(cols + 1, sizeof(uint32_t *));
    w.visit = calloc(cols + 1, sizeof(uint32_t));
    w.win = calloc((size_t)w.maxlive * 2, sizeof(int32_t));
    int nlev = n + m + 2; /* holes along a path: at most one per buffer ending, plus one */
    w.cw = (nlev + 63) / 64;
    if ((size_t)nlev * (size_t)w.cw * 8 > SWEEP_LEVELS_MAX_BYTES) {
        status = LIMIT; /* too many buffers for the conflict sets: other searches go on */
        goto done;
    }
    w.acc = calloc((size_t)nlev * (size_t)w.cw, sizeof(uint64_t));
    w.lev = calloc((size_t)n + 1, sizeof(int32_t));
    w.base = calloc(cols + 1, sizeof(int32_t));
    w.joint = calloc((size_t)w.maxlive + (size_t)n + 2, sizeof(int64_t));
    w.jdone = calloc(cols + 1, sizeof(int32_t));
    w.block = calloc((size_t)w.maxlive, sizeof(int32_t));
    w.failed = calloc(SWEEP_FAILED_SLOTS, sizeof(SweepFailed));
    w.failed_mask = SWEEP_FAILED_SLOTS - 1;
    w.fail = calloc((size_t)w.cw, sizeof(uint64_t));
    if (!w.lay || !w.lay_len || !w.hole_lo || !w.hole_hi || !w.scratch || !w.memo || !w.visit ||
        !w.win || !w.acc || !w.fail || !w.lev || !w.base || !w.joint || !w.jdone || !w.block ||
        !w.failed) {
        status = NOMEM;
        goto done;
    }
    /* buffers by start column, largest first (then rank) */
    for (int i = 0; i < n; i++) {
        order[i].off = p->col_a[i];
        order[i].rank = rank[i];
        order[i].buf = i;
        w.start_at[p->col_a[i] + 1]++;
    }
    qsort(order, (size_t)n, sizeof(Cand), cand_cmp);
    for (int i = 0; i < n; i++) w.by_start[i] = order[i].buf;
    w.qpos = calloc((size_t)n + 1, sizeof(int32_t));
    if (!w.qpos) {
        status = NOMEM;
        goto done;
    }
    for (int q = 0; q < n; q++) w.qpos[w.by_start[q]] = q;
    w.swappable = 1;
    for (int i = 0; i < n; i++)
        if (w.unit % p->align[i]) w.swappable = 0;
    for (int c = 0; c < m; c++) w.start_at[c + 1] += w.start_at[c];
    /* subset sums of the sizes starting at each column */
    for (int c = 0; c < m; c++) {
        uint64_t *bitsc = w.sums + (size_t)c * w.words;
        bitsc[0] = 1;
        for (int q = w.start_at[c]; q < w.start_at[c + 1]; q++) {
            int64_t shift = p->size[w.by_start[q]] / w.unit;
            int ws = (int)(shift >> 6), bs = (int)(shift & 63);
            for (int x = w.words - 1; x >= 0; x--) {
                uint64_t v = 0;
                if (x - ws >= 0) {
                    v = bitsc[x - ws] << bs;
                    if (bs && x - ws - 1 >= 0) v |= bitsc[x - ws - 1] >> (64 - bs);
                }
                bitsc[x] |= v;
            }
        }
    }
    w.grow = calloc(cols * (size_t)w.words, sizeof(uint64_t));
    if (!w.grow) {
        status = NOMEM;
        goto done;
    }
    for (int e = 0; e < m; e++) w.grow[(size_t)e * w.words] = 1;
    for (int i = 0; i < n; i++) {
        if (p->col_b[i] >= m) continue;
        uint64_t *acc = w.grow + (size_t)p->col_b[i] * w.words;
        int64_t shift = p->size[i] / w.unit;
        int ws = (int)(shift >> 6), bs = (int)(shift & 63);
        for (int y = w.words - 1; y >= ws; y--) {
            uint64_t v = acc[y - ws] << bs;
            if (bs && y - ws - 1 >= 0) v |= acc[y - ws - 1] >> (64 - bs);
            acc[y] |= v;
        }
    }
    size_t memo_bytes = 0;
    for (int c = 0; c < m; c++) {
        int k = w.start_at[c + 1] - w.start_at[c];
        size_t bytes = ((size_t)1 << (k < MEMO_MAX_NEW ? k : MEMO_MAX_NEW)) * sizeof(uint32_t);
        if (k > MEMO_MAX_NEW || memo_bytes + bytes > MEMO_MAX_BYTES) continue;
        w.memo[c] = calloc((size_t)1 << k, sizeof(uint32_t));
        if (!w.memo[c]) {
            status = NOMEM;
            goto done;
        }
        memo_bytes += bytes;
    }
    w.lay_len[0] = 0;
    status = sweep_column(&w, 0, 0);
done:
    *nodes = w.nodes;
    free(w.sums);
    free(w.start_at);
    free(w.by_start);
    free(w.used);
    free(w.lay);
    free(w.lay_len);
    free(w.hole_lo);
    free(w.hole_hi);
    free(w.scratch);
    free(w.grow);
    if (w.memo)
        for (size_t d = 0; d <= cols; d++) free(w.memo[d]);
    free(w.memo);
    free(w.visit);
    free(w.win);
    free(w.acc);
    free(w.lev);
    free(w.base);
    free(w.qpos);
    free(w.joint);
    free(w.jdone);
    free(w.block);
    free(w.failed);
    free(w.fail);
    free(order);
    free(load);
    return status;
}
