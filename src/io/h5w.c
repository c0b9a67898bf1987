/* h5w.c - Keras HDF5 weights files (layout in h5w.h). libhdf5 is used here only; the
 * library's own error printing is switched off, every failure becomes one fg_err line. */
#define _POSIX_C_SOURCE 200809L
#include "h5w.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#ifdef FG_HAVE_HDF5
#include <hdf5.h>
#endif

int h5w_file_crc32(const char *path, uint32_t *crc, fg_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return fg_err_set(err, "%s: cannot open: %s", path, strerror(errno));
    static unsigned char buf[1 << 16];
    uLong c = crc32(0L, Z_NULL, 0);
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0)
        c = crc32(c, buf, (uInt)got);
    int bad = ferror(f);
    fclose(f);
    if (bad)
        return fg_err_set(err, "%s: read error", path);
    *crc = (uint32_t)c;
    return 0;
}

void h5w_free(h5w_file *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->n_layers; i++) {
        for (int k = 0; k < f->layers[i].n; k++)
            free(f->layers[i].w[k].data);
        free(f->layers[i].w);
    }
    free(f->layers);
    free(f);
}

const h5w_layer *h5w_find(const h5w_file *f, const char *name)
{
    for (int i = 0; i < f->n_layers; i++)
        if (!strcmp(f->layers[i].name, name))
            return &f->layers[i];
    return NULL;
}

/* "(3, 3, 64, 128)" */
static void shape_text(char *buf, size_t size, int ndim, const int64_t *shape)
{
    size_t n = 0;
    n += (size_t)snprintf(buf, size, "(");
    for (int k = 0; k < ndim && n < size; k++)
        n += (size_t)snprintf(buf + n, size - n, "%s%lld", k ? ", " : "", (long long)shape[k]);
    if (n < size)
        snprintf(buf + n, size - n, "%s)", ndim == 1 ? "," : "");
}

/* Checks (and with net, copies) the file's layer fl into the network's layer i. */
static int apply_layer(const h5w_layer *fl, const char *path, const nn_net_desc *d, nn_net *net,
                       int i, fg_err *err)
{
    nn_weight_view v[NN_WEIGHTS_MAX];
    const char *name = d->layers[i].name;
    int n = net ? nn_net_layer_weights(net, i, v) : nn_desc_layer_weights(d, i, v);
    if (n < 0)
        return fg_err_set(err, "%s: layer '%s': the network description is not valid", path,
                          name);
    if (n != fl->n)
        return fg_err_set(err, "%s: layer '%s': the file has %d weight arrays, the model's %s "
                               "layer has %d%s",
                          path, name, fl->n, nn_layer_kind_name(d->layers[i].kind), n,
                          n == 0 ? " (no weights)" : " (use_bias?)");
    for (int k = 0; k < n; k++) {
        const h5w_array *a = &fl->w[k];
        int64_t ms[4];
        int same = a->ndim == v[k].ndim;
        for (int j = 0; j < v[k].ndim; j++) {
            ms[j] = v[k].shape[j];
            same = same && a->shape[j] == ms[j];
        }
        if (!same) {
            char fs[96], mshape[96];
            shape_text(fs, sizeof fs, a->ndim, a->shape);
            shape_text(mshape, sizeof mshape, v[k].ndim, ms);
            return fg_err_set(err, "%s: layer '%s': %s has shape %s in the file but %s in the "
                                   "model",
                              path, name, v[k].name, fs, mshape);
        }
        if (net)
            memcpy(v[k].data, a->data, (size_t)a->n * sizeof(float));
    }
    return 0;
}

int h5w_apply(const h5w_file *f, const char *path, const nn_net_desc *d, nn_net *net,
              int layer, fg_err *err)
{
    if (layer >= 0) {
        if (layer >= d->n_layers)
            return fg_err_set(err, "%s: layer #%d is out of range", path, layer);
        const h5w_layer *fl = h5w_find(f, d->layers[layer].name);
        if (!fl)
            return fg_err_set(err, "%s: has no layer '%s' (its first layer is '%s')", path,
                              d->layers[layer].name,
                              f->n_layers ? f->layers[0].name : "none");
        return apply_layer(fl, path, d, net, layer, err);
    }
    int used = 0;
    for (int l = 0; l < f->n_layers; l++) {
        const h5w_layer *fl = &f->layers[l];
        if (fl->n == 0)
            continue;
        int i = 0;
        while (i < d->n_layers && strcmp(d->layers[i].name, fl->name))
            i++;
        if (i == d->n_layers)
            return fg_err_set(err, "%s: layer '%s' of the file is not a layer of the model "
                                   "(layers are matched by name)",
                              path, fl->name);
        if (apply_layer(fl, path, d, net, i, err))
            return -1;
        used++;
    }
    if (!used)
        return fg_err_set(err, "%s: the file holds no layer with weights", path);
    return 0;
}

