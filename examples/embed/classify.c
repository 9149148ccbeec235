/* classify.c - classifies image files with an inference object cnnc made,
 * for any model: PNG (through libpng), PGM or PPM (P2, P3, P5, P6). Nothing
 * else is linked: no runtime library, no allocation but libpng's.
 *
 *   cmake -S examples/embed -B build-embed -DMODEL=model.cnn \
 *         -DWEIGHTS=W.safetensors [-DNAME=NAME]
 *   cmake --build build-embed
 *   build-embed/classify digit.png two.pgm
 *
 * The build says which header to include and the prefix of its names
 * (the model's name, or cnnc's --name): model_names.h.
 *
 * Each file gets the block a trainer's --predict prints for it: the top 5
 * classes with their probabilities (as indices: the header knows no class
 * names). Its pixels reach the model as the trainer's do: byte / 255;
 * 16-bit samples scaled to 8 bits first (round(v * 255 / maxval)), alpha
 * dropped, grey repeated for an RGB model, RGB to grey for a grey model as
 * PIL's convert('L'). An image of another size is refused. */
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_names.h"

enum {
  H = MODEL(_INPUT_HEIGHT), W = MODEL(_INPUT_WIDTH), C = MODEL(_INPUT_CHANNELS),
  CLASSES = MODEL(_OUTPUT_SIZE), TOP = 5,
};
#if MODEL(_INPUT_CHANNELS) != 1 && MODEL(_INPUT_CHANNELS) != 3
#error "classify reads grey (1 channel) or RGB (3 channel) images"
#endif

static _Alignas(MODEL(_SCRATCH_ALIGN)) unsigned char
    scratch[MODEL(_SCRATCH_SIZE)];

/* One image as read: 8-bit grey (c = 1) or RGB (c = 3), HWC. */
typedef struct Image {
  const char *format;
  int w, h, c;
  unsigned char px[H * W * 3];
} Image;

static int fail(const char *path, const char *what) {
  fprintf(stderr, "classify: error: %s: %s\n", path, what);
  return 0;
}

static int wrong_size(const char *path, unsigned long w, unsigned long h) {
  fprintf(stderr, "classify: error: %s: the image is %lux%lu (width x "
          "height); the model takes %dx%d\n", path, w, h, W, H);
  return 0;
}

/* --- PNG ------------------------------------------------------------------- */

static void png_failed(png_structp png, png_const_charp msg) {
  fprintf(stderr, "classify: error: %s: not a valid PNG: %s\n",
          (const char *)png_get_error_ptr(png), msg);
  png_longjmp(png, 1);
}

static void png_quiet(png_structp png, png_const_charp msg) {
  (void)png;
  (void)msg;
}

/* 8-bit grey or RGB out of any PNG: palettes expanded, low bit depths
 * scaled up, 16 bits scaled down, alpha (and tRNS) dropped */
static void png_to_8bit(png_structp png, png_infop info) {
  int type = png_get_color_type(png, info);
  if (type == PNG_COLOR_TYPE_PALETTE)
    png_set_palette_to_rgb(png);
  if (type == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8)
    png_set_expand_gray_1_2_4_to_8(png);
  if (png_get_bit_depth(png, info) == 16)
    png_set_scale_16(png);
  if ((type & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS))
    png_set_strip_alpha(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
}

/* after setjmp: changes no local of its own (img is the caller's) */
static int png_rows(const char *path, png_structp png, png_infop info,
                    FILE *f, Image *img) {
  png_init_io(png, f);
  png_read_info(png, info);
  png_uint_32 w = png_get_image_width(png, info);
  png_uint_32 h = png_get_image_height(png, info);
  if (w != W || h != H)
    return wrong_size(path, w, h);
  png_to_8bit(png, info);
  img->format = "PNG", img->w = W, img->h = H;
  img->c = png_get_channels(png, info);
  if ((img->c != 1 && img->c != 3) ||
      png_get_rowbytes(png, info) != (size_t)(W * img->c))
    return fail(path, "libpng gives no 8-bit grey or RGB rows");
  png_bytep rows[H];
  for (int y = 0; y < H; y++)
    rows[y] = img->px + y * W * img->c;
  png_read_image(png, rows);
  png_read_end(png, NULL);
  return 1;
}

static int png_guarded(const char *path, png_structp png, png_infop info,
                       FILE *f, Image *img) {
  if (setjmp(png_jmpbuf(png)))
    return 0; /* png_failed said why */
  return png_rows(path, png, info, f, img);
}

static int read_png(const char *path, FILE *f, Image *img) {
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING,
                                           (void *)path, png_failed, png_quiet);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  int ok = info ? png_guarded(path, png, info, f, img)
                : fail(path, "out of memory for libpng");
  png_destroy_read_struct(&png, &info, NULL);
  return ok;
}

/* --- PGM, PPM ----------------------------------------------------------------- */

static int is_space(int ch) { return ch != EOF && strchr(" \t\r\n\v\f", ch); }

/* the first byte after whitespace and '#' comments (which end at CR/LF) */
static int skip_blanks(FILE *f) {
  int ch = fgetc(f);
  while (ch == '#' || is_space(ch)) {
    if (ch == '#')
      while ((ch = fgetc(f)) != EOF && ch != '\n' && ch != '\r')
        ;
    ch = fgetc(f);
  }
  return ch;
}

/* a decimal number after blanks, and in *after the byte that ends it;
 * -1 if there is none */
