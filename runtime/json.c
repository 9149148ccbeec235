/* json.c - a recursive-descent JSON reader for safetensors headers.
 *
 * Strict: JSON's grammar for numbers and escapes, no trailing commas, no
 * comments, nothing after the value; a depth limit keeps hostile nesting
 * from exhausting the stack; integers that do not fit int64 are errors,
 * not wrapped values. A failure says what is wrong and at which byte. */
#include "json.h"

#include <string.h>

enum { MAX_DEPTH = 32, MAX_ITEMS = 1 << 20 };

typedef struct Reader {
  const char *s;
  size_t len, pos;
  Arena *a;
  JsonError *err; /* the first failure */
} Reader;

static Json *value(Reader *r, int depth);

static void skip_space(Reader *r) {
  while (r->pos < r->len && strchr(" \t\r\n", r->s[r->pos]) && r->s[r->pos])
    r->pos++;
}

static bool eat(Reader *r, char c) {
  skip_space(r);
  if (r->pos < r->len && r->s[r->pos] == c) {
    r->pos++;
    return true;
  }
  return false;
}

/* NULL, after noting what is wrong where (the first failure wins: the
 * callers that unwind after it have nothing to add). */
static void *fail(Reader *r, const char *what) {
  if (!r->err->what)
    *r->err = (JsonError){r->pos, what};
  return NULL;
}

static Json *new_value(Reader *r, JsonKind k) {
  Json *v = arena_alloc(r->a, sizeof *v);
  v->kind = k;
  return v;
}

static int hex4(const char *p) {
  int v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p[i];
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                   : -1;
    if (d < 0)
      return -1;
    v = v << 4 | d;
  }
  return v;
}

/* The code point of a \u escape at r->pos (after the "\u"), a surrogate
 * pair taken whole; -1 for a bad one. */
static long code_point(Reader *r) {
  if (r->len - r->pos < 4)
    return -1;
  long c = hex4(r->s + r->pos);
  if (c < 0)
    return -1;
  r->pos += 4;
  if (c >= 0xDC00 && c <= 0xDFFF)
    return -1;
  if (c < 0xD800 || c > 0xDBFF)
    return c;
  if (r->len - r->pos < 6 || r->s[r->pos] != '\\' || r->s[r->pos + 1] != 'u')
    return -1;
  long low = hex4(r->s + r->pos + 2);
  if (low < 0xDC00 || low > 0xDFFF)
    return -1;
  r->pos += 6;
  return 0x10000 + ((c - 0xD800) << 10) + (low - 0xDC00);
}

static size_t put_utf8(char *out, long c) {
  if (c < 0x80)
    return out[0] = (char)c, 1;
  if (c < 0x800)
    return out[0] = (char)(0xC0 | c >> 6), out[1] = (char)(0x80 | (c & 63)), 2;
  if (c < 0x10000)
    return out[0] = (char)(0xE0 | c >> 12),
           out[1] = (char)(0x80 | (c >> 6 & 63)),
           out[2] = (char)(0x80 | (c & 63)), 3;
  return out[0] = (char)(0xF0 | c >> 18), out[1] = (char)(0x80 | (c >> 12 & 63)),
         out[2] = (char)(0x80 | (c >> 6 & 63)), out[3] = (char)(0x80 | (c & 63)),
         4;
}

/* One escape after its backslash, decoded into out: its length, or 0 for
 * a bad one. \u0000 is refused: it would cut the C string short, and
 * "conv2d_1.bias\u0000junk" must not pass for conv2d_1.bias. */
static size_t escape(Reader *r, char *out) {
  char c = r->s[r->pos++];
  const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
  const char *k = c ? strchr(from, c) : NULL;
  if (k)
    return out[0] = to[k - from], 1;
  if (c != 'u')
    return 0;
  long cp = code_point(r);
  return cp > 0 ? put_utf8(out, cp) : 0;
}

/* A string's contents, escapes decoded: first its end, then exactly its
 * bytes (decoding never lengthens them). */
static const char *string_text(Reader *r) {
  if (!eat(r, '"'))
    return fail(r, "expected a string");
  size_t end = r->pos;
  while (end < r->len && r->s[end] != '"')
    end += r->s[end] == '\\' ? 2 : 1;
  if (end >= r->len)
    return fail(r, "a string that does not end");
  char *out = arena_alloc(r->a, end - r->pos + 1);
  size_t n = 0;
  while (r->pos < end) {
    unsigned char c = (unsigned char)r->s[r->pos];
    if (c < 0x20)
      return fail(r, "a control character in a string");
    size_t k = 1;
    if (c != '\\')
      out[n] = (char)c, r->pos++;
    else if (r->pos++, !(k = escape(r, out + n)))
      return fail(r, "a bad escape in a string");
    n += k;
  }
  if (r->pos != end)
    return fail(r, "a bad escape in a string");
  r->pos++;
  out[n] = '\0';
  return out;
}

