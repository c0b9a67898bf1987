/* model.c - model files (layout in model.h): the only module that writes or reads them.
 * zlib is used here for compress2/uncompress only; CRC-32s are data.c's data_crc32. */
#define _POSIX_C_SOURCE 200809L
#include "model.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "data.h"

#define HEADER_SIZE 16
#define TRAILER_SIZE 24
#define LAYER_SIZE 176 /* bytes per serialised nn_layer_desc */
#define LAYER1_SIZE 152 /* the same in format version 1 (without size ... frozen) */
#define NET_SIZE 20    /* nn_net_desc before its layers */
#define TRAIN_SIZE 84   /* the recipe of format version 1 */
#define RECIPE2_SIZE 52 /* what version 2 appends to it */
#define MIN_PAYLOAD (NET_SIZE + TRAIN_SIZE + 4 + 8)
#define ZLIB_MAX_RATIO 1032 /* deflate never expands data more than this on inflate */

static const unsigned char MAGIC[8] = {'F', 'M', 'N', 'G', 'M', 'D', 'L', '\0'};

/* A tripwire, not a format rule: the payload is written field by field, so these sizes do
 * not define it. They change when a field is added to nn.h; then the field lists (LAYER_*_FIELDS,
 * TRAIN_FIELDS, RECIPE2_FIELDS), LAYER_SIZE/TRAIN_SIZE, the layout in model.h and, if old files
 * must still load, MODEL_FORMAT_VERSION need updating. (Compilers with short enums trip it
 * too: check the fields, then adjust.) */
_Static_assert(sizeof(nn_layer_desc) == LAYER_SIZE, "nn_layer_desc changed: update model.c");
_Static_assert(sizeof(nn_train_desc) == TRAIN_SIZE + RECIPE2_SIZE,
               "nn_train_desc changed: update model.c");
_Static_assert(sizeof(nn_net_desc) == NET_SIZE + NN_MAX_LAYERS * sizeof(nn_layer_desc),
               "nn_net_desc changed: update model.c");

/* ---- little-endian writer over a buffer sized in advance ---------------------------------- */

typedef struct {
    unsigned char *p;
    size_t pos;
} wbuf;

static void put_u32(wbuf *w, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        w->p[w->pos++] = (unsigned char)(v >> (8 * i));
}

static void put_u64(wbuf *w, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        w->p[w->pos++] = (unsigned char)(v >> (8 * i));
}

static void put_i32(wbuf *w, int v) { put_u32(w, (uint32_t)(int32_t)v); }

static void put_f32(wbuf *w, float f)
{
    uint32_t v;
    memcpy(&v, &f, 4);
    put_u32(w, v);
}

static void put_init(wbuf *w, const nn_init *in)
{
    put_i32(w, (int)in->kind);
    put_f32(w, in->a);
    put_f32(w, in->b);
}

/* The serialised fields in file order (= declaration order in nn.h), listed once for the
 * writer and the reader: I(f) an int32 (enums too), F(f) a float32, of the struct s. */
#define LAYER_HEAD_FIELDS(I, F)                                                            \
    I(n_inputs) I(inputs[0]) I(inputs[1]) I(activation) F(alpha) I(units) I(filters)       \
    I(kernel[0]) I(kernel[1]) I(strides[0]) I(strides[1]) I(pool[0]) I(pool[1]) I(padding) \
    I(depth_multiplier) I(use_bias)
#define LAYER_TAIL_FIELDS(I, F) F(l2) F(rate) F(bn_momentum) F(bn_epsilon)
#define LAYER_V2_FIELDS(I, F) /* format version 2 */                                      \
    I(size[0]) I(size[1]) I(interpolation) F(scale) F(offset) I(frozen)
#define TRAIN_FIELDS(I, F)                                                                 \
    I(optimizer) F(learning_rate) F(momentum) I(nesterov) F(beta_1) F(beta_2) F(epsilon)   \
    F(rho) F(initial_accumulator) I(batch_size) I(epochs) I(es_monitor) I(es_patience)     \
    F(es_min_delta) I(restore_best) I(rlr_monitor) F(rlr_factor) I(rlr_patience)           \
    I(rlr_cooldown) F(rlr_min_lr) F(rlr_min_delta)
