"""fmnist-compact-k{2,3,4}: the compact decoders of AsymCDC (distilled from the exact path).

Input  `features` [N, 16k, 7, 7]: the k available feature maps stacked on the channel axis,
        the k-1 data members in group order first, the parity's (z of the mean) last.
Inside the graph they are reshaped from C x H x W = 16k x 7 x 7 to alpha x 14 x 14 with
alpha = 4k (alpha x sqrt(CHW/alpha) x sqrt(CHW/alpha), DESIGN §2), then a small CNN.
Output `logits` [N, 10]: the deployed model's logits on the missing query, approximately.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class CompactDecoder(nn.Module):
    def __init__(self, k, width1=48, width2=64, hidden=256):
        super().__init__()
        self.k = k
        self.alpha = 4 * k
        self.body = nn.Sequential(
            nn.Conv2d(self.alpha, width1, 3, padding=1), nn.ReLU(),
            nn.Conv2d(width1, width2, 3, stride=2, padding=1), nn.ReLU(),
            nn.Flatten(), nn.Linear(width2 * 49, hidden), nn.ReLU(), nn.Linear(hidden, 10))

    def forward(self, features):
        h = features.reshape(-1, self.alpha, 14, 14)
        return self.body(h)


def make_groups(n, k, count, generator):
    """count random groups of k distinct-enough training indices; member 0 is the missing one."""
    return torch.randint(0, n, (count, k), generator=generator)


def group_inputs(inn, x, z_all, groups):
    """Builds decoder inputs for groups whose member 0 is missing (the mean encoder is symmetric)."""
    with torch.no_grad():
        parity = x[groups].mean(dim=1)                      # X_p = (1/k) sum X_i  [G,1,28,28]
        z_p = inn.features(parity)                          # [G,16,7,7]
    avail = z_all[groups[:, 1:]]                            # [G,k-1,16,7,7]
    stacked = torch.cat([avail.flatten(1, 2), z_p], dim=1)  # [G,16k,7,7]
    return stacked


def train(k, inn, x, z_all, teacher_logits, epochs, batch, lr, seed, log, temperature=2.0, max_steps=None):
    torch.manual_seed(seed + k)
    dec = CompactDecoder(k)
    opt = torch.optim.Adam(dec.parameters(), lr=lr)
    groups_per_epoch = len(x)
    steps_per_epoch = (groups_per_epoch + batch - 1) // batch
    total = steps_per_epoch * epochs if max_steps is None else max_steps
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(total, 1))
    g = torch.Generator().manual_seed(seed + 100 + k)
    step = 0
    for epoch in range(epochs):
        dec.train()
        groups = make_groups(len(x), k, groups_per_epoch, g)
        loss_sum, agree, seen = 0.0, 0, 0
        for i in range(0, groups_per_epoch, batch):
            gb = groups[i:i + batch]
            inp = group_inputs(inn, x, z_all, gb)
            target = teacher_logits[gb[:, 0]]
            out = dec(inp)
            # knowledge distillation on soft targets (Hinton et al.), temperature T
            loss = F.kl_div(F.log_softmax(out / temperature, 1), F.softmax(target / temperature, 1),
                            reduction="batchmean") * temperature ** 2
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            loss_sum += loss.item() * len(gb)
            agree += (out.argmax(1) == target.argmax(1)).sum().item()
            seen += len(gb)
            if max_steps is not None and step >= max_steps:
                break
        log(f"  compact-k{k} epoch {epoch + 1}/{epochs}: kd loss {loss_sum / max(seen, 1):.4f}, train agreement {agree / max(seen, 1):.4f}")
        if max_steps is not None and step >= max_steps:
            break
    dec.eval()
    return dec
