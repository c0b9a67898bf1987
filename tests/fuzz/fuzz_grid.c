/* fuzz_grid.c - libFuzzer target for the grid parser: grid_load_string on arbitrary bytes,
 * then grid_free. Built only with clang and -DFG_FUZZ=ON; run with tests/fuzz/run.sh.
 * Any crash, sanitizer report or leak is a bug in src/search/grid.c (or the engine's shape check
 * it calls); an error return is the expected outcome for most inputs. */
#include <stddef.h>
#include <stdint.h>

#include "grid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    grid *g = NULL;
    fg_err err;
    if (grid_load_string((const char *)data, size, "fuzz.yaml", &g, &err) == 0) {
        /* Touch what the program reads from a loaded grid. */
        int64_t nc = grid_n_configs(g);
        for (int64_t c = 0; c < nc && c < 4; c++)
            (void)grid_config_params(g, c);
    }
    grid_free(g);
    return 0;
}