#define RECIPE2_FIELDS(I, F) /* format version 2's recipe, after TRAIN_FIELDS */          \
    F(weight_decay) F(label_smoothing) I(use_ema) F(ema_momentum) I(lr_schedule)           \
    I(warmup_steps) F(warmup_target) I(decay_steps) F(cosine_alpha) I(augment_translate)   \
    I(augment_flip) F(augment_erase) I(tta_flip)
#define PUT_I(f) put_i32(w, (int)s->f);
#define PUT_F(f) put_f32(w, s->f);

/* LAYER_SIZE bytes, or LAYER1_SIZE for format version 1 (v1 non-zero). */
static void put_layer(wbuf *w, const nn_layer_desc *s, int v1)
{
    put_i32(w, (int)s->kind);
    /* the name up to its NUL, zero-filled: no stray bytes of the caller's buffer */
    size_t n = strnlen(s->name, NN_NAME_MAX);
    memset(w->p + w->pos, 0, NN_NAME_MAX);
    memcpy(w->p + w->pos, s->name, n);
    w->pos += NN_NAME_MAX;
    LAYER_HEAD_FIELDS(PUT_I, PUT_F)
    put_init(w, &s->kernel_init);
    put_init(w, &s->bias_init);
    put_init(w, &s->depthwise_init);
    LAYER_TAIL_FIELDS(PUT_I, PUT_F)
    if (v1)
        return;
    LAYER_V2_FIELDS(PUT_I, PUT_F)
}

/* TRAIN_SIZE bytes. */
static void put_train(wbuf *w, const nn_train_desc *s) { TRAIN_FIELDS(PUT_I, PUT_F) }

/* Format version 2's recipe fields, after put_train's (RECIPE2_SIZE bytes). */
static void put_recipe2(wbuf *w, const nn_train_desc *s) { RECIPE2_FIELDS(PUT_I, PUT_F) }

/* 1 when every layer's version-2 fields are nn_layer_desc_init's (then, with recipe_is_v1,
 * the file is written as version 1). */
static int layers_are_v1(const nn_net_desc *d)
{
    for (int i = 0; i < d->n_layers; i++) {
        const nn_layer_desc *l = &d->layers[i];
        if (l->size[0] || l->size[1] || l->interpolation != NN_INTERP_BILINEAR ||
            l->scale != 1.0f || l->offset != 0.0f || l->frozen)
            return 0;
    }
    return 1;
}

/* 1 when t's version-2 fields are all nn_train_desc_init's (then, with layers_are_v1, the
 * file is written as version 1, byte for byte what programs before version 2 wrote). */
static int recipe_is_v1(const nn_train_desc *t)
{
    nn_train_desc d;
    nn_train_desc_init(&d, NN_OPT_SGD);
    return t->optimizer < NN_OPT_ADAMW && t->weight_decay == d.weight_decay &&
           t->label_smoothing == d.label_smoothing && t->use_ema == d.use_ema &&
           t->ema_momentum == d.ema_momentum && t->lr_schedule == d.lr_schedule &&
           t->warmup_steps == d.warmup_steps && t->warmup_target == d.warmup_target &&
           t->decay_steps == d.decay_steps && t->cosine_alpha == d.cosine_alpha &&
           t->augment_translate == d.augment_translate && t->augment_flip == d.augment_flip &&
           t->augment_erase == d.augment_erase && t->tta_flip == d.tta_flip;
}

/* ---- bounded little-endian reader: reading past the end sets bad and yields zeros ---------- */

typedef struct {
    const unsigned char *p;
    size_t len, pos;
    int bad;
} rbuf;

static int take(rbuf *r, size_t n)
{
    if (r->bad || n > r->len - r->pos) {
        r->bad = 1;
        return 0;
    }
    return 1;
}

static uint32_t get_u32(rbuf *r)
{
    if (!take(r, 4))
        return 0;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)r->p[r->pos++] << (8 * i);
    return v;
}

static uint64_t get_u64(rbuf *r)
{
    if (!take(r, 8))
        return 0;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)r->p[r->pos++] << (8 * i);
    return v;
}

