"""ONNX export into a Triton-style model repository: <name>/config.json, <name>/1/model.onnx,
<name>/1/golden.json; plus a FLOP counter for the model card."""
import json
import os

import onnx
import torch
import torch.nn as nn

OPSET = 17
MAX_BATCH = 256


def export(module, name, role, inputs, outputs, example, out_dir, k=None, golden_input=None, extra=None, input_range=None):
    """inputs/outputs: lists of (name, dims-with--1-for-batch). extra: more config.json fields (serves, aliases,
    dataset, ...); input_range: [min, max] of the input's values, checked by the cluster."""
    version_dir = os.path.join(out_dir, name, "1")
    os.makedirs(version_dir, exist_ok=True)
    path = os.path.join(version_dir, "model.onnx")
    module.eval()
    dynamic = {n: {0: "batch"} for n, _ in inputs + outputs}
    with torch.no_grad():
        torch.onnx.export(module, (example,), path, input_names=[n for n, _ in inputs],
                          output_names=[n for n, _ in outputs], dynamic_axes=dynamic,
                          opset_version=OPSET, do_constant_folding=True)
    onnx.checker.check_model(onnx.load(path))
    config = {
        "name": name,
        "role": role,
        "platform": "onnxruntime_onnx",
        "max_batch_size": MAX_BATCH,
        "inputs": [{"name": n, "data_type": "TYPE_FP32", "dims": d} for n, d in inputs],
        "outputs": [{"name": n, "data_type": "TYPE_FP32", "dims": d} for n, d in outputs],
    }
    if input_range is not None:
        config["inputs"][0]["range"] = list(input_range)
    if k is not None:
        config["k"] = k
    config.update(extra or {})
    with open(os.path.join(out_dir, name, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    golden_input = example[:2] if golden_input is None else golden_input
    with torch.no_grad():
        result = module(golden_input)
    if not isinstance(result, tuple):
        result = (result,)
    golden = {
        "inputs": {inputs[0][0]: {"shape": list(golden_input.shape),
                                  "data": [float(v) for v in golden_input.flatten()]}},
        "outputs": {n: {"shape": list(t.shape), "data": [float(v) for v in t.flatten()]}
                    for (n, _), t in zip(outputs, result)},
        "tolerance": 1e-4,
    }
    with open(os.path.join(version_dir, "golden.json"), "w") as f:
        json.dump(golden, f)
    return path


def count_flops(module, example, method=None):
    """Floating-point operations (2 x multiply-accumulates) of Conv2d/Linear layers for one input."""
    total = [0]

    def conv_hook(m, inp, out):
        kernel = m.kernel_size[0] * m.kernel_size[1] * (m.in_channels // m.groups)
        total[0] += 2 * kernel * out.numel() // out.shape[0] * 1

    def linear_hook(m, inp, out):
        total[0] += 2 * m.in_features * m.out_features

    hooks = []
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
    with torch.no_grad():
        (getattr(module, method) if method else module)(example[:1])
    for h in hooks:
        h.remove()
    return total[0]


def count_params(module):
    return sum(p.numel() for p in module.parameters())
