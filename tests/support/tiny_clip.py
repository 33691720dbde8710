"""A tiny randomly initialised CLIP, saved in the Hugging Face layout with its own tokenizer files.

No CLIP weights can be downloaded here; this exercises the real loading code end to end.
Random weights still map identical inputs to identical vectors.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

VOCAB_WORDS = [
    "red",
    "blue",
    "green",
    "shoe",
    "shoes",
    "running",
    "bag",
    "watch",
    "a",
    "photo",
    "of",
]


def build_tiny_clip(directory: Path, projection_dim: int = 24, image_size: int = 32) -> Path:
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPTokenizer

    torch.manual_seed(0)
    # Byte-level BPE vocabulary: single characters, words with the end-of-word marker, specials.
    chars = sorted({c for w in VOCAB_WORDS for c in w})
    vocab: dict[str, int] = {}
    for token in [
        "<|startoftext|>",
        "<|endoftext|>",
        *chars,
        *(c + "</w>" for c in chars),
        *(w + "</w>" for w in VOCAB_WORDS),
    ]:
        vocab.setdefault(token, len(vocab))
    merges = ["#version: 0.2"]
    for word in VOCAB_WORDS:
        # merge the word left to right: ((r e) d</w>)
        parts = [*word[:-1], word[-1] + "</w>"]
        while len(parts) > 1:
            merges.append(f"{parts[0]} {parts[1]}")
            merged = parts[0] + parts[1]
            vocab.setdefault(merged, len(vocab))
            parts = [merged, *parts[2:]]
    (directory / "vocab.json").write_text(json.dumps(vocab))
    (directory / "merges.txt").write_text("\n".join(dict.fromkeys(merges)) + "\n")
    tokenizer = CLIPTokenizer(str(directory / "vocab.json"), str(directory / "merges.txt"))

    config = CLIPConfig(
        text_config={
            "hidden_size": 32,
            "intermediate_size": 48,
            "num_attention_heads": 4,
            "num_hidden_layers": 2,
            "vocab_size": len(vocab),
            "max_position_embeddings": 32,
            "bos_token_id": vocab["<|startoftext|>"],
            "eos_token_id": vocab["<|endoftext|>"],
            "pad_token_id": vocab["<|endoftext|>"],
        },
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 48,
            "num_attention_heads": 4,
            "num_hidden_layers": 2,
            "image_size": image_size,
            "patch_size": 8,
        },
        projection_dim=projection_dim,
    )
    CLIPModel(config).eval().save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    CLIPImageProcessor(
        size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size}
    ).save_pretrained(directory)
    return directory
