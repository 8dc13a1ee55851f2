/* Byte buffers and Lua-value -> JSON serialization for report{} data and metadata. */
#include "sandbox_internal.h"
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <math.h>

int mwbuf_reserve(mwbuf *b, size_t extra) {
    if (b->len + extra + 1 <= b->cap) return 1;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) cap *= 2;
    mw_tls_in_libc = 1;
    char *p = realloc(b->p, cap);
    mw_tls_in_libc = 0;
    if (!p) return 0;
    b->p = p; b->cap = cap;
    return 1;
}

void mwbuf_limit(mwbuf *b, size_t limit) { b->len = 0; b->limit = limit; b->keys_left = limit; b->over = 0; }

void mwbuf_put(mwbuf *b, const char *s, size_t n) {
    if (b->limit && b->len + n > b->limit) { b->over = 1; return; }
    if (!mwbuf_reserve(b, n)) return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

void mwbuf_puts(mwbuf *b, const char *s) { mwbuf_put(b, s, strlen(s)); }
void mwbuf_putc(mwbuf *b, char c) { mwbuf_put(b, &c, 1); }
void mwbuf_free(mwbuf *b) { free(b->p); b->p = NULL; b->len = b->cap = 0; }

/* Length of a valid UTF-8 sequence starting at s[0], or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n) {
    unsigned char c = s[0];
    size_t need; unsigned cp;
    if (c < 0x80) return 1;
    if ((c & 0xE0) == 0xC0) { need = 2; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { need = 3; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { need = 4; cp = c & 0x07; }
    else return 0;
    if (n < need) return 0;
    for (size_t k = 1; k < need; k++) {
        if ((s[k] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[k] & 0x3F);
    }
    if ((need == 2 && cp < 0x80) || (need == 3 && cp < 0x800) || (need == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return 0;
    if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
    return need;
}

/* JSON string; invalid UTF-8 bytes become U+FFFD so the output is always valid JSON text. */
static void json_string(mwbuf *b, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    mwbuf_putc(b, '"');
    size_t i = 0;
    while (i < n) {
        unsigned char c = u[i];
        if (c == '"') { mwbuf_put(b, "\\\"", 2); i++; }
        else if (c == '\\') { mwbuf_put(b, "\\\\", 2); i++; }
        else if (c == '\n') { mwbuf_put(b, "\\n", 2); i++; }
        else if (c == '\r') { mwbuf_put(b, "\\r", 2); i++; }
        else if (c == '\t') { mwbuf_put(b, "\\t", 2); i++; }
        else if (c < 0x20) {
            char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
            mwbuf_put(b, e, 6); i++;
        } else if (c < 0x80) { mwbuf_putc(b, (char)c); i++; }
        else {
            size_t k = utf8_seq(u + i, n - i);
            if (k == 0) { mwbuf_put(b, "\\ufffd", 6); i++; }
            else { mwbuf_put(b, s + i, k); i += k; }
        }
    }
    mwbuf_putc(b, '"');
}

static void json_number(lua_State *L, int idx, mwbuf *b) {
    char tmp[64];
    int isint = 0;
    lua_Integer iv = lua_tointegerx(L, idx, &isint);
    if (lua_isinteger(L, idx) && isint) {
        snprintf(tmp, sizeof tmp, "%lld", (long long)iv);
    } else {
        lua_Number d = lua_tonumber(L, idx);
        if (!isfinite(d)) { mwbuf_puts(b, "null"); return; }
        if (d == floor(d) && fabs(d) < 1e15) snprintf(tmp, sizeof tmp, "%.0f", d);
        else snprintf(tmp, sizeof tmp, "%.17g", d);
    }
    mwbuf_puts(b, tmp);
}

typedef struct keyent { int isint; lua_Integer i; const char *s; size_t n; } keyent;

static int keycmp(const void *a, const void *b) {
    const keyent *x = a, *y = b;
    if (x->isint && y->isint) return x->i < y->i ? -1 : x->i > y->i;
    if (x->isint != y->isint) return x->isint ? -1 : 1;
    size_t m = x->n < y->n ? x->n : y->n;
    int c = memcmp(x->s, y->s, m);
    return c ? c : (x->n < y->n ? -1 : x->n > y->n);
}

#define MW_JSON_MAX_DEPTH 16
#define MW_JSON_MAX_KEYS 4096

/* Serializes with raw access only (no metamethods): a value a signature hands the host is data. */
void mw_json_value(lua_State *L, int idx, mwbuf *b, int depth, int describe) {
    if (b->over) return;
    idx = lua_absindex(L, idx);
    switch (lua_type(L, idx)) {
    case LUA_TNIL: mwbuf_puts(b, "null"); return;
    case LUA_TBOOLEAN: mwbuf_puts(b, lua_toboolean(L, idx) ? "true" : "false"); return;
    case LUA_TNUMBER: json_number(L, idx, b); return;
    case LUA_TSTRING: { size_t n; const char *s = lua_tolstring(L, idx, &n); json_string(b, s, n); return; }
    case LUA_TTABLE: break;
    default: {
        char tmp[32];
        snprintf(tmp, sizeof tmp, "<%s>", lua_typename(L, lua_type(L, idx)));
        json_string(b, tmp, strlen(tmp));
        return;
    }
    }
    if (depth >= MW_JSON_MAX_DEPTH) { json_string(b, "<too deep>", 10); return; }
    luaL_checkstack(L, 6, "serializing a table");

    /* Collect keys; decide array (1..n with no other keys) or object. The key list lives in a
     * userdata so a memory error raised midway leaks nothing and counts against the cap. */
    size_t cap = 16, n = 0;
    keyent *keys = lua_newuserdatauv(L, cap * sizeof *keys, 0);
    int slot = lua_gettop(L);
    int array = 1;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        lua_pop(L, 1);
        if (b->limit) {
            if (b->keys_left == 0) { b->over = 1; lua_pop(L, 1); break; }
            b->keys_left--;
        }
        int kt = lua_type(L, -1);
        if (n >= MW_JSON_MAX_KEYS) continue;
        keyent k = {0, 0, NULL, 0};
        if (kt == LUA_TNUMBER && lua_isinteger(L, -1)) { k.isint = 1; k.i = lua_tointeger(L, -1); }
        else if (kt == LUA_TSTRING) { k.s = lua_tolstring(L, -1, &k.n); array = 0; }
        else { array = 0; continue; }  /* keys that are tables, booleans or floats are skipped */
        if (n == cap) {
            keyent *g = lua_newuserdatauv(L, cap * 2 * sizeof *keys, 0);
            memcpy(g, keys, cap * sizeof *keys);
            cap *= 2;
            keys = g;
            lua_replace(L, slot);
        }
        keys[n++] = k;
    }
    if (n == 0) { lua_settop(L, slot - 1); mwbuf_puts(b, "{}"); return; }
    mw_tls_in_libc = 1;   /* qsort may take a buffer from malloc */
    qsort(keys, n, sizeof *keys, keycmp);
    mw_tls_in_libc = 0;
    if (array) {
        for (size_t k = 0; k < n; k++) if (keys[k].i != (lua_Integer)(k + 1)) { array = 0; break; }
    }
    mwbuf_putc(b, array ? '[' : '{');
    for (size_t k = 0; k < n && !b->over; k++) {
        if (k) mwbuf_putc(b, ',');
        /* String keys stay valid: they are still referenced by the table we are walking. */
        if (keys[k].isint) lua_pushinteger(L, keys[k].i); else lua_pushlstring(L, keys[k].s, keys[k].n);
        if (!array) {
            if (keys[k].isint) {
                char tmp[32];
                snprintf(tmp, sizeof tmp, "%lld", (long long)keys[k].i);
                json_string(b, tmp, strlen(tmp));
            } else json_string(b, keys[k].s, keys[k].n);
            mwbuf_putc(b, ':');
        }
        lua_rawget(L, idx);
        mw_json_value(L, -1, b, depth + 1, describe);
        lua_pop(L, 1);
    }
    mwbuf_putc(b, array ? ']' : '}');
    lua_settop(L, slot - 1);
}
