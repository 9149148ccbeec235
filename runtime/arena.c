/* arena.c - the scratch memory handed to the generated functions.
 *
 * The generated kernels use aligned vector loads on buffers they place in
 * the arena, so it starts on a CNN_ALIGN boundary (cnnrt.h). aligned_alloc wants a size that is a multiple of the
 * alignment, and a zero size would be implementation-defined. */
#include "runtime.h"

#include <stdlib.h>
#include <string.h>

enum { ALIGN = CNN_ALIGN };

void *cnn_arena_create(int64_t bytes) {
  if (bytes < 0 || (uint64_t)bytes > SIZE_MAX - ALIGN) {
    cnn_error("cannot allocate an arena of %lld bytes", (long long)bytes);
    return NULL;
  }
  size_t size = ((size_t)bytes + ALIGN - 1) / ALIGN * ALIGN;
  if (size == 0)
    size = ALIGN;
  void *p = aligned_alloc(ALIGN, size);
  if (!p) {
    cnn_error("out of memory: the arena needs %zu bytes", size);
    return NULL;
  }
  memset(p, 0, size);
  return p;
}

void cnn_arena_free(void *arena) { free(arena); }
