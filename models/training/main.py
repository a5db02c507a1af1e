"""Trains and exports every model of the AsymCdc model repository.

    python3 -m training.main --out models            # the full run (about an hour on 2 cores)
    python3 -m training.main --out /tmp/x --smoke    # a few steps of everything
"""
import argparse
import json
import os
import shutil
import time

import torch

from . import compact, data, export, inn, parm

SEED = 20261127


def log(msg):
    print(msg, flush=True)


def degraded_eval(net, x_test, y_test, k, decode):
    """Groups of k consecutive test images; each member missing in turn; decode() -> logits."""
    n = (len(x_test) // k) * k
    correct = agree = total = 0
    with torch.no_grad():
        logits_all, z_all = net(x_test[:n])
        for start in range(0, n, 1000 * k):
            idx = torch.arange(start, min(start + 1000 * k, n)).reshape(-1, k)
            for m in range(k):
                out = decode(idx, m, logits_all, z_all)
                correct += (out.argmax(1) == y_test[idx[:, m]]).sum().item()
                agree += (out.argmax(1) == logits_all[idx[:, m]].argmax(1)).sum().item()
                total += len(idx)
    return correct / total, agree / total


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--smoke", action="store_true")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    started = time.time()
    out = args.out
    os.makedirs(out, exist_ok=True)

    x_train, y_train = data.load("train")
    x_test, y_test = data.load("test")
    if args.smoke:
        x_train, y_train = x_train[:512], y_train[:512]
        x_test, y_test = x_test[:256], y_test[:256]
    steps = 3 if args.smoke else None
    inn_epochs = 1 if args.smoke else int(os.environ.get("INN_EPOCHS", "8"))
    dec_epochs = 1 if args.smoke else int(os.environ.get("DECODER_EPOCHS", "3"))
    parm_epochs = 1 if args.smoke else int(os.environ.get("PARM_EPOCHS", "3"))
    report = {"seed": SEED, "smoke": args.smoke, "models": {}}

    # --- the deployed invertible classifier -------------------------------------------
    t0 = time.time()
    log(f"training fmnist-inn ({inn_epochs} epochs)")
    net = inn.train(x_train, y_train, inn_epochs, 128, 2e-3, SEED, log, max_steps=steps)
    with torch.no_grad():
        logits_test, z_test = net(x_test)
        acc = (logits_test.argmax(1) == y_test).float().mean().item()
        recon = net.inverse(z_test)
        inv_err = (recon - x_test).abs().max().item()
    log(f"fmnist-inn test accuracy {acc:.4f}; inverse(forward(x)) max-abs error {inv_err:.2e}")
    sample = x_test[:2].clone()
    export.export(inn.ForwardGraph(net), "fmnist-inn", "classifier",
                  [("input", [-1, 1, 28, 28])], [("logits", [-1, 10]), ("features", [-1, 16, 7, 7])],
                  sample, out, input_range=(0, 1), extra={"aliases": ["fmnist"], "dataset": "fmnist"})
    export.export(inn.InverseGraph(net), "fmnist-inn-inverse", "inverse",
                  [("features", [-1, 16, 7, 7])], [("input", [-1, 1, 28, 28])], z_test[:2].clone(), out,
                  extra={"serves": "fmnist-inn"})
    fwd_flops = export.count_flops(net, sample)
    inv_flops = export.count_flops(net, z_test[:2], method="inverse")
    report["models"]["fmnist-inn"] = {"test_accuracy": acc, "params": export.count_params(net),
                                      "flops": fwd_flops, "train_seconds": round(time.time() - t0)}
    report["models"]["fmnist-inn-inverse"] = {"inverse_max_abs_error": inv_err, "flops": inv_flops}

    with torch.no_grad():
        logits_train, z_train = [], []
        for i in range(0, len(x_train), 2000):
            l, z = net(x_train[i:i + 2000])
            logits_train.append(l)
            z_train.append(z)
        logits_train, z_train = torch.cat(logits_train), torch.cat(z_train)

    # --- the exact decoder, checked in PyTorch (the C# evaluator is the official figure) ----
    for k in (2, 3, 4):
        def exact(idx, m, logits_all, z_all, k=k):
            xs = x_test[idx]                                      # [G,k,1,28,28]
            x_p = net.inverse(net.features(xs.mean(1)))           # parity input, recovered from z_p
            others = [j for j in range(k) if j != m]
            x_others = net.inverse(z_all[idx[:, others]].flatten(0, 1)).reshape(len(idx), k - 1, 1, 28, 28)
            x_i = k * x_p - x_others.sum(1)                       # X_i = k X_p - sum_{j!=i} X_j
            return net(x_i)[0]
        acc_k, agree_k = degraded_eval(net, x_test, y_test, k, exact)
        log(f"exact decoder k={k}: degraded accuracy {acc_k:.4f}, agreement {agree_k:.4f}")
        report["models"]["fmnist-inn-inverse"][f"exact_k{k}"] = {"degraded_accuracy": acc_k, "agreement": agree_k}

    # --- compact decoders ------------------------------------------------------------------
    for k in (2, 3, 4):
        t0 = time.time()
        log(f"training fmnist-compact-k{k} ({dec_epochs} epochs)")
        dec = compact.train(k, net, x_train, z_train, logits_train, dec_epochs, 128, 2e-3, SEED, log,
                            max_steps=steps)

        def decode(idx, m, logits_all, z_all, k=k, dec=dec):
            with torch.no_grad():
                z_p = net.features(x_test[idx].mean(1))
                others = [j for j in range(k) if j != m]
                stacked = torch.cat([z_all[idx[:, others]].flatten(1, 2), z_p], 1)
                return dec(stacked)
        acc_k, agree_k = degraded_eval(net, x_test, y_test, k, decode)
        example = torch.cat([z_test[:2 * (k - 1)].reshape(2, 16 * (k - 1), 7, 7), z_test[2:4]], 1)
        flops = export.count_flops(dec, example)
        exact_flops = k * inv_flops + fwd_flops
        log(f"fmnist-compact-k{k}: degraded accuracy {acc_k:.4f}, agreement {agree_k:.4f}, "
            f"{flops / 1e6:.2f} MFLOPs vs exact path {exact_flops / 1e6:.2f} MFLOPs ({exact_flops / flops:.1f}x)")
        export.export(dec, f"fmnist-compact-k{k}", "compact-decoder",
                      [("features", [-1, 16 * k, 7, 7])], [("logits", [-1, 10])], example, out, k=k,
                      extra={"serves": "fmnist-inn", "serves_output": "features", "agreement": round(agree_k, 4)})
        report["models"][f"fmnist-compact-k{k}"] = {
            "degraded_accuracy": acc_k, "agreement": agree_k, "params": export.count_params(dec),
            "flops": flops, "exact_path_flops": exact_flops, "train_seconds": round(time.time() - t0)}

    # --- ParM parity models (baseline) -----------------------------------------------------
    for k in (2, 4):
        t0 = time.time()
        log(f"training fmnist-parm-k{k} ({parm_epochs} epochs)")
        par = parm.train(k, net, x_train, logits_train, parm_epochs, 128, 1e-3, SEED, log, max_steps=steps)

        def decode(idx, m, logits_all, z_all, k=k, par=par):
            with torch.no_grad():
                p_out, _ = par(x_test[idx].sum(1))
                others = [j for j in range(k) if j != m]
                return p_out - logits_all[idx[:, others]].sum(1)   # Y_i = f_P(sum X) - sum_{j!=i} Y_j
        acc_k, agree_k = degraded_eval(net, x_test, y_test, k, decode)
        log(f"fmnist-parm-k{k}: degraded accuracy {acc_k:.4f}, agreement {agree_k:.4f}")
        example = x_test[:2 * k].reshape(2, k, 1, 28, 28).sum(1)
        export.export(parm.ParityGraph(par), f"fmnist-parm-k{k}", "parity-model",
                      [("input", [-1, 1, 28, 28])], [("logits", [-1, 10])], example, out, k=k,
                      extra={"serves": "fmnist-inn", "encoder": "sum", "agreement": round(agree_k, 4)})
        report["models"][f"fmnist-parm-k{k}"] = {
            "degraded_accuracy": acc_k, "agreement": agree_k, "params": export.count_params(par),
            "flops": export.count_flops(par, example), "train_seconds": round(time.time() - t0)}

    report["wall_seconds"] = round(time.time() - started)
    report["torch"] = torch.__version__
    report["threads"] = args.threads
    with open(os.path.join(out, "training-report.json"), "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    if not args.smoke:
        data_dir = os.path.join(out, "data")
        os.makedirs(data_dir, exist_ok=True)
        for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
            shutil.copy(os.path.join(data.DEBIAN_DIR, name), os.path.join(data_dir, name))
    log(f"done in {report['wall_seconds']} s; report: {os.path.join(out, 'training-report.json')}")


if __name__ == "__main__":
    main()