#ifndef FG_HAVE_HDF5

int h5w_available(void) { return 0; }

int h5w_read(const char *path, h5w_file **out, fg_err *err)
{
    *out = NULL;
    return fg_err_set(err, "%s: cannot read Keras weights: this fmnist-grid was built without "
                           "libhdf5 (apt-get install libhdf5-dev, then rebuild)",
                      path);
}

#else

int h5w_available(void) { return 1; }

typedef struct {
    int n, cap;
    char (*s)[H5W_NAME_MAX];
} strlist;

static int strlist_add(strlist *l, const char *s, size_t len)
{
    if (len >= H5W_NAME_MAX)
        return -1;
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        void *p = realloc(l->s, (size_t)cap * sizeof *l->s);
        if (!p)
            return -1;
        l->s = p;
        l->cap = cap;
    }
    memcpy(l->s[l->n], s, len);
    l->s[l->n++][len] = '\0';
    return 0;
}

/* Appends the strings of the attribute `name` of obj (fixed or variable length) to l.
 * Returns 1, 0 when there is no such attribute, -1 on an error. */
static int read_attr_strs(hid_t obj, const char *name, strlist *l)
{
    htri_t ex = H5Aexists(obj, name);
    if (ex <= 0)
        return ex < 0 ? -1 : 0;
    int rc = -1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT), t = H5Aget_type(a), sp = H5Aget_space(a);
    hssize_t n = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    if (a >= 0 && n == 0) { /* Keras writes a layer without weights as an empty array */
        rc = 1;
        goto done;
    }
    if (a < 0 || t < 0 || n < 0 || H5Tget_class(t) != H5T_STRING)
        goto done;
    if (H5Tis_variable_str(t) > 0) {
        char **buf = calloc((size_t)n + 1, sizeof *buf);
        hid_t mt = H5Tcopy(H5T_C_S1);
        if (buf && mt >= 0 && H5Tset_size(mt, H5T_VARIABLE) >= 0 && H5Aread(a, mt, buf) >= 0) {
            rc = 1;
            for (hssize_t i = 0; i < n && rc == 1; i++)
                if (!buf[i] || strlist_add(l, buf[i], strlen(buf[i])))
                    rc = -1;
            H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, buf);
        }
        if (mt >= 0)
            H5Tclose(mt);
        free(buf);
    } else {
        size_t sz = H5Tget_size(t);
        char *buf = sz ? malloc((size_t)n * sz + 1) : NULL;
        if (buf && H5Aread(a, t, buf) >= 0) {
            rc = 1;
            for (hssize_t i = 0; i < n && rc == 1; i++)
                if (strlist_add(l, buf + i * sz, strnlen(buf + i * sz, sz)))
                    rc = -1;
        }
        free(buf);
    }
done:
    if (sp >= 0)
        H5Sclose(sp);
    if (t >= 0)
        H5Tclose(t);
    if (a >= 0)
        H5Aclose(a);
    return rc;
}

/* The attribute `name`, or Keras's chunks name0, name1, ... Returns 1, 0 (absent), -1. */
static int read_names(hid_t obj, const char *name, strlist *l)
{
    int rc = read_attr_strs(obj, name, l);
    if (rc != 0)
        return rc;
    for (int k = 0;; k++) {
        char chunk[96];
        snprintf(chunk, sizeof chunk, "%s%d", name, k);
        int r = read_attr_strs(obj, chunk, l);
        if (r <= 0)
            return r < 0 ? -1 : k > 0;
    }
}

/* Reads dataset `wname` of layer group lg into a. */
static int read_array(hid_t lg, const char *path, const char *layer, const char *wname,
                      h5w_array *a, fg_err *err)
{
    snprintf(a->name, sizeof a->name, "%s", wname);
    hid_t ds = H5Dopen2(lg, wname, H5P_DEFAULT);
    if (ds < 0)
        return fg_err_set(err, "%s: layer '%s': weight '%s' is missing or damaged", path,
                          layer, wname);
    int rc = -1;
    hid_t sp = H5Dget_space(ds), t = H5Dget_type(ds);
    int nd = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    hsize_t dims[4];
    if (t < 0 || H5Tget_class(t) != H5T_FLOAT) {
        fg_err_set(err, "%s: layer '%s': weight '%s' is not an array of floats", path, layer,
                   wname);
        goto done;
    }
    if (nd < 0 || nd > 4) {
        fg_err_set(err, "%s: layer '%s': weight '%s' has %d dimensions (at most 4)", path, layer,
                   wname, nd);
        goto done;
    }
    H5Sget_simple_extent_dims(sp, dims, NULL);
    a->ndim = nd;
    a->n = 1;
    for (int k = 0; k < nd; k++) {
        a->shape[k] = (int64_t)dims[k];
        a->n *= a->shape[k];
    }
    a->data = malloc((size_t)(a->n > 0 ? a->n : 1) * sizeof(float));
    if (!a->data) {
        fg_err_set(err, "%s: out of memory (%lld floats)", path, (long long)a->n);
        goto done;
    }
    if (H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, a->data) < 0) {
        fg_err_set(err, "%s: layer '%s': cannot read weight '%s' (truncated or damaged file)",
                   path, layer, wname);
        goto done;
    }
    rc = 0;
