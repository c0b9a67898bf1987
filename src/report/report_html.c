/* report_html.c - report.html: report.md converted by a small Markdown-to-HTML converter
 * that knows what the report writes (headings, paragraphs, lists, tables, images, **bold**
 * and `code`), with the figures' PNGs embedded as data: URIs so the page is one file. */
#define _POSIX_C_SOURCE 200809L
#include "report_parts.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void html_text(FILE *f, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '<')
            fputs("&lt;", f);
        else if (ch == '>')
            fputs("&gt;", f);
        else if (ch == '&')
            fputs("&amp;", f);
        else if (ch == '"')
            fputs("&quot;", f);
        else
            fputc(ch, f);
    }
}

/* Inline Markdown of this report: **bold** and `code`, everything else escaped. */
static void html_inline(FILE *f, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (i + 1 < n && s[i] == '*' && s[i + 1] == '*') {
            const char *end = NULL;
            for (size_t k = i + 2; k + 1 < n; k++)
                if (s[k] == '*' && s[k + 1] == '*') {
                    end = s + k;
                    break;
                }
            if (end) {
                fputs("<strong>", f);
                html_inline(f, s + i + 2, (size_t)(end - s) - i - 2);
                fputs("</strong>", f);
                i = (size_t)(end - s) + 2;
                continue;
            }
        }
        if (s[i] == '`') {
            const char *end = memchr(s + i + 1, '`', n - i - 1);
            if (end) {
                fputs("<code>", f);
                html_text(f, s + i + 1, (size_t)(end - s) - i - 1);
                fputs("</code>", f);
                i = (size_t)(end - s) + 1;
                continue;
            }
        }
        html_text(f, s + i, 1);
        i++;
    }
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Writes path's bytes as base64; returns 0, or -1 when the file cannot be read. */
static int html_base64_file(FILE *f, const char *path)
{
    /* a regular file only (a FIFO put there would block, /dev/zero never end), and no more
     * than the size it had when opened */
    int fd;
    int64_t size;
    if (fg_open_regular(path, O_RDONLY, "figure", &fd, &size, NULL))
        return -1;
    FILE *in = fdopen(fd, "rb");
    if (!in) {
        close(fd);
        return -1;
    }
    unsigned char buf[3 * 1024];
    size_t r;
    int64_t left = size;
    while (left > 0 && (r = fread(buf, 1, left < (int64_t)sizeof buf ? (size_t)left : sizeof buf, in)) > 0) {
        left -= (int64_t)r;
        for (size_t i = 0; i < r; i += 3) {
            unsigned v = (unsigned)buf[i] << 16;
            if (i + 1 < r)
                v |= (unsigned)buf[i + 1] << 8;
            if (i + 2 < r)
                v |= buf[i + 2];
            fputc(b64[(v >> 18) & 63], f);
            fputc(b64[(v >> 12) & 63], f);
            fputc(i + 1 < r ? b64[(v >> 6) & 63] : '=', f);
            fputc(i + 2 < r ? b64[v & 63] : '=', f);
        }
        if (r < sizeof buf)
            break;
    }
    int bad = ferror(in);
    fclose(in);
    return bad ? -1 : 0;
}

static const char html_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<style>\n"
    "body { font-family: 'DejaVu Sans', Helvetica, Arial, sans-serif; max-width: 1100px; margin: 2em auto;"
    " padding: 0 1em; color: #222; line-height: 1.45; }\n"
    "h1 { border-bottom: 2px solid #1f77b4; padding-bottom: .2em; }\n"
    "h2 { margin-top: 1.8em; border-bottom: 1px solid #ccc; padding-bottom: .15em; }\n"
    "table { border-collapse: collapse; margin: .8em 0; font-size: .9em; display: block; overflow-x: auto; }\n"
    "th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: left; vertical-align: top; }\n"
    "th { background: #eef3f8; }\n"
    "tr:nth-child(even) td { background: #fafafa; }\n"
    "code { background: #f3f3f3; padding: 0 .25em; border-radius: 3px; font-size: .92em; }\n"
    "figure { margin: 1.2em 0; }\n"
    "figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }\n"
    "figcaption { color: #555; font-size: .9em; }\n"
    "</style>\n"
    /* For tests and for the reader: after loading, the page records how many of its images
     * decoded (body data-images-loaded="N/M"). */
    "<script>\nwindow.addEventListener('load', function () {\n"
    "  var im = document.images, ok = 0;\n"
    "  for (var i = 0; i < im.length; i++) if (im[i].complete && im[i].naturalWidth > 0) ok++;\n"
    "  document.body.setAttribute('data-images-loaded', ok + '/' + im.length);\n"
    "});\n</script>\n";

/* Open blocks of the converter. */
typedef struct {
    int in_table, table_row, in_list, in_para;
} html_state;

/* A heading line "## text". */
static void html_heading(FILE *f, const char *p, size_t len)
{
    int level = 0;
    while ((size_t)level < len && p[level] == '#')
        level++;
    const char *t = p + level + (p[level] == ' ');
    fprintf(f, "<h%d>", level);
    html_inline(f, t, len - (size_t)(t - p));
    fprintf(f, "</h%d>\n", level);
}

