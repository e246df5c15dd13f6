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

/* Splits `bufs` (the still unplaced ones) into groups separated by zero-count boundaries
 * in [lo, hi - 1); `first`/`last` give each buffer's range. Writes group bounds into
 * `bounds` (ngroups + 1 entries), the buffers, grouped, into `out`, and the range each
 * group spans into `span` (2 entries per group: first, one past the last). */
static int split_groups(const int32_t *bufs, int nb, const int64_t *cuts, int lo, int hi,
                        const int32_t *first, const int32_t *last, int32_t *out,
                        int32_t *bounds, int32_t *gstart, int32_t *span) {
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
    const Problem *p = c->p;
    int32_t *bufs = malloc((size_t)(np + 1) * sizeof(int32_t));
    int32_t *out = malloc((size_t)(np + 1) * sizeof(int32_t));
    int32_t *bounds = malloc((size_t)(shi - slo + 2) * sizeof(int32_t));
    int32_t *gstart = malloc((size_t)(shi - slo + 1) * sizeof(int32_t));
    int32_t *span = malloc((size_t)(shi - slo + 1) * 2 * sizeof(int32_t));
    int status = FOUND;
    if (!bufs || !out || !bounds || !gstart || !span) {
        status = NOMEM;
        goto done;
    }
    int nb = 0;
    for (int t = 0; t < np; t++)
        if (c->off[part[t]] < 0) bufs[nb++] = part[t];
    int ng = split_groups(bufs, nb, c->cuts, slo, shi, c->first, c->last, out, bounds, gstart,
                          span);
    if (ng < 0) {
        status = NOMEM;
        goto done;
    }
    for (int g = 0; g < ng && status == FOUND; g++) {
        int count = bounds[g + 1] - bounds[g];
        if (!count) continue;
        const int32_t *group = out + bounds[g];
        status = canon_rank(c, group, count)
                     ? canon_search(c, group, count, span[2 * g], span[2 * g + 1], 0, -1)
                     : NOMEM;
    }
done:
    free(bufs);
    free(out);
    free(bounds);
    free(gstart);
    free(span);
    (void)p;
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
    int32_t *bufs = malloc((size_t)(cnt + 1) * sizeof(int32_t));
    int32_t *out = malloc((size_t)(cnt + 1) * sizeof(int32_t));
    int32_t *bounds = malloc((size_t)(hi - lo + 2) * sizeof(int32_t));
    int32_t *gstart = malloc((size_t)(hi - lo + 1) * sizeof(int32_t));
    int32_t *span = malloc((size_t)(hi - lo + 1) * 2 * sizeof(int32_t));
    int status = FOUND;
    if (!bufs || !out || !bounds || !gstart || !span) {
        status = NOMEM;
        goto done;
    }
    int nb = 0;
    for (int k = lo; k < hi; k++)
        for (int t = s->start_at[k]; t < s->start_at[k + 1]; t++)
            if (!s->placed[s->by_start[t]]) bufs[nb++] = s->by_start[t];
    int ng = split_groups(bufs, nb, s->cuts, lo, hi, s->first, s->last, out, bounds, gstart,
                          span);
    if (ng < 0) {
        status = NOMEM;
        goto done;
    }
    for (int g = 0; g < ng && status == FOUND; g++) {
        if (bounds[g + 1] == bounds[g]) continue;
        int glo = span[2 * g], ghi = span[2 * g + 1];
        /* The new walls may let deferred runs at the edges settle. */
        size_t mark = s->log.len;
        if (sky_settle(s, glo, glo, ghi) && sky_settle(s, ghi - 1, glo, ghi))
            status = sky_search(s, glo, ghi);
        else
            status = EXHAUSTED;
        if (s->log.failed) status = NOMEM;
        log_undo(&s->log, mark);
    }
done:
    free(bufs);
    free(out);
    free(bounds);
    free(gstart);
    free(span);
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
 * final; it must be a sum of sizes of buffers starting at e. */

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
} Sweep;

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
static int sweep_closes(const Sweep *w, const int32_t *lay, int n, int top) {
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
    return sweep_has_sum(w, e, bytes);
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

/* Fill holes[h..] from byte `pos` of hole h with the unused buffers starting at t, building
 * the next layout in `nxt` (n entries so far; survivors of the old layout from index a). */
static int sweep_tile(Sweep *w, int t, int depth, int nholes, int h, int64_t pos, int n, int a,
                      uint32_t mask) {
    const Problem *p = w->p;
    if (!sweep_completable(w, t, depth, nholes, mask)) return EXHAUSTED;
    const int32_t *old = w->lay + (size_t)depth * w->maxlive;
    int32_t *nxt = w->lay + (size_t)(depth + 1) * w->maxlive;
    const int64_t *lo = w->hole_lo + (size_t)depth * w->maxlive;
    const int64_t *hi = w->hole_hi + (size_t)depth * w->maxlive;
    int on = w->lay_len[depth];
    w->t = t;
    if (h == nholes || pos == hi[h]) {
        if (h < nholes) h++;
        /* copy the survivors up to the next hole (or the top), checking closed runs */
        int64_t until = h < nholes ? lo[h] : w->cap;
        while (a < on && w->sol[old[a]] < until) {
            int i = old[a++];
            if (p->col_b[i] == t) continue;
            nxt[n++] = i;
            if (!sweep_closes(w, nxt, n, 0)) return EXHAUSTED;
        }
        if (h == nholes) {
            if (!sweep_closes(w, nxt, n, 1)) return EXHAUSTED;
            w->lay_len[depth + 1] = n;
            return sweep_column(w, t + 1, depth + 1);
        }
        pos = lo[h];
    }
    int64_t room = hi[h] - pos;
    if (!sweep_fillable(w, t, room)) return EXHAUSTED;
    int64_t last_size = -1, last_end = -1, last_align = -1;
    for (int q = w->start_at[t]; q < w->start_at[t + 1]; q++) {
        int i = w->by_start[q];
        if (w->used[i] || p->size[i] > room || pos % p->align[i]) continue;
        /* buffers alike in size, end and alignment are interchangeable: try one */
        if (p->size[i] == last_size && p->col_b[i] == last_end && p->align[i] == last_align)
            continue;
        last_size = p->size[i];
        last_end = p->col_b[i];
        last_align = p->align[i];
        if (w->nodes >= w->limit) return LIMIT;
        w->nodes++;
        if ((w->nodes & 255) == 0 && *w->stop) return STOPPED;
        nxt[n] = i;
        if (!sweep_closes(w, nxt, n + 1, 0)) continue; /* the run below i is a dead hole */
        w->used[i] = 1;
        w->sol[i] = pos;
        /* (bit positions past 31 only occur where the memo is off) */
        uint32_t bit = q - w->start_at[t] < 32 ? (uint32_t)1 << (q - w->start_at[t]) : 0;
        int st = sweep_tile(w, t, depth, nholes, h, pos + p->size[i], n + 1, a, mask | bit);
        w->used[i] = 0;
        if (st != EXHAUSTED) return st;
    }
    return EXHAUSTED;
}

static int sweep_column(Sweep *w, int t, int depth) {
    const Problem *p = w->p;
    if (t == w->m) return FOUND;
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
    if (nholes == 0 && w->start_at[t + 1] > w->start_at[t]) return EXHAUSTED;
    /* the survivors below the first hole open the next layout */
    int32_t *nxt = w->lay + (size_t)(depth + 1) * w->maxlive;
    int a = 0, count = 0;
    int64_t until = nholes ? lo[0] : w->cap;
    while (a < n && w->sol[lay[a]] < until) {
        int i = lay[a++];
        if (p->col_b[i] == t) continue;
        nxt[count++] = i;
        if (!sweep_closes(w, nxt, count, 0)) return EXHAUSTED;
    }
    w->visit[t]++; /* a new layout below: earlier fillability answers no longer hold */
    return sweep_tile(w, t, depth, nholes, 0, nholes ? lo[0] : 0, count, a, 0);
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
    if (!w.lay || !w.lay_len || !w.hole_lo || !w.hole_hi || !w.scratch || !w.memo || !w.visit) {
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
    free(order);
    free(load);
    return status;
}
