"""Compact decoders and ParM parity models for a user's classifier (issue 25, "bring your own model").

Run by `asymcdc train-decoders`, never alone: the C# side has already run the user's ONNX model with the product's
ONNX Runtime over the training data (Debian has no Python ONNX Runtime) and written the targets into --targets:

    manifest.json      what follows, the model's input shape, its logits and member outputs, the k's
    logits.f32         [N, classes]   the model's logits on every training input
    member.f32         [N, *member]   the output the compact decoder reads (e.g. `features`); absent with
                                      --logits-only, where the member output is the logits
    groups-k{k}.i32    [G, k]         random groups of k training indices, member 0 the missing one
    parity-k{k}.f32    [G, *member]   the model's member output on the mean of each group's inputs (X_p = (1/k) sum X_i)
    inputs.f32         [N, *input]    the training inputs, only when a ParM model is asked for

This module trains on those and exports into the model repository (--out):

{model}-compact-k{k}  input `features` [N, k*m1, m2, ...]: the k-1 available members' outputs in group order, then
    the parity's, back to back (stacked on the first non-batch axis; this is how AsymCdc.Coding.CompactDecoder lays
    them out); output `logits` [N, classes]: the missing member's logits, approximately. The stack is standardised
    inside the graph (per-element mean/std of the member output on the training set), then an MLP (flat outputs) or
    a small CNN (C x H x W feature maps). Knowledge distillation (KL on soft targets, T = 2) against the deployed
    model's logits on the missing member, as in training/compact.py.
{model}-parm-k{k}  ParM (Kosaian et al., SOSP'19): input `input` (the model's input shape) = the SUM of the k inputs,
    output `logits`; trained with mean-squared error so that f_P(X_1+...+X_k) ~ f(X_1)+...+f(X_k); decoded by
    subtraction. ParM fine-tunes a copy of the deployed network; here only the ONNX graph is known, so f_P is a
    generic network (a small CNN for images, else an MLP) trained from scratch on the model's own outputs.

Each export gets config.json (with "serves": the classifier, "k", and for decoders "serves_output": the member
output they read), 1/model.onnx and 1/golden.json; --targets/report.json gets the training statistics.
"""
import argparse
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from . import export

TARGETS_FORMAT = "asymcdc-decoder-targets/1"


def log(msg):
    print(msg, flush=True)


def read_f32(directory, name, shape):
    values = np.fromfile(os.path.join(directory, name), dtype="<f4")
    expected = int(np.prod(shape))
    if values.size != expected:
        raise SystemExit(f"{name}: {values.size} floats, the manifest says {shape} = {expected}")
    return torch.from_numpy(values.astype(np.float32).reshape(shape))


def read_i32(directory, name, shape):
    values = np.fromfile(os.path.join(directory, name), dtype="<i4")
    if values.size != int(np.prod(shape)):
        raise SystemExit(f"{name}: {values.size} ints, the manifest says {shape}")
    return torch.from_numpy(values.astype(np.int64).reshape(shape))


class CompactDecoder(nn.Module):
    def __init__(self, k, member_shape, classes, mean, std, hidden=256):
        super().__init__()
        self.k = k
        self.member_shape = list(member_shape)
        width = int(np.prod(member_shape))
        # Per-element statistics of one member's output, tiled over the k stacked members.
        self.register_buffer("mean", mean.reshape(1, width).repeat(1, k))
        self.register_buffer("std", std.reshape(1, width).repeat(1, k))
        self.conv = len(member_shape) == 3 and member_shape[1] >= 4 and member_shape[2] >= 4
        if self.conv:
            c, h, w = member_shape
            self.body = nn.Sequential(
                nn.Conv2d(k * c, 48, 3, padding=1), nn.ReLU(),
                nn.Conv2d(48, 64, 3, stride=2, padding=1), nn.ReLU(),
                nn.Flatten(), nn.Linear(64 * math.ceil(h / 2) * math.ceil(w / 2), hidden), nn.ReLU(),
                nn.Linear(hidden, classes))
        else:
            self.body = nn.Sequential(
                nn.Linear(k * width, 2 * hidden), nn.ReLU(),
                nn.Linear(2 * hidden, hidden), nn.ReLU(),
                nn.Linear(hidden, classes))

    @property
    def input_dims(self):
        return [-1, self.k * self.member_shape[0], *self.member_shape[1:]]

    def forward(self, features):
        x = (features.flatten(1) - self.mean) / self.std
        if self.conv:
            c, h, w = self.member_shape
            x = x.reshape(-1, self.k * c, h, w)
        return self.body(x)


