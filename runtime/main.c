/* main.c - the trainer's entry point, alone in its object.
 *
 * A member of libcnnrt.a of its own: the linker takes it only when nothing
 * else defines main, so a trainer gets it for free while a test program
 * with its own main (and no cnn_model) links the rest of the library. */
#include "cnnrt.h"

int main(int argc, char **argv) { return cnn_main(&cnn_model, argc, argv); }
