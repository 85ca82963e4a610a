#!/usr/bin/env python3
"""Builds an fp32 ONNX graph of a BERT encoder from safetensors weights.

Only `onnx` and numpy are used (no torch, no transformers): the graph is
written node by node. Inputs are input_ids / attention_mask / token_type_ids
(int64, [batch, seq]); the single output is `last_hidden_state`
(float32, [batch, seq, hidden]), the name fastembed looks for before doing
mean pooling itself. There is no pooler head.

Usage (setup.sh runs this with the project venv):
    python scripts/convert_bert_onnx.py --weights W.safetensors \
        --model-dir models/all-MiniLM-L6-v2 [--output .../model.onnx]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# Import the sibling module without leaving scripts/__pycache__ in the work tree.
sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bert_numpy import load_config, load_safetensors  # noqa: E402

# Opset 17 is the first with LayerNormalization and is supported by every
# ONNX Runtime the Rust side might load; IR 8 is what that opset shipped with,
# so older runtimes do not refuse the file on IR version alone.
OPSET = 17
IR_VERSION = 8

# Same additive mask value as the original BERT/HF code: large enough that
# exp() of a masked score underflows to exactly 0 in fp32, small enough that
# adding it to a score never overflows.
MASK_NEG = -10000.0


class GraphBuilder:
    """Accumulates nodes and initializers, handing out unique tensor names."""

    def __init__(self):
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []

    def const(self, name: str, array: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def op(self, op_type: str, inputs: list[str], name: str, **attrs) -> str:
        out = f"{name}_out"
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=name, **attrs))
        return out

    def linear(self, x: str, weights: dict, prefix: str, scope: str) -> str:
        # torch Linear keeps W as [out, in]; store W^T so a batched MatMul
        # over [batch, seq, in] needs no runtime transpose.
        w_t = self.const(prefix + ".weight_T", weights[prefix + ".weight"].T.astype(np.float32))
        b = self.const(prefix + ".bias", weights[prefix + ".bias"].astype(np.float32))
        return self.op("Add", [self.op("MatMul", [x, w_t], scope + "/MatMul"), b], scope + "/Add")

    def layer_norm(self, x: str, weights: dict, prefix: str, eps: float, scope: str) -> str:
        g = self.const(prefix + ".weight", weights[prefix + ".weight"].astype(np.float32))
        b = self.const(prefix + ".bias", weights[prefix + ".bias"].astype(np.float32))
        return self.op("LayerNormalization", [x, g, b], scope, axis=-1, epsilon=eps)


def build_model(weights: dict[str, np.ndarray], cfg: dict) -> onnx.ModelProto:
    if cfg.get("hidden_act") != "gelu" or cfg.get("position_embedding_type", "absolute") != "absolute":
        raise SystemExit("only absolute-position BERT with exact GELU is supported")
    hidden = cfg["hidden_size"]
    heads = cfg["num_attention_heads"]
    head_dim = hidden // heads
    eps = float(cfg["layer_norm_eps"])

    g = GraphBuilder()
    f32 = lambda v: np.array(v, dtype=np.float32)  # noqa: E731
    i64 = lambda v: np.array(v, dtype=np.int64)  # noqa: E731

    # --- embeddings -------------------------------------------------------
    word = g.const("embeddings.word_embeddings.weight", weights["embeddings.word_embeddings.weight"])
    ttype = g.const("embeddings.token_type_embeddings.weight", weights["embeddings.token_type_embeddings.weight"])
    pos = g.const("embeddings.position_embeddings.weight", weights["embeddings.position_embeddings.weight"])
    x = g.op("Gather", [word, "input_ids"], "emb/word", axis=0)
    t = g.op("Gather", [ttype, "token_type_ids"], "emb/token_type", axis=0)
    # Position rows 0..seq-1 are taken with Slice, not Gather(table, Range(0, seq)):
    # ORT 1.31's optimiser rewrites the Range/Gather pair into a Slice with
    # malformed starts and fails at run time ("Starts must be a 1-D array").
    seq_len = g.op("Shape", ["input_ids"], "emb/seq_len", start=1, end=2)  # [1] int64
    p = g.op("Slice", [pos, g.const("const/zero_1d", i64([0])), seq_len, g.const("const/axis0_1d", i64([0]))], "emb/pos")
    x = g.op("Add", [g.op("Add", [x, t], "emb/add_type"), p], "emb/add_pos")  # [S, H] broadcasts over batch
    x = g.layer_norm(x, weights, "embeddings.LayerNorm", eps, "emb/LayerNorm")

    # --- additive attention mask, shared by all layers: [B, 1, 1, S] -------
    mask_f = g.op("Cast", ["attention_mask"], "mask/cast", to=TensorProto.FLOAT)
    inv = g.op("Sub", [g.const("const/one", f32(1.0)), mask_f], "mask/invert")
    bias = g.op("Mul", [inv, g.const("const/mask_neg", f32(MASK_NEG))], "mask/scale")
    mask_bias = g.op("Unsqueeze", [bias, g.const("const/axes_1_2", i64([1, 2]))], "mask/unsqueeze")

    split_shape = g.const("const/split_heads_shape", i64([0, 0, heads, head_dim]))  # 0 = keep dim
    merge_shape = g.const("const/merge_heads_shape", i64([0, 0, hidden]))
    scale = g.const("const/attn_scale", f32(1.0 / math.sqrt(head_dim)))
    sqrt2 = g.const("const/sqrt2", f32(math.sqrt(2.0)))
    half = g.const("const/half", f32(0.5))
    one = "const/one"

    # --- encoder layers ---------------------------------------------------
    for i in range(cfg["num_hidden_layers"]):
        p_ = f"encoder.layer.{i}."
        s = f"layer{i}"

        def heads_of(name: str, perm: list[int]) -> str:
            proj = g.linear(x, weights, p_ + f"attention.self.{name}", f"{s}/attn/{name}")
            r = g.op("Reshape", [proj, split_shape], f"{s}/attn/{name}/split")
            return g.op("Transpose", [r], f"{s}/attn/{name}/transpose", perm=perm)

        q = heads_of("query", [0, 2, 1, 3])  # [B, h, S, d]
        k = heads_of("key", [0, 2, 3, 1])  # [B, h, d, S]
        v = heads_of("value", [0, 2, 1, 3])  # [B, h, S, d]
        scores = g.op("Mul", [g.op("MatMul", [q, k], f"{s}/attn/qk"), scale], f"{s}/attn/scale")
        scores = g.op("Add", [scores, mask_bias], f"{s}/attn/mask")
        probs = g.op("Softmax", [scores], f"{s}/attn/softmax", axis=-1)
        ctx = g.op("MatMul", [probs, v], f"{s}/attn/ctx")
        ctx = g.op("Transpose", [ctx], f"{s}/attn/ctx/transpose", perm=[0, 2, 1, 3])
        ctx = g.op("Reshape", [ctx, merge_shape], f"{s}/attn/ctx/merge")
        attn = g.linear(ctx, weights, p_ + "attention.output.dense", f"{s}/attn/out")
        x = g.layer_norm(g.op("Add", [attn, x], f"{s}/attn/residual"), weights, p_ + "attention.output.LayerNorm", eps, f"{s}/attn/LayerNorm")

        h = g.linear(x, weights, p_ + "intermediate.dense", f"{s}/ffn/in")
        # Exact GELU, 0.5 * h * (1 + erf(h / sqrt 2)); opset 17 has no Gelu op.
        erf = g.op("Erf", [g.op("Div", [h, sqrt2], f"{s}/ffn/gelu/div")], f"{s}/ffn/gelu/erf")
        h = g.op("Mul", [g.op("Mul", [h, g.op("Add", [erf, one], f"{s}/ffn/gelu/add")], f"{s}/ffn/gelu/mul"), half], f"{s}/ffn/gelu/half")
        out = g.linear(h, weights, p_ + "output.dense", f"{s}/ffn/out")
        x = g.layer_norm(g.op("Add", [out, x], f"{s}/ffn/residual"), weights, p_ + "output.LayerNorm", eps, f"{s}/ffn/LayerNorm")

    g.nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"], name="output"))

    dims = ["batch_size", "sequence_length"]
    graph = helper.make_graph(
        g.nodes,
        "bert_encoder",
        inputs=[helper.make_tensor_value_info(n, TensorProto.INT64, dims) for n in ("input_ids", "attention_mask", "token_type_ids")],
        outputs=[helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, dims + [hidden])],
        initializer=g.inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="exemplar/scripts/convert_bert_onnx.py",
        doc_string="BERT encoder (no pooler) exported from safetensors with onnx+numpy",
    )
    model.ir_version = IR_VERSION
    return model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", required=True, help="model.safetensors of a BertModel")
    ap.add_argument("--model-dir", required=True, help="directory holding config.json")
    ap.add_argument("--output", help="default: <model-dir>/model.onnx")
    args = ap.parse_args()

    out = Path(args.output or Path(args.model_dir) / "model.onnx")
    model = build_model(load_safetensors(args.weights), load_config(args.model_dir))
    # full_check also runs strict shape inference, which catches wiring mistakes
    # (wrong perms, mismatched MatMul dims) before anything is run.
    onnx.checker.check_model(model, full_check=True)

    # Write beside the target, then rename: an interrupted run never leaves a
    # truncated model.onnx that a later step would take as finished.
    tmp = out.with_name(out.name + ".tmp")
    onnx.save_model(model, tmp)
    os.replace(tmp, out)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, {len(model.graph.node)} nodes, opset {OPSET})")


if __name__ == "__main__":
    main()
