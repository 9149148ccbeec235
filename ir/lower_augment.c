/* lower_augment.c - the train block's augment = ...: what happens to each
 * training image, on the fly, every epoch (never to validation or test
 * images).
 *
 *   augment = [crop(padding=4), flip]     CIFAR's recipe
 *   augment = translate(2)                grey digits moved by up to 2 px
 *
 * crop(padding=P) is torchvision's RandomCrop(size, padding=P): the image
 * padded with P pixels of zeros each side, then a crop of its own size at
 * a random place; translate(P) is the same move (up to P pixels each way,
 * zeros coming in) by the name Keras' RandomTranslation gives it. flip is
 * RandomHorizontalFlip: mirrored left to right with probability 1/2. The
 * runtime draws them from (seed, epoch, image index): see cnnrt.h. */
#include <string.h>

#include "args.h"
#include "ast.h"
#include "ir.h"

enum { MAX_SHIFT = 1 << 10 };

static const char *const names[] = {"crop", "translate", "flip"};
enum { AUG_CROP, AUG_TRANSLATE, AUG_FLIP, NAUG };

/* The item's kind, -1 after reporting. */
static int item_kind(Diag *d, const AstValue *v) {
  if (v->kind != VAL_CALL && v->kind != VAL_IDENT) {
    diag_error(d, v->loc, "train: 'augment' takes crop(padding=P), "
               "translate(P) and flip, alone or in a list [...], not %s",
               value_kind_name(v->kind));
    return -1;
  }
  return value_callee_choice(d, v, "augment", "augmentation", names, NAUG);
}

/* crop(padding=P) / translate(P): P */
static bool shift_of(Diag *d, const AstValue *v, const char *key,
                     int64_t *out) {
  ParamSpec spec[] = {{key, true, true}};
  AstValue *a[1] = {0};
  if (v->kind != VAL_CALL) {
    diag_error(d, v->loc, "augment: %s needs its %s: %s(%s=N)", v->text, key,
               v->text, key);
    return false;
  }
  return args_bind(d, v->text, v->loc, v->args, spec, 1, a) &&
         value_int(d, a[0], v->text, key, 1, MAX_SHIFT, out);
}

static void one_item(Diag *d, const AstValue *v, TrainSpec *t,
                     const AstValue **seen) {
  int k = item_kind(d, v);
  if (k < 0)
    return;
  bool moves = k == AUG_CROP || k == AUG_TRANSLATE;
  const AstValue *first = seen[moves ? AUG_CROP : AUG_FLIP];
  if (first) {
    if (moves)
      diag_error(d, v->loc, "augment: %s moves the image a second time; "
                 "crop and translate are one move: give one of them",
                 v->text);
    else
      diag_error(d, v->loc, "augment: flip is given twice");
    diag_note(d, first->loc, "first given here");
    return;
  }
  seen[moves ? AUG_CROP : AUG_FLIP] = v;
  if (k == AUG_FLIP) {
    if (v->kind == VAL_CALL && v->args)
      diag_error(d, v->loc, "augment: flip takes no arguments (it is "
                 "horizontal, with probability 1/2)");
    t->augment_flip = true;
    return;
  }
  int64_t p;
  if (shift_of(d, v, k == AUG_CROP ? "padding" : "pixels", &p))
    t->augment_shift = p;
}

void ir_lower_augment(Diag *d, const AstValue *v, TrainSpec *t) {
  const AstValue *seen[NAUG] = {0};
  t->augment_loc = v->loc;
  if (v->kind != VAL_LIST) {
    one_item(d, v, t, seen);
    return;
  }
  for (const AstArg *a = v->args; a; a = a->next)
    one_item(d, a->value, t, seen);
}
