/* nn_augment.c - augmentation of training batches: each image is transformed while it is
 * gathered into the network's input (no buffer of its own, nothing allocated), from three
 * random streams that nn_fit seeds from its seed, so a task's batches are the same whatever
 * rank runs it. In this order:
 *   flip       horizontal, with probability 1/2 (Keras RandomFlip("horizontal"));
 *   translate  by dy, dx drawn uniformly from the integers -N..N, the pixels shifted in set to
 *              0: pad-and-crop, as torchvision's RandomCrop(size, padding=N) with zero
 *              padding (Keras RandomTranslation(N/H, N/W, fill_mode="constant",
 *              interpolation="nearest") restricted to whole pixels);
 *   erase      with probability p, one rectangle set to 0: torchvision's RandomErasing(p,
 *              scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0), up to 10 draws of area and
 *              aspect ratio for one that fits, else none.
 * Fashion-MNIST's background is 0, so shifted-in and erased pixels are background. */
#include <math.h>
#include <string.h>

#include "nn_internal.h"

#define FLIP_STREAM 0x666c6970ULL         /* "flip" */
#define SHIFT_STREAM 0x7368696674ULL      /* "shift" */
#define ERASE_STREAM 0x6572617365ULL      /* "erase" */
#define ERASE_SCALE_LO 0.02
#define ERASE_SCALE_HI 0.33
#define ERASE_RATIO_LO 0.3
#define ERASE_RATIO_HI 3.3
#define ERASE_ATTEMPTS 10

int nn_augment_check(const nn_train_desc *t, int in_h, int in_w, fg_err *err)
{
    int side = in_h < in_w ? in_h : in_w;
    if (t->augment_translate < 0 || t->augment_translate >= side)
        return fg_err_set(err, "augment_translate must be in 0..%d for %dx%d images (got %d)",
                          side - 1, in_h, in_w, t->augment_translate);
    if (!(t->augment_erase >= 0.0f && t->augment_erase <= 1.0f))
        return fg_err_set(err, "augment_erase must be a probability in [0, 1] (got %g)",
                          (double)t->augment_erase);
    return 0;
}

void nn_augment_init(nn_augment *a, const nn_train_desc *t, uint64_t seed)
{
    memset(a, 0, sizeof *a);
    a->translate = t->augment_translate;
    a->flip = t->augment_flip != 0;
    a->erase = t->augment_erase;
    fg_rng_seed(&a->flip_rng, fg_hash_mix(seed, FLIP_STREAM));
    fg_rng_seed(&a->shift_rng, fg_hash_mix(seed, SHIFT_STREAM));
    fg_rng_seed(&a->erase_rng, fg_hash_mix(seed, ERASE_STREAM));
}

int nn_augment_active(const nn_augment *a)
{
    return a->translate > 0 || a->flip || a->erase > 0.0f;
}

/* Python's round(): halves to even, as nearbyint in the default rounding mode. */
static int round_even(double x) { return (int)nearbyint(x); }

static void draw_erase(fg_rng *r, int h, int w, nn_aug_draw *d)
{
    const double area = (double)h * (double)w;
    const double lr0 = log(ERASE_RATIO_LO), lr1 = log(ERASE_RATIO_HI);
    for (int k = 0; k < ERASE_ATTEMPTS; k++) {
        double ea = area * (ERASE_SCALE_LO + (ERASE_SCALE_HI - ERASE_SCALE_LO) *
                                                 fg_rng_uniform(r));
        double ar = exp(lr0 + (lr1 - lr0) * fg_rng_uniform(r));
        int eh = round_even(sqrt(ea * ar)), ew = round_even(sqrt(ea / ar));
        if (!(eh < h && ew < w))
            continue;
        d->ey = (int)fg_rng_below(r, (uint32_t)(h - eh + 1));
        d->ex = (int)fg_rng_below(r, (uint32_t)(w - ew + 1));
        d->eh = eh;
        d->ew = ew;
        return;
    }
}

void nn_augment_draw(nn_augment *a, int h, int w, nn_aug_draw *d)
{
    memset(d, 0, sizeof *d);
    if (a->flip)
        d->flip = (int)(fg_rng_u64(&a->flip_rng) >> 63);
    if (a->translate > 0) {
        uint32_t span = 2u * (uint32_t)a->translate + 1u;
        d->dy = (int)fg_rng_below(&a->shift_rng, span) - a->translate;
        d->dx = (int)fg_rng_below(&a->shift_rng, span) - a->translate;
    }
    if (a->erase > 0.0f && fg_rng_uniform(&a->erase_rng) < (double)a->erase)
        draw_erase(&a->erase_rng, h, w, d);
}