static long pnm_number(FILE *f, int *after) {
  int ch = skip_blanks(f);
  long v = -1;
  for (; ch >= '0' && ch <= '9' && v < 70000; ch = fgetc(f))
    v = (v < 0 ? 0 : v * 10) + (ch - '0');
  *after = ch;
  return v;
}

/* a header number: one whitespace byte ends each, the last (maxval)
 * too; before the last, a comment may follow a number at once ("32#w"),
 * as the trainer and netpbm read it */
static long header_number(FILE *f, int last) {
  int after;
  long v = pnm_number(f, &after);
  if (after == '#' && !last) {
    ungetc(after, f); /* the next skip_blanks reads the comment */
    return v;
  }
  return is_space(after) ? v : -1;
}

/* sample i of a plain (P2, P3) or binary (P5, P6) raster; -1 if missing */
static long sample(FILE *f, int plain, int bytes) {
  if (plain) {
    int after;
    long v = pnm_number(f, &after);
    return is_space(after) || after == EOF ? v : -1;
  }
  int hi = bytes == 2 ? fgetc(f) : 0, lo = fgetc(f);
  return hi == EOF || lo == EOF ? -1 : (long)hi << 8 | lo;
}

static int read_pnm(const char *path, FILE *f, Image *img, int c, int plain) {
  long w = header_number(f, 0), h = header_number(f, 0);
  long max = header_number(f, 1);
  if (w < 1 || h < 1 || max < 1 || max > 65535)
    return fail(path, "not a PGM/PPM header (P2, P3, P5 or P6, then width, "
                "height and maxval)");
  if (w != W || h != H)
    return wrong_size(path, (unsigned long)w, (unsigned long)h);
  img->format = c == 1 ? "PGM" : "PPM", img->w = W, img->h = H, img->c = c;
  int bytes = max > 255 ? 2 : 1;
  for (int i = 0; i < W * H * c; i++) {
    long v = sample(f, plain, bytes);
    if (v < 0)
      return fail(path, "truncated, or not a number where a sample should be");
    if (v > max)
      return fail(path, "a sample is above the maxval");
    img->px[i] = (unsigned char)((v * 255 + max / 2) / max);
  }
  int rest = plain ? skip_blanks(f) : fgetc(f);
  return rest == EOF ? 1 : fail(path, "bytes after the image");
}

/* --- classifying ------------------------------------------------------------- */

static int read_image(const char *path, Image *img) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return fail(path, "cannot open");
  unsigned char magic[8] = {0};
  size_t n = fread(magic, 1, 8, f);
  int ok;
  if (n == 8 && png_sig_cmp(magic, 0, 8) == 0) {
    rewind(f);
    ok = read_png(path, f, img);
  } else if (n >= 3 && magic[0] == 'P' && strchr("2356", magic[1])) {
    fseek(f, 2, SEEK_SET);
    ok = read_pnm(path, f, img, magic[1] == '3' || magic[1] == '6' ? 3 : 1,
                  magic[1] == '2' || magic[1] == '3');
  } else {
    ok = fail(path, "not a PNG, PGM or PPM file");
  }
  fclose(f);
  return ok;
}

/* PIL's convert('L'): ITU-R 601-2 luma in 16-bit fixed point, rounded */
static unsigned char luma(const unsigned char *rgb) {
  return (unsigned char)((rgb[0] * 19595u + rgb[1] * 38470u + rgb[2] * 7471u +
                          0x8000u) >> 16);
}

/* the model's input: its channels, byte / 255 */
static void to_input(const Image *img, float *input) {
  for (int p = 0; p < H * W; p++)
    for (int k = 0; k < C; k++) {
      const unsigned char *px = img->px + p * img->c;
      int v = img->c == C ? px[k] : C == 1 ? luma(px) : px[0];
      input[p * C + k] = (float)v / 255.0f;
    }
}

static void print_top(const float *probs) {
  int top[TOP], n = CLASSES < TOP ? CLASSES : TOP;
  int width = snprintf(NULL, 0, "%d", CLASSES - 1);
  for (int i = 0; i < n; i++) {
    int best = -1;
    for (int k = 0; k < CLASSES; k++) {
      int taken = 0;
      for (int j = 0; j < i; j++)
        taken |= top[j] == k;
      if (!taken && (best < 0 || probs[k] > probs[best]))
        best = k;
    }
    top[i] = best;
    printf("  %.4f  %*d\n", probs[best], width, best);
  }
}

static int classify(const char *path, int shown) {
  static Image img;
  if (!read_image(path, &img))
    return 0;
  static float input[MODEL(_INPUT_SIZE)], probs[CLASSES];
  to_input(&img, input);
  FN(_infer)(input, probs, scratch);
  printf("%s%s: %s %dx%d %s%s\n", shown ? "\n" : "", path, img.format, img.w,
         img.h, img.c == 1 ? "grey" : "RGB",
         img.c == C ? "" : C == 1 ? ", as grey" : ", as RGB");
  print_top(probs);
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: classify IMAGE.png|IMAGE.pgm|IMAGE.ppm...\n"
            "Classifies %dx%dx%d images (height x width x channels) with the "
            "inference object '%s' (%d classes).\n",
            H, W, C, STR(CNN_MODEL_PREFIX), CLASSES);
    return 1;
  }
  int shown = 0, failed = 0;
  for (int i = 1; i < argc; i++)
    if (classify(argv[i], shown))
      shown++;
    else
      failed++;
  return failed ? 1 : 0;
}
