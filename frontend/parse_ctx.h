/* parse_ctx.h - state shared by the flex scanner and the bison parser.
 *
 * Private to frontend/: both generated files include it. The scanner keeps
 * the stack of open brackets so that a syntax error at the end of the file
 * can say which '{' or '(' was never closed. */
#ifndef CNNC_PARSE_CTX_H
#define CNNC_PARSE_CTX_H

#include <stdbool.h>

#include "ast.h"

/* flex's bison bridge names the unprefixed types. */
#define YYSTYPE CNN_YYSTYPE
#define YYLTYPE CNN_YYLTYPE

/* An argument list while it is parsed: its tail makes appending O(1). */
typedef struct ArgList {
  AstArg *first, *last;
} ArgList;

enum { MAX_OPEN = 64 }; /* brackets remembered; deeper ones are only counted */

typedef struct ParseCtx {
  Diag *diag;
  Arena *arena;
  Ast *ast;
  AstLayer **layer_tail; /* where the next layer goes: appending is O(1) */
  AstSetting **setting_tail; /* likewise for train settings */
  int line, col;   /* where the next character is */
  Loc last_end;    /* just past the last token: where EOF errors point */
  bool at_eof;     /* the scanner has returned end of file */
  int nopen;       /* brackets still open */
  Loc open_loc[MAX_OPEN];
  char open_char[MAX_OPEN];
} ParseCtx;

/* The last MAX_OPEN brackets are kept, in a ring indexed by depth. */
void ctx_open(ParseCtx *ctx, char c, Loc loc);
/* A closer pops only a bracket of its own kind: a stray ')' must not
 * make the '{' around it look closed. */
void ctx_close(ParseCtx *ctx, char closer);

/* Literals with overflow checks; errors go to ctx->diag. */
AstValue *ctx_number(ParseCtx *ctx, const char *text, bool negative,
                     bool is_float, Loc loc);

#endif
