/* ast.h - the syntax tree of a .cnn file.
 *
 * The grammar is deliberately generic: a layer is `[name =] kind(args)`, a
 * train setting is `key = value`, and a value is a number, an identifier, a
 * string or a call `f(args)`. Which layers, keys and types exist is decided
 * after parsing (ir/lower.c, with the helpers of frontend/args.h), so that
 * "unknown layer 'avgpol'; did you mean 'avgpool'?" is one table look-up and
 * not a grammar rule per layer.
 *
 *   model tiny {                 Ast{ name="tiny",
 *     input(28, 28, 1)             layers = Layer{kind="input", args=28,28,1}
 *     c1 = conv2d(8, kernel=3)            -> Layer{name="c1", kind="conv2d",
 *   }                                           args=8, kernel=3} }
 */
#ifndef CNNC_AST_H
#define CNNC_AST_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "diag.h"

typedef enum ValueKind {
  VAL_INT,    /* 42        */
  VAL_FLOAT,  /* 0.25, 1e-3 */
  VAL_IDENT,  /* same, relu, true */
  VAL_STRING, /* "data/mnist" */
  VAL_CALL,   /* adam(lr=0.001), leaky_relu(0.2), idx("dir") */
  VAL_LIST,   /* [0.49, 0.48, 0.45], [crop(padding=4), flip] */
} ValueKind;

typedef struct AstArg AstArg;

typedef struct AstValue {
  ValueKind kind;
  Loc loc;
  const char *text; /* identifier, string contents, callee, or number text */
  int64_t i;        /* VAL_INT */
  double f;         /* VAL_FLOAT (and VAL_INT, converted) */
  AstArg *args;     /* VAL_CALL's arguments, VAL_LIST's items (no keys) */
} AstValue;

/* One argument: positional (key == NULL) or `key = value`. */
struct AstArg {
  const char *key;
  Loc key_loc;
  AstValue *value;
  AstArg *next;
};

typedef struct AstLayer {
  const char *name; /* NULL when the user gave none */
  Loc name_loc;
  const char *kind;
  Loc loc; /* of the kind */
  AstArg *args;
  struct AstLayer *next;
} AstLayer;

typedef struct AstSetting {
  const char *key;
  Loc loc;
  AstValue *value;
  struct AstSetting *next;
} AstSetting;

typedef struct Ast {
  const char *model_name; /* NULL: no model block */
  Loc model_loc;
  AstLayer *layers;
  bool has_train;
  Loc train_loc;
  AstSetting *settings;
  Loc eof_loc; /* where "expected ..." errors at end of file point */
} Ast;

/* Parses src; syntax errors go to d. Returns NULL only if nothing usable was
 * parsed; check d->errors either way. Everything lives in `arena`. */
Ast *parse_source(const Source *src, Diag *d, Arena *arena);

/* Reads a whole file into the arena; reports a missing or unreadable file as
 * a tool error and returns false. */
bool source_read_file(Source *src, const char *path, Diag *d, Arena *arena);

const char *value_kind_name(ValueKind k);

#endif
