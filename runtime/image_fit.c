/* image_fit.c - an image file's pixels to a model's input: its channels,
 * and on request (--resize) its size.
 *
 * Channels, on the bytes: grey to RGB repeats the grey value three times;
 * RGB to grey is PIL's convert('L'), ITU-R 601-2 luma
 * L = R * 299/1000 + G * 587/1000 + B * 114/1000 computed as Pillow's
 * libImaging/Convert.c does, in 16-bit fixed point and rounded:
 * (19595 R + 38470 G + 7471 B + 32768) >> 16. So a grey image saved as RGB
 * comes back as the same grey, and a model sees what a PIL pipeline feeds.
 *
 * Size, on the floats the model reads (byte / 255): bilinear, as PyTorch's
 * F.interpolate(mode='bilinear', align_corners=False, antialias=False).
 * Output pixel centre y maps to input coordinate (y + 0.5) * in / out - 0.5,
 * clamped at 0; the value mixes the two rows (and the two columns) around
 * it, the last row repeated past the edge. Enlarging, this is also PIL's
 * resize(BILINEAR); shrinking, PIL widens its filter (antialiasing) and
 * this does not, as F.interpolate does not. */
#include "runtime.h"

#include <inttypes.h>
#include <stdlib.h>

static uint8_t luma(const uint8_t *rgb) {
  return (uint8_t)((rgb[0] * 19595u + rgb[1] * 38470u + rgb[2] * 7471u +
                    0x8000u) >> 16);
}

bool cnn_image_channels(CnnImage *img, int64_t c) {
  if (img->c == c)
    return true;
  int64_t n = img->h * img->w;
  uint8_t *px = malloc((size_t)(n * c));
  if (!px) {
    cnn_error("out of memory for an image's %" PRId64 " pixels", n);
    return false;
  }
  for (int64_t i = 0; i < n; i++)
    if (c == 1)
      px[i] = luma(img->pixels + 3 * i);
    else
      px[3 * i] = px[3 * i + 1] = px[3 * i + 2] = img->pixels[i];
  free(img->pixels);
  img->pixels = px;
  img->c = c;
  return true;
}

/* where output index o of n reads input [*i0, *i1] with weight *t of i1,
 * for an input of `in` */
static void source(int64_t o, int64_t n, int64_t in, int64_t *i0, int64_t *i1,
                   float *t) {
  float scale = (float)in / (float)n;
  float at = ((float)o + 0.5f) * scale - 0.5f;
  if (at < 0)
    at = 0;
  *i0 = (int64_t)at;
  *i1 = *i0 + 1 < in ? *i0 + 1 : in - 1;
  *t = at - (float)*i0;
}

void cnn_resize_bilinear(const float *src, int64_t h, int64_t w, int64_t c,
                         float *dst, int64_t oh, int64_t ow) {
  for (int64_t y = 0; y < oh; y++) {
    int64_t y0, y1;
    float ty;
    source(y, oh, h, &y0, &y1, &ty);
    for (int64_t x = 0; x < ow; x++) {
      int64_t x0, x1;
      float tx;
      source(x, ow, w, &x0, &x1, &tx);
      const float *p00 = src + (y0 * w + x0) * c, *p01 = src + (y0 * w + x1) * c;
      const float *p10 = src + (y1 * w + x0) * c, *p11 = src + (y1 * w + x1) * c;
      float *out = dst + (y * ow + x) * c;
      for (int64_t k = 0; k < c; k++)
        out[k] = (1 - ty) * ((1 - tx) * p00[k] + tx * p01[k]) +
                 ty * ((1 - tx) * p10[k] + tx * p11[k]);
    }
  }
}
