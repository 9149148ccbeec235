/* cg_blocks.c - how a kernel's channels go in register blocks of vectors,
 * whatever their count: whole vectors, and a masked one for the channels
 * left when the count is not a multiple of the vector width. */
#include "cg.h"

ChannelBlocks cg_channel_blocks(const Cg *g, int64_t channels,
                                int64_t max_vectors) {
  int64_t vw = g->target.vw, cv = (channels + vw - 1) / vw;
  ChannelBlocks bl = {cv < max_vectors ? cv : max_vectors, 0, 0,
                      channels % vw};
  if (!bl.tail) {
    while (cv % bl.vectors)
      bl.vectors--;
    bl.blocks = cv / bl.vectors;
    return bl;
  }
  bl.last = cv % bl.vectors ? cv % bl.vectors : bl.vectors;
  bl.blocks = (cv - bl.last) / bl.vectors;
  return bl;
}

int64_t cg_lanes_of(const Cg *g, int64_t v, int64_t CB, int64_t tail) {
  return v == CB - 1 && tail ? tail : g->target.vw;
}

void cg_for_channel_blocks(Cg *g, int64_t channels, int64_t max_vectors,
                           BlockFn *fn, const void *ctx, const char *name) {
  ChannelBlocks bl = cg_channel_blocks(g, channels, max_vectors);
  int64_t step = bl.vectors * g->target.vw;
  if (bl.blocks) {
    CgLoop l;
    LLVMValueRef k = cg_for(g, &l, bl.blocks, name);
    fn(g, ctx, cg_mulc(g, k, step), bl.vectors, 0);
    cg_loop_end(g, &l);
  }
  if (bl.last)
    fn(g, ctx, cg_i64(g, bl.blocks * step), bl.last, bl.tail);
}
