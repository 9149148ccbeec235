/* parallel.c - the thread pool behind cnn_parallel_for.
 *
 * Generated code cuts a batch into chunks and calls cnn_parallel_for to run
 * them; which thread runs which chunk does not matter, because every chunk
 * writes only its own slice and the generated code sums the slices in a
 * fixed order afterwards. The pool lives for the process: workers sleep on
 * a condition variable between calls, and the caller works too. A global is
 * the right shape here: generated code calls in without a handle. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "cnnrt.h"

typedef struct Pool {
  pthread_mutex_t mu;
  pthread_cond_t start, done;
  pthread_t *workers;
  int nworkers;
  unsigned long generation; /* bumped once per call */
  int active;               /* workers still running this call */
  void (*fn)(void *, int64_t);
  void *ctx;
  int64_t count;
  atomic_llong next; /* the next chunk to hand out */
} Pool;

static Pool pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
                    PTHREAD_COND_INITIALIZER, NULL, 0, 0, 0, NULL, NULL, 0, 0};

static void run_chunks(void) {
  long long i;
  while ((i = atomic_fetch_add(&pool.next, 1)) < pool.count)
    pool.fn(pool.ctx, (int64_t)i);
}

static void *worker(void *arg) {
  (void)arg;
  unsigned long seen = 0;
  for (;;) {
    pthread_mutex_lock(&pool.mu);
    while (pool.generation == seen)
      pthread_cond_wait(&pool.start, &pool.mu);
    seen = pool.generation;
    pthread_mutex_unlock(&pool.mu);
    run_chunks();
    pthread_mutex_lock(&pool.mu);
    if (--pool.active == 0)
      pthread_cond_signal(&pool.done);
    pthread_mutex_unlock(&pool.mu);
  }
  return NULL;
}

int cnn_available_cores(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : n > 256 ? 256 : (int)n;
}

bool cnn_set_threads(int threads) {
  if (pool.workers || threads <= 1)
    return true; /* the pool is made once, before the first step */
  pool.workers = calloc((size_t)threads - 1, sizeof *pool.workers);
  if (!pool.workers)
    return false;
  for (int i = 0; i < threads - 1; i++) {
    if (pthread_create(&pool.workers[i], NULL, worker, NULL) != 0)
      break;
    pool.nworkers++;
  }
  return pool.nworkers == threads - 1;
}

void cnn_parallel_for(void (*fn)(void *ctx, int64_t i), void *ctx,
                      int64_t count) {
  if (pool.nworkers == 0 || count <= 1) {
    for (int64_t i = 0; i < count; i++)
      fn(ctx, i);
    return;
  }
  pthread_mutex_lock(&pool.mu);
  pool.fn = fn;
  pool.ctx = ctx;
  pool.count = count;
  atomic_store(&pool.next, 0);
  pool.active = pool.nworkers;
  pool.generation++;
  pthread_cond_broadcast(&pool.start);
  pthread_mutex_unlock(&pool.mu);
  run_chunks();
  pthread_mutex_lock(&pool.mu);
  while (pool.active > 0)
    pthread_cond_wait(&pool.done, &pool.mu);
  pthread_mutex_unlock(&pool.mu);
}
