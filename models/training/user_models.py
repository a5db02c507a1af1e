"""Two stand-in *user* models (issue 25, "bring your own model"): classifiers that are not ours, trained here only
so that `asymcdc train-decoders` can be proved on models it did not design.

    python3 -m training.user_models --out models            # both models (about 2 minutes on 2 cores)
    python3 -m training.user_models --out /tmp/x --smoke    # a few steps of each, into a scratch folder

fmnist-cnn   a plain (non-invertible) CNN on Fashion-MNIST: input `input` [N,1,28,28] pixels in [0,1];
             normalise, conv 3x3 1->32, ReLU, max-pool 2, conv 3x3 32->64, ReLU, max-pool 2, Linear 3136->128,
             ReLU = `features` [N,128] (the penultimate layer), Linear 128->10 = `logits` [N,10].
digits-mlp   an MLP on scikit-learn's bundled 8x8 digits (load_digits, no download): input `input` [N,1,8,8]
             (the 0..16 pixel counts scaled to [0,1]); flatten, Linear 64->128, ReLU, Linear 128->64, ReLU =
             `features` [N,64], Linear 64->10 = `logits` [N,10].

The digits split (stratified, 25% test, fixed seed) is written to <out>/data/digits/ in the tensor-dataset format
that the C# side reads (AsymCdc.Inference.Data.TensorDataset; models/data/README.md):
    {split}.json          header: format, count, shape, classes, the two file names, where the data came from
    {split}-images.f32    count x prod(shape) float32, little-endian, item after item
    {split}-labels.u8     count labels, one byte each
"""
import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from . import data, export

SEED = 20261206
DATASET_FORMAT = "asymcdc-tensor-dataset/1"


def log(msg):
    print(msg, flush=True)


class FmnistCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * 49, 128), nn.ReLU())
        self.head = nn.Linear(128, 10)

    def forward(self, input):
        features = self.body((input - 0.2860) / 0.3530)   # Fashion-MNIST mean/std, inside the graph
        return self.head(features), features


class DigitsMlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU())
        self.head = nn.Linear(64, 10)

    def forward(self, input):
        features = self.body(input)
        return self.head(features), features


