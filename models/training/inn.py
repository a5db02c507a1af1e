"""fmnist-inn: an i-RevNet-style invertible classifier (Jacobsen et al., 2018).

image x [N,1,28,28] -> normalise -> space-to-depth -> 2 additive couplings (4x14x14)
-> space-to-depth -> 4 additive couplings (16x7x7) = z (784 numbers, as many as x)
-> small head -> logits.  Every step before the head is exactly invertible, so
inverse(z) recovers x, which is what the exact decoder of AsymCDC relies on.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

MEAN, STD = 0.2860, 0.3530  # Fashion-MNIST pixel statistics; normalisation lives in the graph


class Coupling(nn.Module):
    """Additive coupling: y1 = x1 + F(x2), y2 = x2; halves swapped on output."""

    def __init__(self, channels, hidden):
        super().__init__()
        half = channels // 2
        self.f = nn.Sequential(
            nn.Conv2d(half, hidden, 3, padding=1), nn.ReLU(),
            nn.Conv2d(hidden, hidden, 3, padding=1), nn.ReLU(),
            nn.Conv2d(hidden, half, 3, padding=1))
        nn.init.zeros_(self.f[-1].weight)
        nn.init.zeros_(self.f[-1].bias)

    def forward(self, x):
        x1, x2 = x.chunk(2, dim=1)
        return torch.cat([x2, x1 + self.f(x2)], dim=1)

    def inverse(self, y):
        x2, y1 = y.chunk(2, dim=1)
        return torch.cat([y1 - self.f(x2), x2], dim=1)


class InvertibleNet(nn.Module):
    def __init__(self, hidden14=24, hidden7=48, blocks14=2, blocks7=4, head_hidden=256):
        super().__init__()
        self.stage14 = nn.ModuleList([Coupling(4, hidden14) for _ in range(blocks14)])
        self.stage7 = nn.ModuleList([Coupling(16, hidden7) for _ in range(blocks7)])
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(784, head_hidden), nn.ReLU(),
                                  nn.Linear(head_hidden, 10))

    def features(self, x):
        h = (x - MEAN) / STD
        h = F.pixel_unshuffle(h, 2)
        for b in self.stage14:
            h = b(h)
        h = F.pixel_unshuffle(h, 2)
        for b in self.stage7:
            h = b(h)
        return h

    def inverse(self, z):
        h = z
        for b in reversed(self.stage7):
            h = b.inverse(h)
        h = F.pixel_shuffle(h, 2)
        for b in reversed(self.stage14):
            h = b.inverse(h)
        h = F.pixel_shuffle(h, 2)
        return h * STD + MEAN

    def forward(self, x):
        z = self.features(x)
        return self.head(z), z


class ForwardGraph(nn.Module):
    """Exported as fmnist-inn: input -> (logits, features)."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, input):
        logits, z = self.net(input)
        return logits, z


class InverseGraph(nn.Module):
    """Exported as fmnist-inn-inverse: features -> input."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, features):
        return self.net.inverse(features)


def train(x, y, epochs, batch, lr, seed, log, max_steps=None):
    torch.manual_seed(seed)
    net = InvertibleNet()
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=1e-5)
    steps_per_epoch = (len(x) + batch - 1) // batch
    total = steps_per_epoch * epochs if max_steps is None else max_steps
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(total, 1))
    g = torch.Generator().manual_seed(seed)
    step = 0
    for epoch in range(epochs):
        net.train()
        perm = torch.randperm(len(x), generator=g)
        seen, correct, loss_sum = 0, 0, 0.0
        for i in range(0, len(x), batch):
            idx = perm[i:i + batch]
            xb, yb = x[idx], y[idx]
            # light augmentation: random horizontal flip (Fashion-MNIST is flip-symmetric)
            flip = torch.rand(len(xb), generator=g) < 0.5
            xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            logits, _ = net(xb)
            loss = F.cross_entropy(logits, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            seen += len(xb)
            loss_sum += loss.item() * len(xb)
            correct += (logits.argmax(1) == yb).sum().item()
            if max_steps is not None and step >= max_steps:
                break
        log(f"  inn epoch {epoch + 1}/{epochs}: loss {loss_sum / max(seen, 1):.4f}, train acc {correct / max(seen, 1):.4f}")
        if max_steps is not None and step >= max_steps:
            break
    net.eval()
    return net