static bool digit_at(const Reader *r) {
  return r->pos < r->len && r->s[r->pos] >= '0' && r->s[r->pos] <= '9';
}

static void skip_digits(Reader *r) {
  while (digit_at(r))
    r->pos++;
}

/* JSON's grammar exactly: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?;
 * an integer is JSON_INT while it fits int64. */
static Json *number(Reader *r) {
  bool neg = r->s[r->pos] == '-';
  r->pos += neg;
  if (!digit_at(r))
    return fail(r, "a bad number");
  int64_t v = 0;
  if (r->s[r->pos] == '0')
    r->pos++;
  else
    while (digit_at(r)) {
      int d = r->s[r->pos] - '0';
      if (v > (INT64_MAX - d) / 10)
        return fail(r, "an integer that does not fit 64 bits");
      v = v * 10 + d, r->pos++;
    }
  bool integral = true;
  if (r->pos < r->len && r->s[r->pos] == '.') {
    r->pos++, integral = false;
    if (!digit_at(r))
      return fail(r, "a bad number");
    skip_digits(r);
  }
  if (r->pos < r->len && (r->s[r->pos] == 'e' || r->s[r->pos] == 'E')) {
    r->pos++, integral = false;
    r->pos += r->pos < r->len && (r->s[r->pos] == '+' || r->s[r->pos] == '-');
    if (!digit_at(r))
      return fail(r, "a bad number");
    skip_digits(r);
  }
  Json *j = new_value(r, integral ? JSON_INT : JSON_OTHER);
  j->num = neg ? -v : v;
  return j;
}

/* Room for one more element: the arrays double, so reading n elements
 * copies fewer than 2n. */
static bool grow(Reader *r, Json *j, int *cap) {
  if (j->n < *cap)
    return true;
  if (*cap >= MAX_ITEMS) {
    fail(r, "more than 1048576 members or elements");
    return false;
  }
  Json **items = arena_array(r->a, (size_t)*cap * 2, sizeof *items);
  const char **keys = arena_array(r->a, (size_t)*cap * 2, sizeof *keys);
  memcpy(items, j->items, sizeof *items * (size_t)*cap);
  memcpy(keys, j->keys, sizeof *keys * (size_t)*cap);
  j->items = items, j->keys = keys, *cap *= 2;
  return true;
}

/* Elements or members, after the opening bracket. */
static Json *sequence(Reader *r, JsonKind k, char close, int depth) {
  Json *j = new_value(r, k);
  int cap = 8;
  j->items = arena_array(r->a, (size_t)cap, sizeof *j->items);
  j->keys = arena_array(r->a, (size_t)cap, sizeof *j->keys);
  if (eat(r, close))
    return j;
  do {
    if (!grow(r, j, &cap))
      return NULL;
    if (k == JSON_OBJECT && !(j->keys[j->n] = string_text(r)))
      return NULL;
    if (k == JSON_OBJECT && !eat(r, ':'))
      return fail(r, "expected ':'");
    if (!(j->items[j->n++] = value(r, depth + 1)))
      return NULL;
  } while (eat(r, ','));
  if (eat(r, close))
    return j;
  return fail(r, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
}

static Json *literal(Reader *r, const char *word) {
  size_t n = strlen(word);
  if (r->len - r->pos < n || memcmp(r->s + r->pos, word, n) != 0)
    return fail(r, "expected a value");
  r->pos += n;
  return new_value(r, JSON_OTHER);
}

static Json *value(Reader *r, int depth) {
  skip_space(r);
  if (depth > MAX_DEPTH)
    return fail(r, "nesting deeper than 32 levels");
  if (r->pos >= r->len)
    return fail(r, "the text ends where a value should be");
  char c = r->s[r->pos];
  if (c == '{' || c == '[') {
    r->pos++;
    return sequence(r, c == '{' ? JSON_OBJECT : JSON_ARRAY,
                    c == '{' ? '}' : ']', depth);
  }
  if (c == '"') {
    Json *j = new_value(r, JSON_STRING);
    return (j->str = string_text(r)) ? j : NULL;
  }
  if (c == '-' || (c >= '0' && c <= '9'))
    return number(r);
  return literal(r, c == 't' ? "true" : c == 'f' ? "false" : "null");
}

Json *json_parse(const char *text, size_t len, Arena *a, JsonError *err) {
  *err = (JsonError){0, NULL};
  Reader r = {text, len, 0, a, err};
  Json *j = value(&r, 0);
  if (j) {
    skip_space(&r);
    if (r.pos != len)
      j = fail(&r, "text after the value");
  }
  return j;
}