class ParityModel(nn.Module):
    def __init__(self, k, input_shape, classes, mean, std, hidden=256):
        super().__init__()
        self.input_shape = list(input_shape)
        self.register_buffer("mean", torch.tensor(float(mean)))
        self.register_buffer("std", torch.tensor(float(std)))
        image = len(input_shape) == 3 and input_shape[1] >= 8 and input_shape[2] >= 8
        if image:
            c, h, w = input_shape
            h4, w4 = math.ceil(math.ceil(h / 2) / 2), math.ceil(math.ceil(w / 2) / 2)
            self.body = nn.Sequential(
                nn.Conv2d(c, 16, 3, padding=1), nn.ReLU(),
                nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
                nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(),
                nn.Flatten(), nn.Linear(64 * h4 * w4, hidden), nn.ReLU(), nn.Linear(hidden, classes))
        else:
            width = int(np.prod(input_shape))
            self.body = nn.Sequential(
                nn.Flatten(), nn.Linear(width, 2 * hidden), nn.ReLU(),
                nn.Linear(2 * hidden, hidden), nn.ReLU(), nn.Linear(hidden, classes))

    def forward(self, input):
        return self.body((input - self.mean) / self.std)


def one_cycle(module, lr, total):
    opt = torch.optim.Adam(module.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(total, 1))
    return opt, sched


