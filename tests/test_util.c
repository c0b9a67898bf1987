/* test_util.c - RNG and hash properties the rest of the program relies on, and the
 * growable text buffer. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fg_buf.h"
#include "fg_util.h"

int main(void)
{
    fg_rng a, b;
    fg_rng_seed(&a, 42);
    fg_rng_seed(&b, 42);
    int same = 1;
    for (int i = 0; i < 1000; i++)
        same &= fg_rng_u64(&a) == fg_rng_u64(&b);
    CHECK(same); /* same seed, same stream */
    fg_rng_seed(&b, 43);
    CHECK(fg_rng_u64(&a) != fg_rng_u64(&b));

    /* fill_u32: the halves of successive u64 draws (low first), an odd tail using the low
     * half of one more draw, and the generator left where the draws leave it. */
    {
        uint32_t buf[7];
        fg_rng_seed(&a, 5);
        fg_rng_seed(&b, 5);
        fg_rng_fill_u32(&a, buf, 7);
        int ok = 1;
        for (int i = 0; i < 7; i += 2) {
            uint64_t u = fg_rng_u64(&b);
            ok &= buf[i] == (uint32_t)u && (i + 1 >= 7 || buf[i + 1] == (uint32_t)(u >> 32));
        }
        CHECK(ok && fg_rng_u64(&a) == fg_rng_u64(&b));
    }

    /* Uniform in [0,1): mean ~ 1/2, variance ~ 1/12; below(n) covers 0..n-1 evenly. */
    double s = 0, ss = 0;
    int counts[7] = {0}, out_of_range = 0;
    const int n = 200000;
    for (int i = 0; i < n; i++) {
        double u = fg_rng_uniform(&a);
        out_of_range += !(u >= 0 && u < 1);
        s += u;
        ss += u * u;
        counts[fg_rng_below(&a, 7)]++;
    }
    CHECK_INT(out_of_range, 0);
    CHECK_NEAR(s / n, 0.5, 0.01);
    CHECK_NEAR(ss / n - (s / n) * (s / n), 1.0 / 12, 0.01);
    for (int k = 0; k < 7; k++)
        CHECK_NEAR(counts[k], n / 7.0, 0.03);
    /* Normal: mean 0, variance 1; truncated normal stays within 2 and has variance ~0.774. */
    s = ss = 0;
    double ts = 0;
    int outside = 0;
    for (int i = 0; i < n; i++) {
        double z = fg_rng_normal(&a), t = fg_rng_truncnormal(&a);
        s += z;
        ss += z * z;
        ts += t * t;
        outside += t < -2 || t > 2;
    }
    CHECK_NEAR(s / n, 0.0, 0.02);
    CHECK_NEAR(ss / n, 1.0, 0.02);
    CHECK_NEAR(ts / n, 0.7737, 0.02);
    CHECK_INT(outside, 0);

    /* Shuffle is a permutation and depends on the seed. */
    int32_t p[100], q[100];
    for (int i = 0; i < 100; i++)
        p[i] = q[i] = i;
    fg_rng_seed(&a, 1);
    fg_rng_shuffle_i32(&a, p, 100);
    fg_rng_seed(&a, 2);
    fg_rng_shuffle_i32(&a, q, 100);
    int seen[100] = {0}, moved = 0, diff = 0;
    for (int i = 0; i < 100; i++) {
        seen[p[i]]++;
        moved += p[i] != i;
        diff += p[i] != q[i];
    }
    for (int i = 0; i < 100; i++)
        CHECK_INT(seen[i], 1);
    CHECK(moved > 50);
    CHECK(diff > 50);

    /* Hashes: stable values across platforms (pinned), sensitive to every byte and order. */
    CHECK(fg_hash_str("units=64", 0) == fg_hash_str("units=64", 0));
    CHECK(fg_hash_str("units=64", 0) != fg_hash_str("units=65", 0));
    CHECK(fg_hash_str("units=64", 0) != fg_hash_str("units=64", 1));
    CHECK(fg_hash_mix(1, 2) != fg_hash_mix(2, 1));
    CHECK(fg_hash_bytes("", 0, 0) != fg_hash_bytes("", 0, 1));

    fg_err e;
    CHECK_INT(fg_err_set(&e, "%s:%d: %s", "f.yaml", 3, "bad"), -1);
    CHECK(!strcmp(e.msg, "f.yaml:3: bad"));
    CHECK_INT(fg_err_set(NULL, "x"), -1);

    /* fg_buf: grows past its first allocation, keeps the text NUL-terminated, and an
     * append past its limit sets the flag (later appends do nothing) */
    fg_buf tb = {0};
    for (int i = 0; i < 1000; i++)
        fg_buf_printf(&tb, "%d,", i % 10);
    fg_buf_str(&tb, "end");
    CHECK_INT(tb.len, 2003);
    CHECK(!tb.bad && tb.s && !strcmp(tb.s + 2000, "end") && tb.s[2] == '1');
    fg_buf_reset(&tb);
    CHECK(tb.len == 0 && tb.s[0] == '\0');
    fg_buf_free(&tb);
    CHECK(tb.s == NULL);
    CHECK_INT(fg_buf_init(&tb, 4, 8), 0);
    fg_buf_add(&tb, "1234567", 7); /* 7 + NUL = the limit */
    CHECK(!tb.bad && !strcmp(tb.s, "1234567"));
    fg_buf_add(&tb, "8", 1);
    CHECK(tb.bad && tb.len == 7);
    fg_buf_reset(&tb);
    fg_buf_printf(&tb, "%s", "ab");
    CHECK(!tb.bad && !strcmp(tb.s, "ab"));
    fg_buf_free(&tb);
    return check_report("test_util");
}
