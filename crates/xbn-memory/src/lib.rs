//! Cross-batch memory: a device-resident FIFO queue of embeddings, labels and ages.
