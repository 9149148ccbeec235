/* model_names.h - the inference object's names, for any --name: the build
 * (CMakeLists.txt) defines CNN_MODEL_HEADER ("model.h"), CNN_MODEL_PREFIX
 * (digits) and CNN_MODEL_PREFIX_UPPER (DIGITS), and then MODEL(_INPUT_SIZE)
 * is DIGITS_INPUT_SIZE and FN(_predict) digits_predict. */
#ifndef CNN_MODEL_NAMES_H
#define CNN_MODEL_NAMES_H

#include CNN_MODEL_HEADER

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define MODEL(x) CAT(CNN_MODEL_PREFIX_UPPER, x)
#define FN(x) CAT(CNN_MODEL_PREFIX, x)
#define STR_(x) #x
#define STR(x) STR_(x)

/* The header defines NAME_OUTPUT_HEIGHT for a model whose output is an
 * image, NAME_WEIGHTS_SIZE for an object without weights of its own; in
 * #if an undefined name is 0. */
#if MODEL(_OUTPUT_HEIGHT)
#error "the examples classify, and this model's output is an image, not classes"
#endif
#if MODEL(_WEIGHTS_SIZE)
#error "the object has no weights of its own (cnnc --infer --weights W.safetensors makes one)"
#endif

#endif
