/* json.c - a recursive-descent JSON reader for safetensors headers.
 *
 * Strict: no trailing commas, no comments, nothing after the value; a
 * depth limit keeps hostile nesting from exhausting the stack; integers
 * that do not fit int64 are errors, not wrapped values. */
#include "json.h"

#include <string.h>

enum { MAX_DEPTH = 32, MAX_ITEMS = 1 << 20 };

typedef struct Reader {
  const char *s;
  size_t len, pos;
  Arena *a;
  bool failed;
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

static Json *fail(Reader *r) {
  r->failed = true;
  return NULL;
}

static Json *new_value(Reader *r, JsonKind k) {
  Json *v = arena_alloc(r->a, sizeof *v);
  v->kind = k;
  return v;
}

/* A string's contents; escapes are kept as the two characters they are
 * (\u escapes too): names in safetensors files are plain. */
static const char *string_text(Reader *r) {
  if (!eat(r, '"'))
    return NULL;
  size_t start = r->pos;
  while (r->pos < r->len && r->s[r->pos] != '"') {
    unsigned char c = (unsigned char)r->s[r->pos];
    if (c < 0x20)
      return NULL;
    r->pos += c == '\\' ? 2 : 1;
  }
  if (r->pos >= r->len)
    return NULL;
  return arena_strndup(r->a, r->s + start, r->pos++ - start);
}

static Json *number(Reader *r) {
  size_t start = r->pos;
  bool neg = r->s[r->pos] == '-', integral = true;
  r->pos += neg;
  int64_t v = 0;
  while (r->pos < r->len && r->s[r->pos] >= '0' && r->s[r->pos] <= '9') {
    int d = r->s[r->pos++] - '0';
    if (v > (INT64_MAX - d) / 10)
      return fail(r);
    v = v * 10 + d;
  }
  while (r->pos < r->len && strchr(".eE+-", r->s[r->pos]) && r->s[r->pos]) {
    integral = false;
    r->pos++;
    while (r->pos < r->len && r->s[r->pos] >= '0' && r->s[r->pos] <= '9')
      r->pos++;
  }
  if (r->pos == start + neg)
    return fail(r);
  Json *j = new_value(r, integral ? JSON_INT : JSON_OTHER);
  j->num = neg ? -v : v;
  return j;
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
    if (j->n == cap) {
      if (cap >= MAX_ITEMS)
        return fail(r);
      Json **items = arena_array(r->a, (size_t)cap * 2, sizeof *items);
      const char **keys = arena_array(r->a, (size_t)cap * 2, sizeof *keys);
      memcpy(items, j->items, sizeof *items * (size_t)cap);
      memcpy(keys, j->keys, sizeof *keys * (size_t)cap);
      j->items = items, j->keys = keys, cap *= 2;
    }
    if (k == JSON_OBJECT &&
        (!(j->keys[j->n] = string_text(r)) || !eat(r, ':')))
      return fail(r);
    if (!(j->items[j->n++] = value(r, depth + 1)))
      return fail(r);
  } while (eat(r, ','));
  return eat(r, close) ? j : fail(r);
}

static Json *literal(Reader *r, const char *word) {
  size_t n = strlen(word);
  if (r->len - r->pos < n || memcmp(r->s + r->pos, word, n) != 0)
    return fail(r);
  r->pos += n;
  return new_value(r, JSON_OTHER);
}

static Json *value(Reader *r, int depth) {
  skip_space(r);
  if (depth > MAX_DEPTH || r->pos >= r->len)
    return fail(r);
  char c = r->s[r->pos];
  if (c == '{' || c == '[') {
    r->pos++;
    return sequence(r, c == '{' ? JSON_OBJECT : JSON_ARRAY,
                    c == '{' ? '}' : ']', depth);
  }
  if (c == '"') {
    Json *j = new_value(r, JSON_STRING);
    return (j->str = string_text(r)) ? j : fail(r);
  }
  if (c == '-' || (c >= '0' && c <= '9'))
    return number(r);
  return literal(r, c == 't' ? "true" : c == 'f' ? "false" : "null");
}

Json *json_parse(const char *text, size_t len, Arena *a, size_t *error_at) {
  Reader r = {text, len, 0, a, false};
  Json *j = value(&r, 0);
  skip_space(&r);
  if (!j || r.failed || r.pos != len) {
    *error_at = r.pos;
    return NULL;
  }
  return j;
}
