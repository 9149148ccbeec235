/* reference_step.c - two training steps of the generated code against an
 * independent plain-C implementation of the same network, in double.
 *
 * The network is fixed here and in reference-step.cnn:
 *   input(6, 6, 2)
 *   conv2d(4, kernel=3, padding=same, activation=relu)    layer 1
 *   avgpool(2)                                            layer 2
 *   dropout(0.25)                                         layer 3
 *   flatten()
 *   dense(5, activation=tanh)                             layer 5
 *   dense(3, activation=softmax)                          layer 6
 * with the optimizer named on the command line (sgd with momentum 0.9 and
 * lr 0.1, or adam with lr 0.01, Keras's defaults otherwise), batch 4. The
 * dropout mask follows runtime/cnnrt.h's definition through cnn_random.
 * Every parameter must agree within 1e-5 after each step. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnnrt.h"

enum { B = 4, H = 6, W = 6, C = 2, F = 4, K = 3, PH = 3, PW = 3, U = 5,
       NC = 3, POOLED = PH * PW * F };
static const double RATE = 0.25, MOMENTUM = 0.9, B1 = 0.9, B2 = 0.999,
                    EPS = 1e-7;

typedef struct Net { /* parameters in the generated layouts */
  double cw[K][K][C][F], cb[F], d1w[POOLED][U], d1b[U], d2w[U][NC], d2b[NC];
} Net;
enum { NPARAMS = sizeof(Net) / sizeof(double) };

typedef union { Net n; double a[NPARAMS]; } Params;

static uint64_t rng = 88172645463325252ULL;
static double uniform(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (double)(rng >> 11) * 0x1p-53;
}

static double keep_scale(uint64_t seed, int64_t step, int layer, int64_t ctr) {
  uint64_t r = cnn_random(seed, (uint64_t)step * 65536 + (uint64_t)layer,
                          (uint64_t)ctr);
  uint64_t threshold = (uint64_t)((double)(float)RATE * 16777216.0);
  return (r >> 40) >= threshold ? 1.0 / (1.0 - (double)(float)RATE) : 0;
}

/* Forward and backward of one image; gradients added into g. */
static double image_grad(const Net *p, const float *x, int label, int b,
                         uint64_t seed, int64_t step, Net *g) {
  double conv[H][W][F], pool[POOLED], drop[POOLED], h1[U], z2[NC], prob[NC];
  for (int i = 0; i < H; i++)
    for (int j = 0; j < W; j++)
      for (int f = 0; f < F; f++) {
        double s = p->cb[f];
        for (int a = 0; a < K; a++)
          for (int c2 = 0; c2 < K; c2++)
            for (int c = 0; c < C; c++) {
              int ii = i + a - 1, jj = j + c2 - 1;
              if (ii >= 0 && ii < H && jj >= 0 && jj < W)
                s += x[(ii * W + jj) * C + c] * p->cw[a][c2][c][f];
            }
        conv[i][j][f] = s > 0 ? s : 0;
      }
  for (int i = 0; i < PH; i++)
    for (int j = 0; j < PW; j++)
      for (int f = 0; f < F; f++) {
        int e = (i * PW + j) * F + f;
        pool[e] = (conv[2 * i][2 * j][f] + conv[2 * i + 1][2 * j][f] +
                   conv[2 * i][2 * j + 1][f] + conv[2 * i + 1][2 * j + 1][f]) / 4;
        drop[e] = pool[e] * keep_scale(seed, step, 3, (int64_t)b * POOLED + e);
      }
  for (int u = 0; u < U; u++) {
    double s = p->d1b[u];
    for (int e = 0; e < POOLED; e++)
      s += drop[e] * p->d1w[e][u];
    h1[u] = tanh(s);
  }
  double mx = -1e300, sum = 0;
  for (int k = 0; k < NC; k++) {
    z2[k] = p->d2b[k];
    for (int u = 0; u < U; u++)
      z2[k] += h1[u] * p->d2w[u][k];
    mx = z2[k] > mx ? z2[k] : mx;
  }
  for (int k = 0; k < NC; k++)
    sum += exp(z2[k] - mx);
  for (int k = 0; k < NC; k++)
    prob[k] = exp(z2[k] - mx) / sum;
  /* backward, of the mean over the batch */
  double dz2[NC], dh1[U] = {0}, ddrop[POOLED] = {0}, dconv[H][W][F];
  for (int k = 0; k < NC; k++)
    dz2[k] = (prob[k] - (k == label)) / B;
  for (int k = 0; k < NC; k++) {
    g->d2b[k] += dz2[k];
    for (int u = 0; u < U; u++) {
      g->d2w[u][k] += h1[u] * dz2[k];
      dh1[u] += p->d2w[u][k] * dz2[k];
    }
  }
  for (int u = 0; u < U; u++) {
    double dz = dh1[u] * (1 - h1[u] * h1[u]);
    g->d1b[u] += dz;
    for (int e = 0; e < POOLED; e++) {
      g->d1w[e][u] += drop[e] * dz;
      ddrop[e] += p->d1w[e][u] * dz;
    }
  }
  memset(dconv, 0, sizeof dconv);
  for (int i = 0; i < PH; i++)
    for (int j = 0; j < PW; j++)
      for (int f = 0; f < F; f++) {
        int e = (i * PW + j) * F + f;
        double d = ddrop[e] * keep_scale(seed, step, 3, (int64_t)b * POOLED + e) / 4;
        for (int a = 0; a < 2; a++)
          for (int c2 = 0; c2 < 2; c2++)
            dconv[2 * i + a][2 * j + c2][f] = d;
      }
  for (int i = 0; i < H; i++)
    for (int j = 0; j < W; j++)
      for (int f = 0; f < F; f++) {
        double dz = conv[i][j][f] > 0 ? dconv[i][j][f] : 0;
        g->cb[f] += dz;
        for (int a = 0; a < K; a++)
          for (int c2 = 0; c2 < K; c2++)
            for (int c = 0; c < C; c++) {
              int ii = i + a - 1, jj = j + c2 - 1;
              if (ii >= 0 && ii < H && jj >= 0 && jj < W)
                g->cw[a][c2][c][f] += x[(ii * W + jj) * C + c] * dz;
            }
      }
  return log(sum) + mx - z2[label];
}

