"""Reference queue contents from pytorch-metric-learning's CrossBatchMemory.

Run from the repository root with the project virtualenv:

    /work/venv/bin/python crates/xbn-memory/reference/gen_queue_reference.py

For each enqueue sequence it writes crates/xbn-memory/tests/data/queue_<name>.safetensors with
the inputs (`batch{j}.embeddings`, `batch{j}.labels`) and PML's state after each enqueue
(`step{j}.E_mem`, `step{j}.L_mem` = the valid memory exactly as CrossBatchMemory.forward uses
it, `step{j}.queue_idx`, `step{j}.has_been_filled`, `step{j}.curr_batch_idx`).

PML's forward asserts `len(embeddings) <= memory_size`, so batches larger than the capacity are
not accepted by PML itself. For those, the reference feeds the batch to PML's add_to_memory in
consecutive chunks of at most `memory_size` rows (the spec's "keep the newest" rule: the result
is as if the rows were enqueued one at a time) and records, as `curr_batch_idx`, the slot of each
row that survives and -1 for rows that were overwritten within the same batch.
"""

import os

import torch
from pytorch_metric_learning.losses import ContrastiveLoss, CrossBatchMemory
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "data")

SEQUENCES = {
    # name: (memory_size, embedding_size, batch sizes)
    "wrap": (10, 4, [3, 3, 3, 3, 3, 4]),  # wrap-around; 4th batch exceeds the free space
    "exact": (8, 3, [8, 5, 8, 1]),  # batches equal to the capacity
    "oversize": (6, 2, [4, 13, 2, 7]),  # batches larger than the capacity (chunked, see above)
}


def run(name, memory_size, dim, sizes, gen):
    xbm = CrossBatchMemory(ContrastiveLoss(), embedding_size=dim, memory_size=memory_size)
    out = {
        "memory_size": torch.tensor([memory_size], dtype=torch.int64),
        "dim": torch.tensor([dim], dtype=torch.int64),
        "steps": torch.tensor([len(sizes)], dtype=torch.int64),
    }
    for j, b in enumerate(sizes):
        emb = torch.randn(b, dim, generator=gen, dtype=torch.float32)
        labels = torch.randint(0, 1000, (b,), generator=gen, dtype=torch.int64)
        out[f"batch{j}.embeddings"] = emb
        out[f"batch{j}.labels"] = labels
        if b <= memory_size:
            xbm.add_to_memory(emb, labels, b)
            curr = xbm.curr_batch_idx.clone()
        else:
            start = xbm.queue_idx
            for c in range(0, b, memory_size):
                chunk = slice(c, min(b, c + memory_size))
                xbm.add_to_memory(emb[chunk], labels[chunk], chunk.stop - chunk.start)
            curr = torch.tensor(
                [(start + i) % memory_size if i >= b - memory_size else -1 for i in range(b)],
                dtype=torch.int64,
            )
        if not xbm.has_been_filled:
            e_mem = xbm.embedding_memory[: xbm.queue_idx]
            l_mem = xbm.label_memory[: xbm.queue_idx]
        else:
            e_mem, l_mem = xbm.embedding_memory, xbm.label_memory
        out[f"step{j}.E_mem"] = e_mem.clone().contiguous()
        out[f"step{j}.L_mem"] = l_mem.clone().contiguous()
        out[f"step{j}.queue_idx"] = torch.tensor([xbm.queue_idx], dtype=torch.int64)
        out[f"step{j}.has_been_filled"] = torch.tensor([int(xbm.has_been_filled)], dtype=torch.int64)
        out[f"step{j}.curr_batch_idx"] = curr.to(torch.int64).contiguous()
    path = os.path.join(OUT, f"queue_{name}.safetensors")
    save_file(out, path)
    print(f"wrote {path}")


def main():
    os.makedirs(OUT, exist_ok=True)
    gen = torch.Generator().manual_seed(20260)
    for name, (memory_size, dim, sizes) in SEQUENCES.items():
        run(name, memory_size, dim, sizes, gen)


if __name__ == "__main__":
    main()
