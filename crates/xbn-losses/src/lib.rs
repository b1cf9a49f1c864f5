//! Pair-based ranking losses (contrastive, triplet, multi-similarity, circle, NT-Xent, proxy-anchor) and the XBM loss.
