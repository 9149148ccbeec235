/* parser.y - the grammar of the .cnn language.
 *
 * A file holds a `model NAME { layers }` block and, optionally, a
 * `train { settings }` block. Layers, settings and values are generic (see
 * ast.h); their meaning is checked after parsing. Error recovery resumes at
 * the next layer or setting, so one run reports several mistakes. */
%define api.pure full
%define api.prefix {cnn_yy}
%define parse.error detailed
%define parse.lac full
%locations
%param {void *scanner}
%parse-param {ParseCtx *ctx}

%code requires {
#include "parse_ctx.h"
}

%code {
#include <string.h>

int cnn_yylex(CNN_YYSTYPE *lval, CNN_YYLTYPE *lloc, void *scanner);
static void cnn_yyerror(CNN_YYLTYPE *loc, void *scanner, ParseCtx *ctx,
                        const char *msg);
static Loc at(CNN_YYLTYPE l) { return (Loc){l.first_line, l.first_column}; }
static AstValue *new_value(ParseCtx *ctx, ValueKind k, Loc loc,
                           const char *text);
static ArgList append_arg(ArgList list, AstArg *arg);
static AstArg *list_item(ParseCtx *ctx, AstValue *v);
static void add_layer(ParseCtx *ctx, AstLayer *layer);
static void add_setting(ParseCtx *ctx, AstSetting *s);
static void set_model(ParseCtx *ctx, const char *name, Loc loc);
static void set_train(ParseCtx *ctx, Loc loc);
}

%union {
  const char *str;
  AstValue *value;
  AstArg *arg;
  ArgList arglist;
  AstLayer *layer;
  AstSetting *setting;
}

%token END 0 "end of file"
%token MODEL "'model'" TRAIN "'train'"
%token <str> IDENT "identifier" INT "integer" FLOAT "number" STRING "string"

%type <value> value
%type <arg> opt_args arg
%type <arglist> args items_list
%type <layer> layer
%type <setting> setting

%%

file
  : items
  ;

items
  : %empty
  | items item
  ;

item
  : model_head '{' layers '}'
  | train_head '{' settings '}'
  | error '}'                   { yyerrok; }
  ;

/* model NAME */
model_head
  : MODEL IDENT                 { set_model(ctx, $2, at(@2)); }
  ;

/* train */
train_head
  : TRAIN                       { set_train(ctx, at(@1)); }
  ;

layers
  : %empty
  | layers layer                { add_layer(ctx, $2); }
  | layers error
  ;

/* [name =] kind(args) */
layer
  : IDENT '(' opt_args ')' {
      $$ = arena_alloc(ctx->arena, sizeof(AstLayer));
      $$->kind = $1; $$->loc = at(@1); $$->args = $3;
    }
  | IDENT '=' IDENT '(' opt_args ')' {
      $$ = arena_alloc(ctx->arena, sizeof(AstLayer));
      $$->name = $1; $$->name_loc = at(@1);
      $$->kind = $3; $$->loc = at(@3); $$->args = $5;
    }
  ;

settings
  : %empty
  | settings setting            { add_setting(ctx, $2); }
  | settings error
  ;

/* key = value */
setting
  : IDENT '=' value {
      $$ = arena_alloc(ctx->arena, sizeof(AstSetting));
      $$->key = $1; $$->loc = at(@1); $$->value = $3;
    }
  ;

/* args, with an optional trailing comma */
opt_args
  : %empty                      { $$ = NULL; }
  | args                        { $$ = $1.first; }
  | args ','                    { $$ = $1.first; }
  ;

args
  : arg                         { $$ = (ArgList){$1, $1}; }
  | args ',' arg                { $$ = append_arg($1, $3); }
  ;

/* value | key = value */
arg
  : value {
      $$ = arena_alloc(ctx->arena, sizeof(AstArg));
      $$->value = $1;
    }
  | IDENT '=' value {
      $$ = arena_alloc(ctx->arena, sizeof(AstArg));
      $$->key = $1; $$->key_loc = at(@1); $$->value = $3;
    }
  ;

