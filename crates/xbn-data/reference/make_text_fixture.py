"""Writes the text-pipeline test fixtures in `tests/fixtures/text/`.

1. `tokenizer.json`: a tiny BERT-style WordPiece tokenizer (lower-casing BERT normalizer, BERT
   pre-tokenizer, `[CLS] $A [SEP]` template) trained with the Python `tokenizers` package on the
   small corpus below. `[PAD]` has id 3 (not 0), so a test padding with 0 fails. The file carries
   a fixed-length padding configuration (64) and a 512-token truncation, which the Rust
   `TextTokenizer` must replace by dynamic padding and its own `max_length`.
2. `expected.json`: what sentence-transformers' call
   `tokenizer(texts, padding=True, truncation="longest_first", max_length=max_length)` gives
   for a few batches, computed by Hugging Face `transformers` (`PreTrainedTokenizerFast` over the
   same file): `input_ids` and `attention_mask` per case. The Rust test compares against these.

The WordPiece trainer is not bit-reproducible from run to run (ids may be numbered
differently), so the two files are always regenerated together.

Run: /work/main/.venv/bin/python crates/xbn-data/reference/make_text_fixture.py
(needs `tokenizers` and `transformers`; tested with tokenizers 0.23.3, transformers 5.24.0)
"""
import json
import os
import re

import tokenizers
import transformers
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "text")

SPECIAL = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]

CORPUS = [
    "A red running shoe with white laces.",
    "The blue denim jacket has two pockets.",
    "Leather boots for walking in the rain.",
    "A small wooden table for the kitchen.",
    "Café crème and a croissant in the morning.",
    "Straße, Größe, Grüße: German words with umlauts.",
    "日本語のテキストと中文文本。",
    "Running shoes, walking boots and rain jackets.",
    "The kitchen table is made of oak wood.",
    "Tokenizers split words into word pieces.",
] * 3

TEXTS = [
    "A red shoe.",
    "",
    "Café crème brûlée!",
    "日本語のテキスト",
    "GRÜSSE aus der Straße",
    "unbelievably unrecognizable tokenization",
    "👍 great boots",
    "  leading and trailing spaces  ",
    "The blue denim jacket with white laces is made for walking in the rain and running "
    "in the morning, and it has two pockets and a small wooden table.",
    "kitchen",
]

CASES = [
    (16, TEXTS),
    (16, ["A red shoe.", "kitchen", ""]),  # padded to 6, well below max_length
    (16, [""]),
    (2, ["A red shoe.", ""]),  # only the special tokens fit
    (128, TEXTS[8:9] + TEXTS[:2]),  # nothing truncated
]


def build():
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True
    )
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    trainer = trainers.WordPieceTrainer(vocab_size=180, min_frequency=1, special_tokens=SPECIAL)
    tok.train_from_iterator(CORPUS, trainer=trainer)
    assert [tok.token_to_id(t) for t in SPECIAL] == [0, 1, 2, 3, 4]
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", 1), ("[SEP]", 2)],
    )
    tok.enable_padding(pad_id=3, pad_token="[PAD]", length=64)
    tok.enable_truncation(max_length=512)
    return tok


def main():
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "tokenizer.json")
    build().save(path, pretty=False)
    hf = transformers.PreTrainedTokenizerFast(
        tokenizer_file=path,
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        pad_token="[PAD]",
        mask_token="[MASK]",
        model_max_length=512,
    )
    cases = []
    for max_length, texts in CASES:
        enc = hf(texts, padding=True, truncation="longest_first", max_length=max_length)
        cases.append(
            {
                "max_length": max_length,
                "texts": texts,
                "input_ids": enc["input_ids"],
                "attention_mask": enc["attention_mask"],
            }
        )
    expected = {
        "generated_by": "reference/make_text_fixture.py: transformers %s, tokenizers %s"
        % (transformers.__version__, tokenizers.__version__),
        "call": 'tokenizer(texts, padding=True, truncation="longest_first", max_length=max_length)',
        "pad_id": 3,
        "cases": cases,
    }
    text = json.dumps(expected, ensure_ascii=False, indent=1)
    # One line per row of ids or mask.
    text = re.sub(r"\[\s+([0-9,\s]+?)\s+\]", lambda m: "[" + " ".join(m.group(1).split()) + "]", text)
    with open(os.path.join(OUT, "expected.json"), "w", encoding="utf-8") as f:
        f.write(text + "\n")
    for case in cases:
        print(case["max_length"], [len(r) for r in case["input_ids"]])


if __name__ == "__main__":
    main()