def train(net, x, y, epochs, batch, lr, seed, name, weight_decay=0.0, max_steps=None):
    torch.manual_seed(seed)
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=weight_decay)
    steps_per_epoch = (len(x) + batch - 1) // batch
    total = steps_per_epoch * epochs if max_steps is None else max_steps
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(total, 1))
    g = torch.Generator().manual_seed(seed + 1)
    step = 0
    for epoch in range(epochs):
        net.train()
        order = torch.randperm(len(x), generator=g)
        loss_sum, correct, seen = 0.0, 0, 0
        for i in range(0, len(x), batch):
            idx = order[i:i + batch]
            logits, _ = net(x[idx])
            loss = F.cross_entropy(logits, y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            loss_sum += loss.item() * len(idx)
            correct += (logits.argmax(1) == y[idx]).sum().item()
            seen += len(idx)
            if step >= total:
                break
        log(f"  {name} epoch {epoch + 1}/{epochs}: loss {loss_sum / max(seen, 1):.4f}, train accuracy {correct / max(seen, 1):.4f}")
        if step >= total:
            break
    net.eval()
    return net


def accuracy(net, x, y):
    with torch.no_grad():
        correct = 0
        for i in range(0, len(x), 2000):
            logits, _ = net(x[i:i + 2000])
            correct += (logits.argmax(1) == y[i:i + 2000]).sum().item()
    return correct / max(len(x), 1)


def write_split(directory, split, x, y, source):
    """One split in the tensor-dataset format (see the module docstring)."""
    os.makedirs(directory, exist_ok=True)
    images, labels = f"{split}-images.f32", f"{split}-labels.u8"
    x.numpy().astype("<f4").tofile(os.path.join(directory, images))
    y.numpy().astype(np.uint8).tofile(os.path.join(directory, labels))
    header = {"format": DATASET_FORMAT, "split": split, "count": int(len(x)), "shape": list(x.shape[1:]),
              "classes": 10, "images": images, "labels": labels, "source": source}
    with open(os.path.join(directory, f"{split}.json"), "w") as f:
        json.dump(header, f, indent=2)
        f.write("\n")


def load_digits(seed):
    """scikit-learn's bundled digits (1,797 images of 8x8, pixel counts 0..16), split 75/25 stratified."""
    from sklearn.datasets import load_digits as sk_load_digits
    from sklearn.model_selection import train_test_split
    digits = sk_load_digits()
    x = (digits.images.astype(np.float32) / 16.0)[:, None, :, :]
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=seed % (2 ** 31), stratify=y)
    return (torch.from_numpy(np.ascontiguousarray(x_train)), torch.from_numpy(y_train),
            torch.from_numpy(np.ascontiguousarray(x_test)), torch.from_numpy(y_test))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--smoke", action="store_true")
    p.add_argument("--only", choices=["fmnist-cnn", "digits-mlp"])
    p.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    steps = 3 if args.smoke else None
    report = {"seed": SEED, "smoke": args.smoke, "torch": torch.__version__, "models": {}}

    if args.only in (None, "fmnist-cnn"):
        t0 = time.time()
        x_train, y_train = data.load("train")
        x_test, y_test = data.load("test")
        if args.smoke:
            x_train, y_train, x_test, y_test = x_train[:512], y_train[:512], x_test[:256], y_test[:256]
        epochs = 1 if args.smoke else int(os.environ.get("CNN_EPOCHS", "2"))
        log(f"training fmnist-cnn ({epochs} epochs, {len(x_train)} images)")
        net = train(FmnistCnn(), x_train, y_train, epochs, 128, 2e-3, SEED, "fmnist-cnn", max_steps=steps)
        acc = accuracy(net, x_test, y_test)
        log(f"fmnist-cnn test accuracy {acc:.4f}")
        export.export(net, "fmnist-cnn", "classifier", [("input", [-1, 1, 28, 28])],
                      [("logits", [-1, 10]), ("features", [-1, 128])], x_test[:2].clone(), args.out,
                      input_range=(0, 1), extra={"dataset": "fmnist"})
        report["models"]["fmnist-cnn"] = {"test_accuracy": acc, "params": export.count_params(net),
                                          "flops": export.count_flops(net, x_test[:2]), "epochs": epochs,
                                          "train_seconds": round(time.time() - t0)}

    if args.only in (None, "digits-mlp"):
        t0 = time.time()
        x_train, y_train, x_test, y_test = load_digits(SEED)
        epochs = 2 if args.smoke else int(os.environ.get("MLP_EPOCHS", "60"))
        log(f"training digits-mlp ({epochs} epochs, {len(x_train)} images; {len(x_test)} held out)")
        net = train(DigitsMlp(), x_train, y_train, epochs, 64, 1e-2, SEED, "digits-mlp", weight_decay=1e-4, max_steps=steps)
        acc = accuracy(net, x_test, y_test)
        log(f"digits-mlp test accuracy {acc:.4f}")
        export.export(net, "digits-mlp", "classifier", [("input", [-1, 1, 8, 8])],
                      [("logits", [-1, 10]), ("features", [-1, 64])], x_test[:2].clone(), args.out,
                      input_range=(0, 1), extra={"dataset": "digits"})
        source = ("scikit-learn load_digits (UCI optical recognition of handwritten digits, 8x8, pixel counts 0..16 "
                  f"scaled to [0,1]); stratified 75/25 split, random_state {SEED % (2 ** 31)}")
        digits_dir = os.path.join(args.out, "data", "digits")
        write_split(digits_dir, "train", x_train, y_train, source)
        write_split(digits_dir, "test", x_test, y_test, source)
        report["models"]["digits-mlp"] = {"test_accuracy": acc, "params": export.count_params(net),
                                          "flops": export.count_flops(net, x_test[:2]), "epochs": epochs,
                                          "train_images": len(x_train), "test_images": len(x_test),
                                          "train_seconds": round(time.time() - t0)}

    path = os.path.join(args.out, "user-models-report.json")
    if args.only is not None and os.path.exists(path):
        with open(path) as f:
            previous = json.load(f)
        previous["models"].update(report["models"])
        report["models"] = previous["models"]
    with open(path, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    log(f"done; report: {path}")


if __name__ == "__main__":
    main()