value
  : INT                         { $$ = ctx_number(ctx, $1, false, false, at(@1)); }
  | FLOAT                       { $$ = ctx_number(ctx, $1, false, true, at(@1)); }
  | '-' INT                     { $$ = ctx_number(ctx, $2, true, false, at(@1)); }
  | '-' FLOAT                   { $$ = ctx_number(ctx, $2, true, true, at(@1)); }
  | IDENT                       { $$ = new_value(ctx, VAL_IDENT, at(@1), $1); }
  | STRING                      { $$ = new_value(ctx, VAL_STRING, at(@1), $1); }
  | IDENT '(' opt_args ')' {
      $$ = new_value(ctx, VAL_CALL, at(@1), $1);
      $$->args = $3;
    }
  | '[' ']'                     { $$ = new_value(ctx, VAL_LIST, at(@1), "["); }
  | '[' items_list ']' {
      $$ = new_value(ctx, VAL_LIST, at(@1), "[");
      $$->args = $2.first;
    }
  | '[' items_list ',' ']' {
      $$ = new_value(ctx, VAL_LIST, at(@1), "[");
      $$->args = $2.first;
    }
  ;

/* a list's items: values without keys */
items_list
  : value                       { AstArg *a = list_item(ctx, $1); $$ = (ArgList){a, a}; }
  | items_list ',' value        { $$ = append_arg($1, list_item(ctx, $3)); }
  ;

%%

/* The innermost bracket still open whose closer bison expects, so that
 * "expecting '}'" names a '{' and not an unrelated '('. */
static int open_bracket_for(const ParseCtx *ctx, const char *msg) {
  if (ctx->nopen > 0 && !strstr(msg, "expecting"))
    return (ctx->nopen - 1) % MAX_OPEN; /* bison listed nothing: the innermost */
  int oldest = ctx->nopen > MAX_OPEN ? ctx->nopen - MAX_OPEN : 0;
  for (int depth = ctx->nopen - 1; depth >= oldest; depth--) {
    int i = depth % MAX_OPEN;
    char c = ctx->open_char[i];
    const char *closer = c == '{' ? "'}'" : c == '[' ? "']'" : "')'";
    if (strstr(msg, closer))
      return i;
  }
  return -1;
}

/* Bison's message, plus the unclosed bracket when the file ended early:
 * "expecting '}' (to close '{' at 3:14)". */
static void cnn_yyerror(CNN_YYLTYPE *loc, void *scanner, ParseCtx *ctx,
                        const char *msg) {
  (void)scanner;
  if (strcmp(msg, "memory exhausted") == 0) {
    diag_error(ctx->diag, at(*loc), "brackets nested too deeply");
    return;
  }
  int open = ctx->at_eof ? open_bracket_for(ctx, msg) : -1;
  if (open >= 0) {
    Loc where = ctx->open_loc[open];
    char c = ctx->open_char[open];
    diag_error(ctx->diag, at(*loc), "%s (to close '%c' at %d:%d)", msg, c,
               where.line, where.col);
    diag_note(ctx->diag, where, "'%c' opened here", c);
    return;
  }
  diag_error(ctx->diag, at(*loc), "%s", msg);
}

static AstArg *list_item(ParseCtx *ctx, AstValue *v) {
  AstArg *a = arena_alloc(ctx->arena, sizeof(AstArg));
  a->value = v;
  return a;
}

static AstValue *new_value(ParseCtx *ctx, ValueKind k, Loc loc,
                           const char *text) {
  AstValue *v = arena_alloc(ctx->arena, sizeof(AstValue));
  v->kind = k;
  v->loc = loc;
  v->text = text;
  return v;
}

/* The list carries its tail, so that a call of 80,000 arguments is read in
 * linear time, not by walking the list once per argument. */
static ArgList append_arg(ArgList list, AstArg *arg) {
  list.last->next = arg;
  list.last = arg;
  return list;
}

static void add_layer(ParseCtx *ctx, AstLayer *layer) {
  if (!ctx->layer_tail)
    ctx->layer_tail = &ctx->ast->layers;
  *ctx->layer_tail = layer;
  ctx->layer_tail = &layer->next;
}

static void add_setting(ParseCtx *ctx, AstSetting *s) {
  if (!ctx->setting_tail)
    ctx->setting_tail = &ctx->ast->settings;
  *ctx->setting_tail = s;
  ctx->setting_tail = &s->next;
}

static void set_model(ParseCtx *ctx, const char *name, Loc loc) {
  Ast *ast = ctx->ast;
  if (ast->model_name) {
    diag_error(ctx->diag, loc, "a second model block ('%s'); a file holds "
               "one model", name);
    diag_note(ctx->diag, ast->model_loc, "model '%s' is defined here",
              ast->model_name);
    return;
  }
  ast->model_name = name;
  ast->model_loc = loc;
}

static void set_train(ParseCtx *ctx, Loc loc) {
  Ast *ast = ctx->ast;
  if (ast->has_train) {
    diag_error(ctx->diag, loc, "a second train block; a file holds one");
    diag_note(ctx->diag, ast->train_loc, "the first train block is here");
    return;
  }
  ast->has_train = true;
  ast->train_loc = loc;
}