static int get_i32(rbuf *r) { return (int)(int32_t)get_u32(r); }

static float get_f32(rbuf *r)
{
    uint32_t v = get_u32(r);
    float f;
    memcpy(&f, &v, 4);
    return f;
}

static void get_init(rbuf *r, nn_init *in)
{
    in->kind = (nn_init_kind)get_i32(r);
    in->a = get_f32(r);
    in->b = get_f32(r);
}

/* Enums are assigned from int32 as they were written from them. */
#define GET_I(f) s->f = get_i32(r);
#define GET_F(f) s->f = get_f32(r);

/* One layer of format version `version` (LAYER_SIZE or LAYER1_SIZE bytes). */
static void get_layer(rbuf *r, nn_layer_desc *s, uint32_t version)
{
    s->kind = (nn_layer_kind)get_i32(r);
    if (take(r, NN_NAME_MAX)) {
        memcpy(s->name, r->p + r->pos, NN_NAME_MAX);
        r->pos += NN_NAME_MAX;
    }
    LAYER_HEAD_FIELDS(GET_I, GET_F)
    get_init(r, &s->kernel_init);
    get_init(r, &s->bias_init);
    get_init(r, &s->depthwise_init);
    LAYER_TAIL_FIELDS(GET_I, GET_F)
    if (version < 2) { /* fields added in version 2, with nn_layer_desc_init's defaults */
        s->interpolation = NN_INTERP_BILINEAR;
        s->scale = 1.0f;
        return;
    }
    LAYER_V2_FIELDS(GET_I, GET_F)
}

/* TRAIN_SIZE bytes. */
static void get_train(rbuf *r, nn_train_desc *s) { TRAIN_FIELDS(GET_I, GET_F) }

/* Format version 2's recipe fields (RECIPE2_SIZE bytes). */
static void get_recipe2(rbuf *r, nn_train_desc *s) { RECIPE2_FIELDS(GET_I, GET_F) }

/* ---- checks shared by save and load, so that every saved file loads ------------------------- */

static int in_range(int v, int n) { return v >= 0 && v < n; }

/* Fills why and returns -1 when a count, name or enum of d or t is out of range: values a
 * hostile file could use to index a table. The shapes are nn_desc_check's job. */
static int check_fields(const nn_net_desc *d, const nn_train_desc *t, char *why, size_t n)
{
    if (d->n_layers < 1 || d->n_layers > NN_MAX_LAYERS) {
        snprintf(why, n, "%d layers (must be 1..%d)", d->n_layers, NN_MAX_LAYERS);
        return -1;
    }
    for (int i = 0; i < d->n_layers; i++) {
        const nn_layer_desc *l = &d->layers[i];
        const char *bad = NULL;
        int v = 0;
        if (!memchr(l->name, '\0', NN_NAME_MAX)) {
            snprintf(why, n, "layer #%d: name is not NUL-terminated within %d bytes", i,
                     NN_NAME_MAX);
            return -1;
        }
        if (!in_range(v = (int)l->kind, NN_LAYER__COUNT))
            bad = "kind";
        else if (!in_range(v = (int)l->activation, NN_ACT__COUNT))
            bad = "activation";
        else if (!in_range(v = (int)l->padding, NN_PAD_SAME + 1))
            bad = "padding";
        else if (!in_range(v = (int)l->kernel_init.kind, NN_INIT__COUNT))
            bad = "kernel initializer";
        else if (!in_range(v = (int)l->bias_init.kind, NN_INIT__COUNT))
            bad = "bias initializer";
        else if (!in_range(v = (int)l->depthwise_init.kind, NN_INIT__COUNT))
            bad = "depthwise initializer";
        else if (!in_range(v = l->n_inputs, 3))
            bad = "n_inputs";
        else if (!in_range(v = (int)l->interpolation, NN_INTERP__COUNT))
            bad = "interpolation";
        else if (!in_range(v = l->frozen, 2))
            bad = "frozen";
        if (bad) {
            snprintf(why, n, "layer #%d: %s %d is out of range", i, bad, v);
            return -1;
        }
    }
    const char *bad = NULL;
    int v = 0;
    if (!in_range(v = (int)t->optimizer, NN_OPT__COUNT))
        bad = "optimizer";
    else if (!in_range(v = (int)t->es_monitor, NN_MON_ACC + 1))
        bad = "early-stopping monitor";
    else if (!in_range(v = (int)t->rlr_monitor, NN_MON_ACC + 1))
        bad = "reduce-on-plateau monitor";
    else if (!in_range(v = (int)t->lr_schedule, NN_SCHED__COUNT))
        bad = "learning-rate schedule";
    if (bad) {
        snprintf(why, n, "training recipe: %s %d is out of range", bad, v);
        return -1;
    }
    return 0;
}

