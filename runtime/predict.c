/* predict.c - --predict FILE... (placeholder). */
#include "runtime.h"

int cnn_predict(const CnnModel *m, const CnnOptions *o, const float *params) {
  (void)m;
  (void)o;
  (void)params;
  cnn_error("--predict is not built yet");
  return 1;
}
