/* arena.c - the bump allocator behind the AST and the IR. */
#include "arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CHUNK_SIZE = 64 * 1024, ALIGN = 16 };

struct ArenaChunk {
  ArenaChunk *next;
  size_t used, cap;
  _Alignas(16) unsigned char data[];
};

static _Noreturn void out_of_memory(void) {
  fputs("cnnc: fatal error: out of memory\n", stderr);
  exit(2);
}

void arena_init(Arena *a) { a->chunks = NULL; }

void arena_free_all(Arena *a) {
  ArenaChunk *c = a->chunks;
  while (c) {
    ArenaChunk *next = c->next;
    free(c);
    c = next;
  }
  a->chunks = NULL;
}

static ArenaChunk *new_chunk(Arena *a, size_t min) {
  size_t cap = min > CHUNK_SIZE ? min : CHUNK_SIZE;
  ArenaChunk *c = malloc(sizeof(ArenaChunk) + cap);
  if (!c)
    out_of_memory();
  c->used = 0;
  c->cap = cap;
  c->next = a->chunks;
  a->chunks = c;
  return c;
}

void *arena_alloc(Arena *a, size_t size) {
  if (size > SIZE_MAX / 2)
    out_of_memory();
  size = (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
  ArenaChunk *c = a->chunks;
  if (!c || c->cap - c->used < size)
    c = new_chunk(a, size);
  void *p = c->data + c->used;
  c->used += size;
  memset(p, 0, size);
  return p;
}

void *arena_array(Arena *a, size_t n, size_t size) {
  if (size && n > SIZE_MAX / 2 / size)
    out_of_memory();
  return arena_alloc(a, n * size);
}

char *arena_strndup(Arena *a, const char *s, size_t n) {
  char *p = arena_alloc(a, n + 1);
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

char *arena_strdup(Arena *a, const char *s) {
  return arena_strndup(a, s, strlen(s));
}

char *arena_printf(Arena *a, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0)
    out_of_memory();
  char *p = arena_alloc(a, (size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(p, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return p;
}
