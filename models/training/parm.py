"""fmnist-parm-k{2,4}: the ParM baseline (Kosaian et al., SOSP'19).

A parity model f_P of the deployed model's architecture family (the same invertible network
and head) trained so that f_P(X_1 + ... + X_k) ~= f(X_1) + ... + f(X_k) with a mean-squared
error on the outputs (ParM's sum encoder); a missing answer is decoded by subtraction:
Y_i ~= f_P(sum X) - sum_{j != i} Y_j.  As in ParM, the parity model starts from the deployed
model's weights and is trained on groups drawn from the training set.
Input `input` [N,1,28,28] (the sum of k images, pixels in [0,k]); output `logits` [N,10].
"""
import copy

import torch
import torch.nn as nn
import torch.nn.functional as F


class ParityGraph(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, input):
        logits, _ = self.net(input)
        return logits


def train(k, inn, x, teacher_logits, epochs, batch, lr, seed, log, max_steps=None):
    torch.manual_seed(seed + 10 * k)
    parity = copy.deepcopy(inn)
    parity.train()
    opt = torch.optim.Adam(parity.parameters(), lr=lr)
    steps_per_epoch = (len(x) + batch - 1) // batch
    total = steps_per_epoch * epochs if max_steps is None else max_steps
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(total, 1))
    g = torch.Generator().manual_seed(seed + 200 + k)
    step = 0
    for epoch in range(epochs):
        groups = torch.randint(0, len(x), (len(x), k), generator=g)
        loss_sum, seen = 0.0, 0
        for i in range(0, len(x), batch):
            gb = groups[i:i + batch]
            summed = x[gb].sum(dim=1)                      # ParM sum encoder
            target = teacher_logits[gb].sum(dim=1)         # sum_i f(X_i)
            out, _ = parity(summed)
            loss = F.mse_loss(out, target)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            loss_sum += loss.item() * len(gb)
            seen += len(gb)
            if max_steps is not None and step >= max_steps:
                break
        log(f"  parm-k{k} epoch {epoch + 1}/{epochs}: mse {loss_sum / max(seen, 1):.4f}")
        if max_steps is not None and step >= max_steps:
            break
    parity.eval()
    return parity
