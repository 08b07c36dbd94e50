/* xmlesc.c - text that any XML 1.0 parser accepts, from bytes that may be anything. */
#include <string.h>

#include "rep.h"

enum mode { TEXT, ATTR, CDATA };

/* XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]. The
 * decoder already refuses surrogates and values past U+10FFFF. */
static bool xml_char(int32_t cp)
{
    if (cp < 0x20) return cp == 0x9 || cp == 0xa || cp == 0xd;
    return cp != 0xfffe && cp != 0xffff;
}

size_t rep_utf8_cut(const char *s, size_t len, size_t max)
{
    if (max == 0 || len <= max) return len;
    size_t n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
        n--;
    return n;
}

static bool emit(hx_buf *out, const char *s, size_t max, enum mode m)
{
    if (!s) return !out->oom;
    size_t len = strlen(s), end = rep_utf8_cut(s, len, max);
    /* "]]" pending at the end of the last code point, to spot "]]>" inside CDATA. */
    int brackets = 0;
    for (size_t i = 0; i < end;) {
        int32_t cp;
        size_t k = hx_utf8_next(s + i, end - i, &cp);
        const char *rep = NULL;
        if (cp < 0 || !xml_char(cp))
            rep = REP_REPLACEMENT;
        else if (m != CDATA) {
            switch (cp) {
            case '&':
                rep = "&amp;";
                break;
            case '<':
                rep = "&lt;";
                break;
            case '>':
                rep = "&gt;";
                break;
            case '"':
                rep = "&quot;";
                break;
            case '\'':
                rep = "&apos;";
                break;
            case '\r':
                rep = "&#13;";
                break;
            case '\t':
                rep = m == ATTR ? "&#9;" : NULL;
                break;
            case '\n':
                rep = m == ATTR ? "&#10;" : NULL;
                break;
            default:
                break;
            }
        } else if (cp == '>' && brackets >= 2) {
            /* End the section between "]]" and ">" and open a new one. */
            hx_buf_puts(out, "]]><![CDATA[");
        }
        if (rep)
            hx_buf_puts(out, rep);
        else
            hx_buf_append(out, s + i, k);
        brackets = cp == ']' ? brackets + 1 : 0;
        i += k;
    }
    if (end < len) hx_buf_puts(out, REP_ELLIPSIS);
    return !out->oom;
}

bool rep_xml_text(hx_buf *out, const char *s, size_t max)
{
    return emit(out, s, max, TEXT);
}

bool rep_xml_attr(hx_buf *out, const char *s, size_t max)
{
    return emit(out, s, max, ATTR);
}

bool rep_xml_cdata(hx_buf *out, const char *s, size_t max)
{
    hx_buf_puts(out, "<![CDATA[");
    emit(out, s, max, CDATA);
    return hx_buf_puts(out, "]]>");
}

const char *rep_tail(const char *s, size_t max)
{
    size_t len = strlen(s);
    if (max == 0 || len <= max) return s;
    const char *p = s + len - max;
    for (int i = 0; i < 3 && ((unsigned char)*p & 0xc0) == 0x80; i++)
        p++;
    return p;
}
