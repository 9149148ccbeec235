/* parse.c - reading a source file and driving the scanner and parser. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "parse_ctx.h"
#include "parser.h"
#include "lexer.h"

enum { MAX_SOURCE = 16 << 20 }; /* a .cnn file is a page; 16 MiB is absurd */

bool source_read_file(Source *src, const char *path, Diag *d, Arena *arena) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    diag_tool_error(d, "cannot open '%s': %s", path, strerror(errno));
    return false;
  }
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  size_t n;
  while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
    len += n;
    if (len == cap && cap <= MAX_SOURCE) {
      char *grown = realloc(buf, cap * 2);
      if (!grown)
        free(buf);
      buf = grown;
      cap *= 2;
    } else if (len == cap) {
      break;
    }
  }
  bool bad = !buf || ferror(f) || len > MAX_SOURCE;
  int err = errno;
  fclose(f);
  if (bad) {
    diag_tool_error(d, "cannot read '%s': %s", path,
                    len > MAX_SOURCE ? "file is larger than 16 MiB"
                                      : strerror(err));
    free(buf);
    return false;
  }
  src->name = arena_strdup(arena, path);
  src->text = arena_strndup(arena, buf, len);
  src->len = len;
  free(buf);
  return true;
}

const char *value_kind_name(ValueKind k) {
  switch (k) {
  case VAL_INT: return "an integer";
  case VAL_FLOAT: return "a number";
  case VAL_IDENT: return "an identifier";
  case VAL_STRING: return "a string";
  case VAL_CALL: return "a call";
  case VAL_LIST: return "a list";
  }
  unreachable();
}

void ctx_open(ParseCtx *ctx, char c, Loc loc) {
  ctx->open_loc[ctx->nopen % MAX_OPEN] = loc;
  ctx->open_char[ctx->nopen % MAX_OPEN] = c;
  ctx->nopen++;
}

void ctx_close(ParseCtx *ctx, char closer) {
  char opener = closer == '}' ? '{' : closer == ']' ? '[' : '(';
  if (ctx->nopen > 0 && ctx->open_char[(ctx->nopen - 1) % MAX_OPEN] == opener)
    ctx->nopen--;
}

/* Integers must fit int64; floats must be finite. A value that does not is
 * reported here, where its text is, and replaced by 0 so parsing goes on. */
AstValue *ctx_number(ParseCtx *ctx, const char *text, bool negative,
                     bool is_float, Loc loc) {
  AstValue *v = arena_alloc(ctx->arena, sizeof(AstValue));
  v->loc = loc;
  v->text = negative ? arena_printf(ctx->arena, "-%s", text) : text;
  v->kind = is_float ? VAL_FLOAT : VAL_INT;
  errno = 0;
  if (is_float) {
    double f = strtod(v->text, NULL);
    if (errno == ERANGE && fabs(f) > 1.0) {
      diag_error(ctx->diag, loc, "number '%s' is too large", v->text);
      f = 0;
    } else if (errno == ERANGE && f == 0 && strpbrk(text, "123456789")) {
      diag_error(ctx->diag, loc, "number '%s' is too small: it would be 0",
                 v->text);
    }
    v->f = f;
    return v;
  }
  long long i = strtoll(v->text, NULL, 10);
  if (errno == ERANGE) {
    diag_error(ctx->diag, loc, "integer '%s' does not fit in 64 bits",
               v->text);
    i = 0;
  }
  v->i = i;
  v->f = (double)i;
  return v;
}

/* A NUL byte means the user passed something that is not a .cnn file;
 * reporting every byte of it as "unexpected" would only bury that fact. */
static bool reject_binary(const Source *src, Diag *d) {
  const char *nul = memchr(src->text, '\0', src->len);
  if (!nul)
    return false;
  size_t off = (size_t)(nul - src->text);
  int line = 1, col = 1;
  for (size_t i = 0; i < off; i++) {
    if (src->text[i] == '\n') {
      line++;
      col = 1;
    } else {
      col++;
    }
  }
  diag_error(d, (Loc){line, col},
             "'%s' looks like a binary file (NUL byte at offset %zu); "
             "expected .cnn text", src->name, off);
  return true;
}

static bool only_blanks_and_comments(const Source *src) {
  const char *p = src->text, *end = src->text + src->len;
  while (p < end) {
    if (*p == '#' || (*p == '/' && p + 1 < end && p[1] == '/')) {
      while (p < end && *p != '\n')
        p++;
    } else if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
      p++;
    } else {
      return false;
    }
  }
  return true;
}

Ast *parse_source(const Source *src, Diag *d, Arena *arena) {
  if (reject_binary(src, d))
    return NULL;
  if (only_blanks_and_comments(src)) {
    diag_error(d, (Loc){1, 1}, "%s: expected 'model NAME { ... }'",
               src->len ? "no model in this file" : "empty file");
    return NULL;
  }
  Ast *ast = arena_alloc(arena, sizeof(Ast));
  ParseCtx ctx = {.diag = d, .arena = arena, .ast = ast, .line = 1, .col = 1};
  ctx.last_end = (Loc){1, 1};
  yyscan_t scanner;
  if (cnn_yylex_init_extra(&ctx, &scanner) != 0)
    unreachable();
  YY_BUFFER_STATE buf = cnn_yy_scan_bytes(src->text, (int)src->len, scanner);
  cnn_yyparse(scanner, &ctx);
  cnn_yy_delete_buffer(buf, scanner);
  cnn_yylex_destroy(scanner);
  ast->eof_loc = ctx.last_end;
  return ast;
}