done:
    if (t >= 0)
        H5Tclose(t);
    if (sp >= 0)
        H5Sclose(sp);
    H5Dclose(ds);
    return rc;
}

/* Reads layer `name` (a group of root) into L. */
static int read_layer(hid_t root, const char *path, const char *name, h5w_layer *L, fg_err *err)
{
    snprintf(L->name, sizeof L->name, "%s", name);
    hid_t lg = H5Gopen2(root, name, H5P_DEFAULT);
    if (lg < 0)
        return fg_err_set(err, "%s: layer '%s' is listed in layer_names but has no group "
                               "(damaged file?)",
                          path, name);
    strlist wn = {0, 0, NULL};
    int rc = read_names(lg, "weight_names", &wn);
    if (rc < 0) {
        fg_err_set(err, "%s: layer '%s': cannot read its weight_names attribute", path, name);
    } else if (wn.n > NN_WEIGHTS_MAX) {
        rc = fg_err_set(err, "%s: layer '%s' has %d weight arrays (at most %d)", path, name,
                        wn.n, NN_WEIGHTS_MAX);
    } else {
        rc = 0;
        L->w = calloc((size_t)(wn.n ? wn.n : 1), sizeof *L->w);
        if (!L->w)
            rc = fg_err_set(err, "%s: out of memory", path);
        for (int k = 0; k < wn.n && !rc; k++, L->n++)
            rc = read_array(lg, path, name, wn.s[k], &L->w[k], err);
    }
    free(wn.s);
    H5Gclose(lg);
    return rc < 0 ? -1 : 0;
}

/* The group holding layer_names: the root, or Model.save's /model_weights. */
static hid_t weights_root(hid_t file)
{
    if (H5Aexists(file, "layer_names") > 0 || H5Aexists(file, "layer_names0") > 0)
        return H5Gopen2(file, "/", H5P_DEFAULT);
    if (H5Lexists(file, "model_weights", H5P_DEFAULT) > 0)
        return H5Gopen2(file, "model_weights", H5P_DEFAULT);
    return -1;
}

static int read_file(hid_t file, const char *path, h5w_file *f, fg_err *err)
{
    hid_t root = weights_root(file);
    if (root < 0)
        return fg_err_set(err, "%s: not a Keras weights file (no layer_names attribute)", path);
    strlist ln = {0, 0, NULL};
    int rc = read_names(root, "layer_names", &ln);
    if (rc <= 0) {
        rc = fg_err_set(err, "%s: not a Keras weights file (cannot read layer_names)", path);
    } else {
        rc = 0;
        f->layers = calloc((size_t)(ln.n ? ln.n : 1), sizeof *f->layers);
        if (!f->layers)
            rc = fg_err_set(err, "%s: out of memory", path);
        for (int i = 0; i < ln.n && !rc; i++, f->n_layers++)
            rc = read_layer(root, path, ln.s[i], &f->layers[i], err);
    }
    free(ln.s);
    H5Gclose(root);
    return rc;
}

int h5w_read(const char *path, h5w_file **out, fg_err *err)
{
    *out = NULL;
    FILE *fp = fopen(path, "rb"); /* a clear message for the commonest failure */
    if (!fp)
        return fg_err_set(err, "%s: cannot open the Keras weights file: %s", path,
                          strerror(errno));
    fclose(fp);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* no printing from the library */
    if (H5Fis_hdf5(path) <= 0)
        return fg_err_set(err, "%s: not an HDF5 file (or truncated before its superblock)",
                          path);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0)
        return fg_err_set(err, "%s: cannot open as HDF5 (truncated or damaged file)", path);
    h5w_file *f = calloc(1, sizeof *f);
    int rc = f ? read_file(file, path, f, err) : fg_err_set(err, "%s: out of memory", path);
    H5Fclose(file);
    if (rc) {
        h5w_free(f);
        return -1;
    }
    *out = f;
    return 0;
}

#endif
