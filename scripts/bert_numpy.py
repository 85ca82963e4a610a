"""Reference BERT encoder in plain numpy, read straight from a .safetensors file.

This is deliberately written without looking at the ONNX graph builder
(convert_bert_onnx.py): it is the yardstick the exported graph is checked
against, and the source of the committed test fixture. It therefore favours
clarity and accuracy over speed: it runs one unpadded sequence at a time (so
no attention mask is involved at all: padding behaviour of the ONNX graph is
tested by comparing a padded batch against these unpadded results) and
computes in float64.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import numpy as np

# Only the dtypes this checkpoint uses; anything else is a sign of a different file.
_SAFETENSORS_DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "F16": np.float16}


def load_safetensors(path: str | Path) -> dict[str, np.ndarray]:
    """Reads every tensor of a .safetensors file into numpy arrays.

    Layout: u64 little-endian header length, a JSON header mapping names to
    dtype/shape/[begin, end) byte offsets (relative to the end of the header),
    then the raw little-endian tensor bytes.
    """
    data = Path(path).read_bytes()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + header_len])
    base = 8 + header_len
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = np.dtype(_SAFETENSORS_DTYPES[info["dtype"]]).newbyteorder("<")
        begin, end = info["data_offsets"]
        arr = np.frombuffer(data, dtype=dtype, count=(end - begin) // dtype.itemsize, offset=base + begin)
        tensors[name] = arr.reshape(info["shape"])
    return tensors


def load_config(model_dir: str | Path) -> dict:
    return json.loads((Path(model_dir) / "config.json").read_text())


# math.erf is exact to double precision; numpy has no erf of its own and
# scipy is not worth a dependency for a reference implementation.
_erf = np.frompyfunc(math.erf, 1, 1)


def gelu_exact(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)).astype(x.dtype))


def layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class BertNumpy:
    """A BertModel forward pass (embeddings + encoder, no pooler)."""

    def __init__(self, weights: dict[str, np.ndarray], config: dict, dtype=np.float64):
        self.cfg = config
        self.dtype = dtype
        # Cast once up front; torch Linear stores weight as [out, in].
        self.w = {k: v.astype(dtype) for k, v in weights.items() if v.dtype.kind == "f"}

    @classmethod
    def from_files(cls, safetensors_path: str | Path, config_dir: str | Path, dtype=np.float64) -> "BertNumpy":
        return cls(load_safetensors(safetensors_path), load_config(config_dir), dtype)

    def _linear(self, x: np.ndarray, prefix: str) -> np.ndarray:
        return x @ self.w[prefix + ".weight"].T + self.w[prefix + ".bias"]

    def last_hidden_state(self, input_ids, token_type_ids=None) -> np.ndarray:
        """[seq] ids of ONE sequence, no padding -> [seq, hidden]."""
        ids = np.asarray(input_ids, dtype=np.int64)
        seq = ids.shape[0]
        tt = np.zeros(seq, np.int64) if token_type_ids is None else np.asarray(token_type_ids, np.int64)
        cfg, w = self.cfg, self.w
        if seq > cfg["max_position_embeddings"]:
            raise ValueError(f"sequence of {seq} tokens exceeds max_position_embeddings")
        eps = cfg["layer_norm_eps"]
        heads = cfg["num_attention_heads"]
        head_dim = cfg["hidden_size"] // heads

        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][np.arange(seq)]
            + w["embeddings.token_type_embeddings.weight"][tt]
        )
        x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)

        for i in range(cfg["num_hidden_layers"]):
            p = f"encoder.layer.{i}."

            def split_heads(t):  # [seq, hidden] -> [heads, seq, head_dim]
                return t.reshape(seq, heads, head_dim).transpose(1, 0, 2)

            q = split_heads(self._linear(x, p + "attention.self.query"))
            k = split_heads(self._linear(x, p + "attention.self.key"))
            v = split_heads(self._linear(x, p + "attention.self.value"))
            probs = softmax(q @ k.transpose(0, 2, 1) / math.sqrt(head_dim))
            ctx = (probs @ v).transpose(1, 0, 2).reshape(seq, heads * head_dim)
            attn = self._linear(ctx, p + "attention.output.dense")
            x = layer_norm(attn + x, w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"], eps)

            h = gelu_exact(self._linear(x, p + "intermediate.dense"))
            out = self._linear(h, p + "output.dense")
            x = layer_norm(out + x, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
        return x

    def sentence_embedding(self, input_ids, token_type_ids=None) -> np.ndarray:
        """sentence-transformers style: mean over tokens, then L2-normalise.

        With no padding every token counts, so the mean over the attention
        mask is a plain mean.
        """
        hidden = self.last_hidden_state(input_ids, token_type_ids)
        return l2_normalise(hidden.mean(axis=0))


def l2_normalise(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-12)


def masked_mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """[batch, seq, hidden] x [batch, seq] -> [batch, hidden]; how fastembed pools."""
    m = mask.astype(hidden.dtype)[..., None]
    return (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