static void update(Params *p, const Params *g, Params *m, Params *v,
                   int64_t t, bool adam, double lr) {
  double step = lr * sqrt(1 - pow(B2, (double)t)) / (1 - pow(B1, (double)t));
  for (int i = 0; i < NPARAMS; i++) {
    if (adam) {
      m->a[i] = B1 * m->a[i] + (1 - B1) * g->a[i];
      v->a[i] = B2 * v->a[i] + (1 - B2) * g->a[i] * g->a[i];
      p->a[i] -= step * m->a[i] / (sqrt(v->a[i]) + EPS);
    } else {
      m->a[i] = MOMENTUM * m->a[i] + g->a[i];
      p->a[i] -= lr * m->a[i];
    }
  }
}

/* The generated buffer's tensors in Net's order, by name. */
static const char *const names[] = {"conv2d_1.weight", "conv2d_1.bias",
                                    "dense_1.weight", "dense_1.bias",
                                    "dense_2.weight", "dense_2.bias"};

static void copy_params(const CnnModel *md, float *buf, Params *p, bool in) {
  int k = 0;
  for (int t = 0; t < 6; t++)
    for (int64_t j = 0; j < md->num_param_tensors; j++) {
      const CnnParam *q = &md->params[j];
      if (strcmp(q->name, names[t]))
        continue;
      for (int64_t e = 0; e < q->size; e++, k++)
        if (in)
          p->a[k] = buf[q->offset + e];
        else
          buf[q->offset + e] = (float)p->a[k];
    }
}

int main(int argc, char **argv) {
  const CnnModel *md = &cnn_model;
  bool adam = argc > 1 && !strcmp(argv[1], "adam");
  double lr = adam ? 0.01 : 0.1;
  if (md->num_params != NPARAMS || md->batch != B) {
    printf("FAIL: the model is not the one this test knows\n");
    return 1;
  }
  Params p, g, m = {0}, v = {0};
  for (int i = 0; i < NPARAMS; i++)
    p.a[i] = uniform() - 0.5;
  float *buf = malloc(sizeof(float) * NPARAMS);
  float *state = calloc((size_t)md->opt_state_floats + 1, sizeof(float));
  void *arena = aligned_alloc(64, ((size_t)md->train_arena_bytes + 63) / 64 * 64);
  float x[B][H * W * C];
  int32_t labels[B];
  for (int b = 0; b < B; b++) {
    labels[b] = b % NC;
    for (int i = 0; i < H * W * C; i++)
      x[b][i] = (float)uniform();
  }
  copy_params(md, buf, &p, false);
  copy_params(md, buf, &p, true); /* the reference starts from the floats */
  double worst = 0;
  for (int64_t step = 1; step <= 2; step++) {
    double loss = 0, ref_loss = 0;
    int64_t correct = 0;
    cnn_train_step(md, buf, state, &x[0][0], labels, B, arena, step, 99,
                   (float)lr, (float)cnn_compiled_momentum(md), &loss, &correct);
    memset(&g, 0, sizeof g);
    for (int b = 0; b < B; b++)
      ref_loss += image_grad(&p.n, x[b], labels[b], b, 99, step, &g.n);
    update(&p, &g, &m, &v, step, adam, lr);
    Params got;
    copy_params(md, buf, &got, true);
    for (int i = 0; i < NPARAMS; i++)
      worst = fmax(worst, fabs(got.a[i] - p.a[i]));
    printf("step %lld: loss %.6f (reference %.6f)\n", (long long)step,
           loss / B, ref_loss / B);
  }
  printf("%s: largest parameter difference %.3g\n",
         worst <= 1e-5 ? "OK" : "FAIL", worst);
  free(buf);
  free(state);
  free(arena);
  return worst > 1e-5;
}
