/* json.h - the little JSON a safetensors header needs: objects, arrays,
 * strings, integers (and, read but unused, other numbers, true, false,
 * null). Values live in the caller's arena. Object members stay in the
 * text's order, repeated keys included: the caller decides. */
#ifndef CNNC_JSON_H
#define CNNC_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"

typedef enum JsonKind { JSON_OBJECT, JSON_ARRAY, JSON_STRING, JSON_INT,
                        JSON_OTHER } JsonKind;

typedef struct Json {
  JsonKind kind;
  const char *str;      /* JSON_STRING */
  int64_t num;          /* JSON_INT */
  int n;                /* members or elements */
  const char **keys;    /* JSON_OBJECT */
  struct Json **items;  /* JSON_OBJECT values, JSON_ARRAY elements */
} Json;

typedef struct JsonError {
  size_t at;        /* the offset of the first byte that is wrong */
  const char *what; /* "expected ':'", "a bad escape in a string", ... */
} JsonError;

/* The value that spans text[0..len), or NULL with *err set. Strings come
 * decoded (UTF-8, \u0000 refused). */
Json *json_parse(const char *text, size_t len, Arena *a, JsonError *err);

#endif