/* A table line: the header row, the |---| separator, or a body row. */
static void html_table_line(FILE *f, const char *p, size_t len, html_state *s)
{
    int sep = 1; /* |---|---| */
    for (size_t i = 0; i < len; i++)
        sep &= p[i] == '|' || p[i] == '-' || p[i] == ':' || p[i] == ' ';
    if (!s->in_table) {
        fputs("<table><thead>", f);
        s->in_table = 1;
        s->table_row = 0;
    }
    if (sep) {
        fputs("<tbody>\n", f);
        return;
    }
    const char *cell = s->table_row == 0 ? "th" : "td";
    fputs("<tr>", f);
    const char *q = p + 1, *end = p + len;
    while (q < end) {
        const char *bar = memchr(q, '|', (size_t)(end - q));
        if (!bar)
            break;
        const char *a = q, *b = bar;
        while (a < b && *a == ' ')
            a++;
        while (b > a && b[-1] == ' ')
            b--;
        fprintf(f, "<%s>", cell);
        html_inline(f, a, (size_t)(b - a));
        fprintf(f, "</%s>", cell);
        q = bar + 1;
    }
    fputs(s->table_row == 0 ? "</tr></thead>\n" : "</tr>\n", f);
    s->table_row++;
}

/* An image line ![title](plots/STEM.svg): dir/plots/STEM.png embedded, or a note that the
 * figure is missing. */
static void html_figure(FILE *f, const char *p, size_t len, const char *dir)
{
    const char *close = memchr(p, ']', len), *open = close ? memchr(close, '(', len - (size_t)(close - p)) : NULL;
    const char *rp = open ? memchr(open, ')', len - (size_t)(open - p)) : NULL;
    if (!close || !open || !rp || rp - open <= 5 || memcmp(rp - 4, ".svg", 4))
        return;
    char src[4400];
    snprintf(src, sizeof src, "%s/%.*s.png", dir, (int)(rp - 4 - open - 1), open + 1);
    if (access(src, R_OK) != 0) {
        fputs("<p>(figure missing: ", f);
        html_text(f, src, strlen(src));
        fputs(")</p>\n", f);
        return;
    }
    fputs("<figure><img alt=\"", f);
    html_text(f, p + 2, (size_t)(close - p - 2));
    fputs("\" src=\"data:image/png;base64,", f);
    html_base64_file(f, src);
    fputs("\"><figcaption>", f);
    html_inline(f, p + 2, (size_t)(close - p - 2));
    fputs("</figcaption></figure>\n", f);
}

/* Closes the blocks a line of this kind ends. */
static void html_close_blocks(FILE *f, html_state *s, const char *p, size_t len, int is_table, int is_item)
{
    if (s->in_table && !is_table) {
        fputs("</tbody></table>\n", f);
        s->in_table = 0;
    }
    if (s->in_list && !is_item) {
        fputs("</ul>\n", f);
        s->in_list = 0;
    }
    if (s->in_para && (len == 0 || is_table || is_item || p[0] == '#' || p[0] == '!')) {
        fputs("</p>\n", f);
        s->in_para = 0;
    }
}

/* One line of Markdown (without its newline). */
static void html_line(FILE *f, const char *p, size_t len, const char *dir, html_state *s)
{
    int is_table = len > 0 && p[0] == '|';
    int is_item = len > 1 && p[0] == '-' && p[1] == ' ';
    html_close_blocks(f, s, p, len, is_table, is_item);
    if (len == 0) {
        /* blank line: closes blocks (done above) */
    } else if (p[0] == '#') {
        html_heading(f, p, len);
    } else if (is_table) {
        html_table_line(f, p, len, s);
    } else if (is_item) {
        if (!s->in_list) {
            fputs("<ul>\n", f);
            s->in_list = 1;
        }
        fputs("<li>", f);
        html_inline(f, p + 2, len - 2);
        fputs("</li>\n", f);
    } else if (len > 4 && p[0] == '!' && p[1] == '[') {
        html_figure(f, p, len, dir);
    } else {
        if (!s->in_para) {
            fputs("<p>", f);
            s->in_para = 1;
        } else {
            fputc('\n', f);
        }
        html_inline(f, p, len);
    }
}

void rpt_html_from_md(FILE *f, const char *md, const char *dir, const char *title)
{
    fputs(html_head, f);
    fputs("<title>", f);
    html_text(f, title, strlen(title));
    fputs("</title>\n</head>\n<body>\n", f);
    html_state s = {0};
    for (const char *p = md; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        html_line(f, p, len, dir, &s);
        p += len + (nl ? 1 : 0);
    }
    if (s.in_table)
        fputs("</tbody></table>\n", f);
    if (s.in_list)
        fputs("</ul>\n", f);
    if (s.in_para)
        fputs("</p>\n", f);
    fputs("</body>\n</html>\n", f);
}