NN_KERNEL copy_scaled(float *restrict o, const uint8_t *restrict in, int64_t n)
{
    const float scale = 1.0f / 255.0f;
    NN_SPLIT_LOOP(k, n, o[k] = (float)in[k] * scale);
}

/* o = the n_px pixels of c bytes at in, in reverse pixel order, scaled: the bytes are
 * reversed into a small buffer first, so that the conversion is copy_scaled's vector loop. */
static void copy_flipped(float *o, const uint8_t *in, int n_px, int c)
{
    enum { CHUNK = 256 };
    uint8_t rev[CHUNK];
    const int per = CHUNK / c; /* pixels per chunk (c <= CHUNK: checked by the caller) */
    for (int x0 = 0; x0 < n_px; x0 += per) {
        int n = n_px - x0 < per ? n_px - x0 : per;
        const uint8_t *last = in + (int64_t)(n_px - 1 - x0) * c; /* the chunk's first pixel */
        if (c == 1)
            for (int x = 0; x < n; x++)
                rev[x] = last[-x];
        else
            for (int x = 0; x < n; x++)
                memcpy(rev + x * c, last - (int64_t)x * c, (size_t)c);
        copy_scaled(o + (int64_t)x0 * c, rev, (int64_t)n * c);
    }
}

/* The same one pixel at a time, for pixels of more than CHUNK channels. */
static void copy_flipped_wide(float *o, const uint8_t *in, int n_px, int c)
{
    const float scale = 1.0f / 255.0f;
    for (int x = 0; x < n_px; x++)
        for (int ch = 0; ch < c; ch++)
            o[(int64_t)x * c + ch] = (float)in[(int64_t)(n_px - 1 - x) * c + ch] * scale;
}

void nn_augment_apply(const uint8_t *src, float *dst, int h, int w, int c, const nn_aug_draw *d)
{
    const int64_t row = (int64_t)w * c;
    /* output columns [x0, x1) read source columns x - dx */
    int x0 = d->dx > 0 ? d->dx : 0, x1 = d->dx < 0 ? w + d->dx : w;
    if (x1 < x0)
        x1 = x0;
    for (int y = 0; y < h; y++) {
        float *o = dst + y * row;
        int sy = y - d->dy;
        if (sy < 0 || sy >= h || x0 == x1) {
            memset(o, 0, (size_t)row * sizeof *o);
            continue;
        }
        const uint8_t *in = src + sy * row;
        memset(o, 0, (size_t)x0 * (size_t)c * sizeof *o);
        memset(o + (int64_t)x1 * c, 0, (size_t)(w - x1) * (size_t)c * sizeof *o);
        if (d->flip) /* source columns w-1-(x-dx) for x in [x0, x1): a reversed run */
            (c <= 256 ? copy_flipped : copy_flipped_wide)(
                o + (int64_t)x0 * c, in + (int64_t)(w - x1 + d->dx) * c, x1 - x0, c);
        else
            copy_scaled(o + (int64_t)x0 * c, in + (int64_t)(x0 - d->dx) * c,
                        (int64_t)(x1 - x0) * c);
    }
    for (int y = d->ey; y < d->ey + d->eh; y++)
        memset(dst + y * row + (int64_t)d->ex * c, 0, (size_t)d->ew * (size_t)c * sizeof *dst);
}

void nn_augment_gather_flip(nn_net *net, const nn_data *data, const int32_t *idx, int batch)
{
    const int h = net->desc.in_h, w = net->desc.in_w, c = net->desc.in_c;
    const int64_t n = net->in_size;
    nn_aug_draw d;
    memset(&d, 0, sizeof d);
    d.flip = 1;
    for (int r = 0; r < batch; r++) {
        nn_augment_apply(data->images + (size_t)idx[r] * (size_t)n, net->x + (int64_t)r * n, h,
                         w, c, &d);
        net->labels[r] = data->labels[idx[r]];
    }
}

void nn_augment_gather(nn_augment *a, nn_net *net, const nn_data *data, const int32_t *idx,
                       int batch)
{
    const int h = net->desc.in_h, w = net->desc.in_w, c = net->desc.in_c;
    const int64_t n = net->in_size;
    for (int r = 0; r < batch; r++) {
        nn_aug_draw d;
        nn_augment_draw(a, h, w, &d);
        nn_augment_apply(data->images + (size_t)idx[r] * (size_t)n, net->x + (int64_t)r * n, h,
                         w, c, &d);
        net->labels[r] = data->labels[idx[r]];
    }
}
