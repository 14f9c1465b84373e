"""Would fine-tuning the sentence encoder help? Tried on the TRAINING questions only, 5-fold cross-validation by site.

The encoder is shared with the safety detectors, so only its last layer could ever be tuned for intents (a second
copy of one layer on the shared trunk). This trains that layer and a softmax head in TensorFlow (already installed
with Rasa; no torch) on cached states of the first five layers, and compares, per fold, logistic regression on the
frozen encoder's sentence vectors with the tuned layer's vectors (its own head, and a logistic regression refitted on
them). Result (README "Understanding questions"): about one point, so it was not built.

    python benchmarks/cv_finetune.py [--epochs 4] [--learning-rate 1e-4]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cv_by_site import FOLDS, written_examples  # noqa: E402  (this folder)
from split_real_questions import load_training  # noqa: E402

from bot.nlu.encoder import get_encoder  # noqa: E402

LAST = "encoder.layer.5"


def cached_states(texts: list[str]) -> dict[str, np.ndarray]:
    """Each text's word-piece states after the encoder's first five layers (computed once)."""
    encoder = get_encoder()
    states = {}
    for chunk, encodings, hidden, _ in _batches_before_last(encoder, texts):
        for row, (i, e) in enumerate(zip(chunk, encodings, strict=True)):
            states[texts[i]] = hidden[row, : len(e.ids)]
    return states


def _batches_before_last(encoder: Any, texts: list[str]) -> Any:
    for start in range(0, len(texts), 64):
        chunk = list(range(start, min(start + 64, len(texts))))
        encodings = encoder.tokenizer.encode_batch([texts[i] for i in chunk])
        length = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(chunk), length), dtype=np.int64)
        mask = np.zeros((len(chunk), length), dtype=np.float32)
        for row, e in enumerate(encodings):
            ids[row, : len(e.ids)], mask[row, : len(e.ids)] = e.ids, 1.0
        yield chunk, encodings, encoder._forward(ids, mask, layers=encoder.layers - 1), mask


def main() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf
    from sklearn.linear_model import LogisticRegression

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--learning-rate", type=float, default=1e-4, help="for the layer; the head uses 1e-3")
    args = parser.parse_args()
    written, real = written_examples(), load_training()
    texts = list(dict.fromkeys([t for t, _ in written] + [r["text"] for r in real]))
    states = cached_states(texts)
    weights = get_encoder().w
    heads = get_encoder().heads

    class LastLayer(tf.Module):
        """BERT layer 6 from the encoder's weights, then masked mean pooling and unit length, as the encoder."""

        def __init__(self) -> None:
            self.v = {k.removeprefix(f"{LAST}."): tf.Variable(w) for k, w in weights.items() if k.startswith(LAST)}

        def lin(self, x: Any, name: str) -> Any:
            return tf.matmul(x, self.v[f"{name}.weight"], transpose_b=True) + self.v[f"{name}.bias"]

        def norm(self, x: Any, name: str) -> Any:
            mean, var = tf.nn.moments(x, axes=[-1], keepdims=True)
            return (x - mean) / tf.sqrt(var + 1e-12) * self.v[f"{name}.weight"] + self.v[f"{name}.bias"]

        def __call__(self, x: Any, mask: Any) -> Any:
            b, length, dim = tf.shape(x)[0], tf.shape(x)[1], x.shape[-1]

            def split(t: Any) -> Any:
                return tf.transpose(tf.reshape(t, [b, length, heads, dim // heads]), [0, 2, 1, 3])

            q, k, v = (split(self.lin(x, f"attention.self.{n}")) for n in ("query", "key", "value"))
            scores = tf.matmul(q, k, transpose_b=True) / math.sqrt(dim // heads) + ((1.0 - mask) * -1e9)[:, None, None, :]
            attn = tf.reshape(tf.transpose(tf.matmul(tf.nn.softmax(scores), v), [0, 2, 1, 3]), [b, length, dim])
            x = self.norm(x + self.lin(attn, "attention.output.dense"), "attention.output.LayerNorm")
            hidden = tf.nn.gelu(self.lin(x, "intermediate.dense"), approximate=False)
            x = self.norm(x + self.lin(hidden, "output.dense"), "output.LayerNorm")
            pooled = tf.reduce_sum(x * mask[..., None], 1) / tf.reduce_sum(mask, 1, keepdims=True)
            return tf.math.l2_normalize(pooled, -1)

    def batch(chosen: list[str]) -> tuple[Any, Any]:
        length = max(len(states[t]) for t in chosen)
        x = np.zeros((len(chosen), length, states[chosen[0]].shape[1]), np.float32)
        m = np.zeros((len(chosen), length), np.float32)
        for row, t in enumerate(chosen):
            x[row, : len(states[t])], m[row, : len(states[t])] = states[t], 1.0
        return tf.constant(x), tf.constant(m)

    def vectors(layer: LastLayer, chosen: list[str]) -> np.ndarray:
        order = sorted(range(len(chosen)), key=lambda i: len(states[chosen[i]]))
        out = np.zeros((len(chosen), 384), np.float32)
        for start in range(0, len(order), 64):
            idx = order[start : start + 64]
            out[idx] = layer(*batch([chosen[i] for i in idx])).numpy()
        return out

    sites = sorted({r["site"] for r in real})
    np.random.default_rng(0).shuffle(sites)
    folds = [set(sites[i::FOLDS]) for i in range(FOLDS)]
    rng = np.random.default_rng(1)
    right = {"frozen encoder + LR": 0, "tuned last layer + its head": 0, "tuned last layer + LR": 0}
    scored = 0
    for number, fold in enumerate(folds, 1):
        train = written + [(r["text"], r["intent"]) for r in real if r["site"] not in fold]
        test = [(r["text"], r["intent"]) for r in real if r["site"] in fold]
        train_texts, test_texts = [t for t, _ in train], [t for t, _ in test]
        classes = sorted({i for _, i in train})
        y = np.array([classes.index(i) for _, i in train])
        gold = [g for _, g in test]
        layer = LastLayer()
        frozen = LogisticRegression(C=10, max_iter=2000).fit(vectors(layer, train_texts) * 2, y)
        test_frozen = vectors(layer, test_texts)
        right["frozen encoder + LR"] += sum(classes[p] == g for p, g in zip(frozen.predict(test_frozen * 2), gold, strict=True))
        w_head = tf.Variable((frozen.coef_.T * 2).astype(np.float32))
        b_head = tf.Variable(frozen.intercept_.astype(np.float32))
        layer_opt, head_opt = tf.keras.optimizers.Adam(args.learning_rate), tf.keras.optimizers.Adam(1e-3)
        layer_vars = list(layer.v.values())
        for _ in range(args.epochs):
            order = rng.permutation(len(train_texts))
            for start in range(0, len(order), 32):
                idx = order[start : start + 32]
                with tf.GradientTape() as tape:
                    logits = tf.matmul(layer(*batch([train_texts[i] for i in idx])), w_head) + b_head
                    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y[idx], logits))
                grads = tape.gradient(loss, [*layer_vars, w_head, b_head])
                layer_opt.apply_gradients(zip(grads[: len(layer_vars)], layer_vars, strict=True))
                head_opt.apply_gradients(zip(grads[len(layer_vars) :], [w_head, b_head], strict=True))
        test_tuned = vectors(layer, test_texts)
        own = (test_tuned @ w_head.numpy() + b_head.numpy()).argmax(1)
        refit = LogisticRegression(C=10, max_iter=2000).fit(vectors(layer, train_texts) * 2, y).predict(test_tuned * 2)
        right["tuned last layer + its head"] += sum(classes[p] == g for p, g in zip(own, gold, strict=True))
        right["tuned last layer + LR"] += sum(classes[p] == g for p, g in zip(refit, gold, strict=True))
        scored += len(test)
        print(f"after fold {number}: " + ", ".join(f"{k} {v / scored:.3f}" for k, v in right.items()), flush=True)


if __name__ == "__main__":
    main()
