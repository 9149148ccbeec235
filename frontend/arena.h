/* arena.h - one bump allocator per compilation.
 *
 * The AST, the IR and every string they point to live in one arena that is
 * freed at once when the compilation ends (chibicc's and QBE's argument: a
 * compiler that frees node by node spends its effort on bookkeeping, not on
 * compiling). Allocation failure is fatal: there is nothing sensible to do. */
#ifndef CNNC_ARENA_H
#define CNNC_ARENA_H

#include <stddef.h>

typedef struct ArenaChunk ArenaChunk;

typedef struct Arena {
  ArenaChunk *chunks;
} Arena;

void arena_init(Arena *a);
void arena_free_all(Arena *a);
/* Zeroed, aligned for any object. */
void *arena_alloc(Arena *a, size_t size);
/* A zeroed array of n elements; overflow of n * size is fatal. */
void *arena_array(Arena *a, size_t n, size_t size);
char *arena_strndup(Arena *a, const char *s, size_t n);
char *arena_strdup(Arena *a, const char *s);
char *arena_printf(Arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