def train_compact(k, member, logits, groups, parity, member_shape, classes, epochs, batch, lr, seed, max_steps,
                  temperature=2.0):
    torch.manual_seed(seed + k)
    mean, std = member.mean(0), member.std(0).clamp_min(1e-3)
    dec = CompactDecoder(k, member_shape, classes, mean, std)
    count = len(groups)
    total = ((count + batch - 1) // batch) * epochs if max_steps is None else max_steps
    opt, sched = one_cycle(dec, lr, total)
    g = torch.Generator().manual_seed(seed + 100 + k)
    step, stats = 0, {}
    for epoch in range(epochs):
        dec.train()
        order = torch.randperm(count, generator=g)
        loss_sum, agree, seen = 0.0, 0, 0
        for i in range(0, count, batch):
            idx = order[i:i + batch]
            gb = groups[idx]
            # the k-1 available members in group order, then the parity: back to back
            stacked = torch.cat([member[gb[:, 1:]].flatten(1), parity[idx].flatten(1)], 1)
            target = logits[gb[:, 0]]
            out = dec(stacked)
            loss = F.kl_div(F.log_softmax(out / temperature, 1), F.softmax(target / temperature, 1),
                            reduction="batchmean") * temperature ** 2
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            loss_sum += loss.item() * len(idx)
            agree += (out.argmax(1) == target.argmax(1)).sum().item()
            seen += len(idx)
            if step >= total:
                break
        stats = {"kd_loss": loss_sum / max(seen, 1), "train_agreement": agree / max(seen, 1)}
        log(f"  compact-k{k} epoch {epoch + 1}/{epochs}: kd loss {stats['kd_loss']:.4f}, train agreement {stats['train_agreement']:.4f}")
        if step >= total:
            break
    dec.eval()
    return dec, stats, step


def train_parm(k, inputs, logits, input_shape, classes, epochs, batch, lr, seed, max_steps):
    torch.manual_seed(seed + 10 * k)
    n = len(inputs)
    g = torch.Generator().manual_seed(seed + 200 + k)
    probe = torch.randint(0, n, (min(n, 2048), k), generator=g)
    summed = inputs[probe].sum(1)
    par = ParityModel(k, input_shape, classes, summed.mean().item(), max(summed.std().item(), 1e-3))
    total = ((n + batch - 1) // batch) * epochs if max_steps is None else max_steps
    opt, sched = one_cycle(par, lr, total)
    step, stats = 0, {}
    for epoch in range(epochs):
        par.train()
        groups = torch.randint(0, n, (n, k), generator=g)
        loss_sum, agree, seen = 0.0, 0, 0
        for i in range(0, n, batch):
            gb = groups[i:i + batch]
            out = par(inputs[gb].sum(1))                  # ParM's sum encoder
            target = logits[gb].sum(1)                    # sum_i f(X_i)
            loss = F.mse_loss(out, target)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            with torch.no_grad():                         # decode member 0 by subtraction, as the decoder will
                decoded = out - logits[gb[:, 1:]].sum(1)
                agree += (decoded.argmax(1) == logits[gb[:, 0]].argmax(1)).sum().item()
            loss_sum += loss.item() * len(gb)
            seen += len(gb)
            if step >= total:
                break
        stats = {"mse": loss_sum / max(seen, 1), "train_agreement": agree / max(seen, 1)}
        log(f"  parm-k{k} epoch {epoch + 1}/{epochs}: mse {stats['mse']:.4f}, train agreement (decoded member 0) {stats['train_agreement']:.4f}")
        if step >= total:
            break
    par.eval()
    return par, stats, step


def add_to_config(out_dir, name, fields):
    path = os.path.join(out_dir, name, "config.json")
    with open(path) as f:
        config = json.load(f)
    config.update(fields)
    with open(path, "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--targets", required=True, help="the folder asymcdc train-decoders wrote")
    p.add_argument("--out", required=True, help="the model repository to export into")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--max-steps", type=int, default=None, help="stop each model after this many steps (tests)")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    started = time.time()

    with open(os.path.join(args.targets, "manifest.json")) as f:
        manifest = json.load(f)
    if manifest.get("format") != TARGETS_FORMAT:
        raise SystemExit(f"manifest.json has format {manifest.get('format')!r}; expected {TARGETS_FORMAT!r}")
    model, n, classes, seed = manifest["model"], manifest["count"], manifest["classes"], manifest["seed"]
    input_shape = manifest["input"]["shape"]
    member_name, member_shape = manifest["member"]["name"], manifest["member"]["shape"]
    logits = read_f32(args.targets, manifest["logits"]["file"], [n, classes])
    member = logits if manifest["member"]["file"] == manifest["logits"]["file"] else \
        read_f32(args.targets, manifest["member"]["file"], [n, *member_shape])
    log(f"{model}: {n} training examples, member output '{member_name}' {member_shape}, {classes} classes, "
        f"torch {torch.__version__}, {args.threads} threads")
    report = {"model": model, "torch": torch.__version__, "threads": args.threads, "epochs": args.epochs,
              "batch": args.batch, "exports": {}}

    for entry in manifest["groups"]:
        k, count = entry["k"], entry["count"]
        t0 = time.time()
        groups = read_i32(args.targets, entry["indices"], [count, k])
        parity = read_f32(args.targets, entry["parity"], [count, *member_shape])
        name = f"{model}-compact-k{k}"
        log(f"training {name} ({args.epochs} epochs of {count} groups)")
        dec, stats, steps = train_compact(k, member, logits, groups, parity, member_shape, classes, args.epochs,
                                          args.batch, 2e-3, seed, args.max_steps)
        example = torch.cat([member[groups[:2, 1:]].flatten(1), parity[:2].flatten(1)], 1)
        example = example.reshape(2, *dec.input_dims[1:])
        export.export(dec, name, "compact-decoder", [("features", dec.input_dims)], [("logits", [-1, classes])],
                      example, args.out, k=k)
        add_to_config(args.out, name, {"serves": model, "serves_output": member_name})
        report["exports"][name] = {"role": "compact-decoder", "k": k, "groups": count, "steps": steps,
                                   "params": export.count_params(dec), "flops": export.count_flops(dec, example),
                                   "train_seconds": round(time.time() - t0, 1), **stats}

    parm_ks = manifest.get("parm_ks") or []
    if parm_ks:
        inputs = read_f32(args.targets, manifest["inputs_file"], [n, *input_shape])
        for k in parm_ks:
            t0 = time.time()
            name = f"{model}-parm-k{k}"
            log(f"training {name} ({args.epochs} epochs of {n} groups, from scratch)")
            par, stats, steps = train_parm(k, inputs, logits, input_shape, classes, args.epochs, args.batch // 2,
                                           1e-3, seed, args.max_steps)
            example = inputs[:2 * k].reshape(2, k, *input_shape).sum(1) if n >= 2 * k else inputs[:2].clone()
            export.export(par, name, "parity-model", [(manifest["input"]["name"], [-1, *input_shape])],
                          [("logits", [-1, classes])], example, args.out, k=k)
            add_to_config(args.out, name, {"serves": model, "encoder": "sum"})
            report["exports"][name] = {"role": "parity-model", "k": k, "groups": n * args.epochs, "steps": steps,
                                       "params": export.count_params(par), "flops": export.count_flops(par, example),
                                       "train_seconds": round(time.time() - t0, 1), **stats}

    report["wall_seconds"] = round(time.time() - started, 1)
    with open(os.path.join(args.targets, "report.json"), "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    log(f"exported {len(report['exports'])} model(s) into {args.out} in {report['wall_seconds']} s")


if __name__ == "__main__":
    main()