/* ---- save -------------------------------------------------------------------------------- */

static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n > (1u << 30) ? (1u << 30) : n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* fsync the directory holding path, so that the rename survives a crash. Best effort. */
static void sync_parent(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        dir[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    int dfd = open(dir, O_RDONLY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
}

/* Writes the n bytes at p to path through path.tmp, fsync and rename. */
static int write_atomically(const char *path, const unsigned char *p, size_t n, fg_err *err)
{
    size_t len = strlen(path);
    char *tmp = malloc(len + 5);
    if (!tmp)
        return fg_err_set(err, "%s: out of memory", path);
    memcpy(tmp, path, len);
    memcpy(tmp + len, ".tmp", 5);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        fg_err_set(err, "%s: cannot create %s: %s", path, tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    const char *what = NULL;
    if (write_all(fd, p, n) != 0)
        what = "write";
    else if (fsync(fd) != 0)
        what = "fsync";
    int e = errno;
    if (close(fd) != 0 && !what) {
        what = "close";
        e = errno;
    }
    if (!what && rename(tmp, path) != 0) {
        what = "rename";
        e = errno;
    }
    if (what) {
        fg_err_set(err, "%s: %s of %s failed: %s", path, what, tmp, strerror(e));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    sync_parent(path);
    return 0;
}

int model_save(const char *path, const nn_net *net, const nn_train_desc *train,
               const char *meta, fg_err *err)
{
    if (!path)
        return fg_err_set(err, "model_save: no path");
    if (!net || !train)
        return fg_err_set(err, "%s: cannot save: no %s", path, net ? "training recipe" : "network");
    const nn_net_desc *d = nn_net_desc_of(net);
    char why[256];
    if (check_fields(d, train, why, sizeof why))
        return fg_err_set(err, "%s: cannot save: %s", path, why);
    size_t meta_len = meta ? strlen(meta) : 0;
    if (meta_len > UINT32_MAX)
        return fg_err_set(err, "%s: cannot save: metadata longer than 4 GiB", path);
    int64_t n_params = nn_net_n_params(net);
    const int v1 = recipe_is_v1(train) && layers_are_v1(d);
    size_t fixed = NET_SIZE + (size_t)d->n_layers * (v1 ? LAYER1_SIZE : LAYER_SIZE) + TRAIN_SIZE +
                   (v1 ? 0 : RECIPE2_SIZE) + 4 + 8;
    if (n_params < 0 || (uint64_t)n_params > (SIZE_MAX - fixed - meta_len) / 4 ||
        (uint64_t)(fixed + meta_len + 4 * (size_t)n_params) > (uint64_t)(uLong)-1)
        return fg_err_set(err, "%s: cannot save: %lld parameters do not fit in memory", path,
                          (long long)n_params);
    size_t usize = fixed + meta_len + 4 * (size_t)n_params;
    /* nn_net_params takes a non-const net only because it also serves writers; the
     * parameters are only read here. */
    const float *params = nn_net_params((nn_net *)net);

    unsigned char *payload = malloc(usize);
    uLong bound = compressBound((uLong)usize);
    unsigned char *file = NULL;
    if (bound <= SIZE_MAX - HEADER_SIZE - TRAILER_SIZE)
        file = malloc(HEADER_SIZE + (size_t)bound + TRAILER_SIZE);
    if (!payload || !file) {
        free(payload);
        free(file);
        return fg_err_set(err, "%s: out of memory serialising the model", path);
    }
    wbuf w = {payload, 0};
    put_i32(&w, d->in_h);
    put_i32(&w, d->in_w);
    put_i32(&w, d->in_c);
    put_i32(&w, d->n_classes);
    put_i32(&w, d->n_layers);
    for (int i = 0; i < d->n_layers; i++)
        put_layer(&w, &d->layers[i], v1);
    put_train(&w, train);
    if (!v1)
        put_recipe2(&w, train);
    put_u32(&w, (uint32_t)meta_len);
    if (meta_len)
        memcpy(payload + w.pos, meta, meta_len);
    w.pos += meta_len;
    put_u64(&w, (uint64_t)n_params);
    for (int64_t i = 0; i < n_params; i++)
        put_f32(&w, params[i]);
    FG_ASSERT(w.pos == usize); /* the buffer was sized for exactly these fields */

    uLong csize = bound;
    int zrc = compress2(file + HEADER_SIZE, &csize, payload, (uLong)usize, 6);
    uint32_t pcrc = data_crc32(0, payload, usize);
    free(payload);
    if (zrc != Z_OK) {
        free(file);
        return fg_err_set(err, "%s: compression failed (zlib error %d)", path, zrc);
    }
    wbuf h = {file, 0};
    memcpy(file, MAGIC, sizeof MAGIC);
    h.pos = sizeof MAGIC;
    put_u32(&h, v1 ? 1u : MODEL_FORMAT_VERSION);
    put_u32(&h, 0); /* flags */
    FG_ASSERT(h.pos == HEADER_SIZE);
    wbuf t = {file, HEADER_SIZE + (size_t)csize};
    put_u64(&t, (uint64_t)usize);
    put_u64(&t, (uint64_t)csize);
    put_u32(&t, pcrc);
    put_u32(&t, data_crc32(0, file, t.pos));
    int rc = write_atomically(path, file, t.pos, err);
    free(file);
    return rc;
}

/* ---- load -------------------------------------------------------------------------------- */

/* Reads the whole model file at path into a malloc'ed buffer: a regular file only (a FIFO
 * or a device never blocks or floods the reader), of at most MODEL_FILE_MAX_BYTES. */
static int read_file(const char *path, unsigned char **out, size_t *size, fg_err *err)
{
    char *buf = NULL;
    size_t n = 0;
    *out = NULL;
    *size = 0;
    if (fg_read_file(path, (size_t)(MODEL_FILE_MAX_BYTES < SIZE_MAX - 1 ? MODEL_FILE_MAX_BYTES : SIZE_MAX - 1),
                     "model file", &buf, &n, err))
        return -1;
    *out = (unsigned char *)buf;
    *size = n;
    return 0;
}

static uint32_t le32(const unsigned char *p)
{
    rbuf r = {p, 4, 0, 0};
    return get_u32(&r);
}

static uint64_t le64(const unsigned char *p)
{
    rbuf r = {p, 8, 0, 0};
    return get_u64(&r);
}

/* Checks the container (magic, version, flags, sizes, both CRCs) and returns the
 * decompressed payload (malloc'ed) in *payload, *usize. */
static int unpack(const char *path, const unsigned char *f, size_t size, unsigned char **payload,
                  size_t *usize_out, uint32_t *version_out, fg_err *err)
{
    *payload = NULL;
    if (size == 0)
        return fg_err_set(err, "%s: empty file, not a fmnist-grid model file", path);
    if (size < sizeof MAGIC) {
        if (!memcmp(f, MAGIC, size))
            return fg_err_set(err, "%s: truncated: %zu bytes, the header alone has %d", path,
                              size, HEADER_SIZE);
        return fg_err_set(err, "%s: not a fmnist-grid model file (too short, wrong magic)", path);
    }
    if (memcmp(f, MAGIC, sizeof MAGIC))
        return fg_err_set(err, "%s: not a fmnist-grid model file (wrong magic)", path);
    if (size < HEADER_SIZE)
        return fg_err_set(err, "%s: truncated: %zu bytes, the header alone has %d", path, size,
                          HEADER_SIZE);
    /* The version comes before any checksum: a newer format may lay out its trailer
     * differently, so its checksums cannot be checked with this program's rules. */
    uint32_t version = le32(f + 8), flags = le32(f + 12);
    if (version > MODEL_FORMAT_VERSION)
        return fg_err_set(err, "%s: format version %u is newer than this program's %d", path,
                          (unsigned)version, MODEL_FORMAT_VERSION);
    if (version < 1)
        return fg_err_set(err, "%s: format version %u is not valid (damaged file?)", path,
                          (unsigned)version);
    if (size < HEADER_SIZE + TRAILER_SIZE)
        return fg_err_set(err, "%s: truncated: %zu bytes, a model file has at least %d", path,
                          size, HEADER_SIZE + TRAILER_SIZE);
    const unsigned char *t = f + size - TRAILER_SIZE;
    uint64_t usize = le64(t), csize = le64(t + 8);
    uint32_t pcrc = le32(t + 16), fcrc = le32(t + 20);
    if (csize != (uint64_t)(size - HEADER_SIZE - TRAILER_SIZE))
        return fg_err_set(err, "%s: truncated or damaged: %zu bytes, but the trailer records "
                               "%llu compressed bytes",
                          path, size, (unsigned long long)csize);
    uint32_t got = data_crc32(0, f, size - 4);
    if (got != fcrc)
        return fg_err_set(err, "%s: damaged: checksum mismatch (stored %08x, computed %08x)",
                          path, (unsigned)fcrc, (unsigned)got);
    if (flags != 0)
        return fg_err_set(err, "%s: header flags 0x%x are not understood by this program", path,
                          (unsigned)flags);
    if (usize < MIN_PAYLOAD || usize / ZLIB_MAX_RATIO > csize || usize > SIZE_MAX ||
        usize > (uint64_t)(uLong)-1 || usize > MODEL_PAYLOAD_MAX_BYTES)
        return fg_err_set(err, "%s: damaged: implausible payload size %llu for %llu compressed "
                               "bytes",
                          path, (unsigned long long)usize, (unsigned long long)csize);
    unsigned char *p = malloc((size_t)usize);
    if (!p)
        return fg_err_set(err, "%s: out of memory decompressing %llu bytes", path,
                          (unsigned long long)usize);
    uLong dlen = (uLong)usize;
    int zrc = uncompress(p, &dlen, f + HEADER_SIZE, (uLong)csize);
    if (zrc != Z_OK || dlen != (uLong)usize) {
        free(p);
        if (zrc == Z_MEM_ERROR)
            return fg_err_set(err, "%s: out of memory decompressing", path);
        if (zrc == Z_OK)
            return fg_err_set(err, "%s: damaged: payload has %lu bytes, the trailer records %llu",
                              path, (unsigned long)dlen, (unsigned long long)usize);
        if (zrc == Z_BUF_ERROR)
            return fg_err_set(err, "%s: damaged: compressed data is incomplete or larger than "
                                   "the recorded %llu bytes",
                              path, (unsigned long long)usize);
        return fg_err_set(err, "%s: damaged: decompression failed (zlib error %d%s%s)", path, zrc,
                          zrc == Z_DATA_ERROR ? ", " : "",
                          zrc == Z_DATA_ERROR ? "corrupt data" : "");
    }
    got = data_crc32(0, p, (size_t)usize);
    if (got != pcrc) {
        free(p);
        return fg_err_set(err, "%s: damaged: payload checksum mismatch (stored %08x, computed "
                               "%08x)",
                          path, (unsigned)pcrc, (unsigned)got);
    }
    *payload = p;
    *usize_out = (size_t)usize;
    *version_out = version;
    return 0;
}

void model_file_free(model_file *m)
{
    if (!m)
        return;
    free(m->desc);
    free(m->meta);
    free(m->params);
    memset(m, 0, sizeof *m);
}

/* The payload's network description and training recipe, from r into d and t. */
static int read_desc(const char *path, rbuf *r, uint32_t version, nn_net_desc *d,
                     nn_train_desc *t, fg_err *err)
{
    nn_train_desc_init(t, NN_OPT_SGD); /* version 1: the version-2 fields stay off */
    d->in_h = get_i32(r);
    d->in_w = get_i32(r);
    d->in_c = get_i32(r);
    d->n_classes = get_i32(r);
    d->n_layers = get_i32(r);
    if (d->n_layers < 1 || d->n_layers > NN_MAX_LAYERS)
        return fg_err_set(err, "%s: damaged: %d layers (must be 1..%d)", path, d->n_layers,
                          NN_MAX_LAYERS);
    /* Every size below is checked against what the payload holds before it is used. */
    const uint64_t layer_size = version >= 2 ? LAYER_SIZE : LAYER1_SIZE;
    if ((uint64_t)d->n_layers * layer_size + TRAIN_SIZE + 4 + 8 > (uint64_t)(r->len - r->pos))
        return fg_err_set(err, "%s: damaged: payload ends inside the network description: the header says %d layers "
                               "(%llu bytes), the payload holds %zu",
                          path, d->n_layers, (unsigned long long)(d->n_layers * layer_size),
                          r->len - r->pos);
    for (int i = 0; i < d->n_layers; i++)
        get_layer(r, &d->layers[i], version);
    get_train(r, t);
    if (version >= 2)
        get_recipe2(r, t);
    else if ((int)t->optimizer >= NN_OPT_ADAMW && !r->bad) /* version 2's optimizers */
        return fg_err_set(err, "%s: damaged: training recipe: optimizer %d is out of range for "
                               "format version 1", path, (int)t->optimizer);
    return 0;
}

/* The metadata (its bytes at *meta, *meta_len of them) and the parameter count, which
 * must match the bytes left; r is left at the first parameter. */
static int read_sizes(const char *path, rbuf *r, const unsigned char **meta, uint32_t *meta_len,
                      uint64_t *n_params, fg_err *err)
{
    *meta_len = get_u32(r);
    if (r->bad)
        return fg_err_set(err, "%s: damaged: payload ends inside the network description", path);
    if (*meta_len > r->len - r->pos)
        return fg_err_set(err, "%s: damaged: payload ends inside the metadata: it is said to hold %u bytes, the "
                               "payload holds %zu",
                          path, (unsigned)*meta_len, r->len - r->pos);
    *meta = r->p + r->pos;
    r->pos += *meta_len;
    *n_params = get_u64(r);
    if (r->bad || *n_params != (r->len - r->pos) / 4 || (r->len - r->pos) % 4 != 0)
        return fg_err_set(err, "%s: damaged: the payload holds %zu bytes for %llu parameters", path,
                          r->bad ? (size_t)0 : r->len - r->pos, (unsigned long long)*n_params);
    if (memchr(*meta, '\0', *meta_len))
        return fg_err_set(err, "%s: damaged: the metadata contains a NUL byte", path);
    return 0;
}

/* The description and recipe are valid and the architecture has n_params parameters. */
static int check_read(const char *path, const nn_net_desc *d, const nn_train_desc *t,
                      uint64_t n_params, fg_err *err)
{
    char why[256];
    if (check_fields(d, t, why, sizeof why))
        return fg_err_set(err, "%s: damaged: %s", path, why);
    int64_t total = 0;
    fg_err e;
    if (nn_desc_check(d, NULL, &total, NULL, &e))
        return fg_err_set(err, "%s: invalid network description: %s", path, e.msg);
    if ((uint64_t)total != n_params)
        return fg_err_set(err, "%s: damaged: stores %llu parameters, its architecture has %lld",
                          path, (unsigned long long)n_params, (long long)total);
    return 0;
}

int model_read(const char *path, model_file *m, fg_err *err)
{
    memset(m, 0, sizeof *m);
    if (!path)
        return fg_err_set(err, "model_read: no path");
    snprintf(m->path, sizeof m->path, "%s", path);
    unsigned char *f = NULL, *p = NULL;
    size_t size = 0, usize = 0;
    nn_net_desc *d = NULL;
    int rc = -1;
    uint32_t version = 0;
    if (read_file(path, &f, &size, err) || unpack(path, f, size, &p, &usize, &version, err))
        goto done;
    free(f);
    f = NULL;
    d = calloc(1, sizeof *d); /* ~19 kB: not on the stack */
    if (!d) {
        fg_err_set(err, "%s: out of memory", path);
        goto done;
    }
    nn_train_desc t;
    rbuf r = {p, usize, 0, 0};
    const unsigned char *mp = NULL;
    uint32_t meta_len = 0;
    uint64_t n_params = 0;
    if (read_desc(path, &r, version, d, &t, err) ||
        read_sizes(path, &r, &mp, &meta_len, &n_params, err) ||
        check_read(path, d, &t, n_params, err))
        goto done;
    m->meta = malloc((size_t)meta_len + 1);
    m->params = malloc((size_t)(n_params ? n_params : 1) * sizeof *m->params);
    if (!m->meta || !m->params) {
        fg_err_set(err, "%s: out of memory", path);
        goto done;
    }
    memcpy(m->meta, mp, meta_len);
    m->meta[meta_len] = '\0';
    for (uint64_t i = 0; i < n_params; i++)
        m->params[i] = get_f32(&r);
    m->n_params = (int64_t)n_params;
    m->train = t;
    m->desc = d;
    d = NULL;
    rc = 0;
done:
    free(d);
    free(p);
    free(f);
    if (rc)
        model_file_free(m);
    return rc;
}

nn_net *model_build(const model_file *m, int max_batch, int *batch_out, fg_err *err)
{
    const nn_net_desc *d = m->desc;
    nn_layer_info *info = malloc(NN_MAX_LAYERS * sizeof *info);
    fg_err e;
    if (!info) {
        fg_err_set(err, "%s: out of memory", m->path);
        return NULL;
    }
    if (nn_desc_check(d, info, NULL, NULL, &e)) {
        free(info);
        fg_err_set(err, "%s: invalid network description: %s", m->path, e.msg);
        return NULL;
    }
    /* Activations per image: the input and every layer's output, each with its gradient and
     * about as much workspace (as task_memory estimates). */
    double act = (double)d->in_h * d->in_w * d->in_c;
    for (int l = 0; l < d->n_layers; l++)
        act += (double)info[l].out_h * info[l].out_w * info[l].out_c;
    free(info);
    double per_image = 12.0 * act;
    if (per_image > (double)MODEL_ACT_MAX_BYTES) {
        fg_err_set(err, "%s: the network needs about %.0f MiB of activations per %dx%dx%d image, more than the "
                        "%.0f MiB limit",
                   m->path, per_image / 1048576.0, d->in_h, d->in_w, d->in_c, (double)MODEL_ACT_MAX_BYTES / 1048576.0);
        return NULL;
    }
    int batch = max_batch;
    if (batch > 1 && per_image * batch > (double)MODEL_ACT_MAX_BYTES)
        batch = (int)((double)MODEL_ACT_MAX_BYTES / per_image);
    if (batch < 1)
        batch = 1;
    nn_net *net = nn_net_new(d, batch, 0, &e);
    if (!net) {
        fg_err_set(err, "%s: %s", m->path, e.msg);
        return NULL;
    }
    if (nn_net_n_params(net) != m->n_params) { /* nn_desc_check and nn_net_new disagree */
        fg_err_set(err, "%s: the engine built %lld parameters, the file has %lld", m->path,
                   (long long)nn_net_n_params(net), (long long)m->n_params);
        nn_net_free(net);
        return NULL;
    }
    memcpy(nn_net_params(net), m->params, (size_t)m->n_params * sizeof *m->params);
    nn_net_set_eval(net, &m->train); /* scored as in training: label smoothing, test-time flip */
    if (batch_out)
        *batch_out = batch;
    return net;
}

nn_net *model_load(const char *path, int max_batch, nn_train_desc *train_out, char **meta_out,
                   fg_err *err)
{
    if (meta_out)
        *meta_out = NULL;
    if (!path) {
        fg_err_set(err, "model_load: no path");
        return NULL;
    }
    model_file m;
    if (model_read(path, &m, err))
        return NULL;
    nn_net *net = model_build(&m, max_batch, NULL, err);
    if (net) {
        if (train_out)
            *train_out = m.train;
        if (meta_out) {
            *meta_out = m.meta;
            m.meta = NULL;
        }
    }
    model_file_free(&m);
    return net;
}
