"""Reference outputs of a tiny torchvision-style bottleneck ResNet with XBM's head.

Builds conv1/bn1/maxpool/layer1..4 from torchvision's own `Bottleneck` blocks (base width 4,
one block per stage, so the names are exactly torchvision's) plus `head = nn.Linear`, saves its
randomly initialized weights (with a 10-class `fc` and `num_batches_tracked`, as a torchvision
checkpoint has) and, for a fixed input, the embeddings in eval mode, the embeddings in training
mode (batch statistics) and the running statistics after that training-mode forward. Run from
the crate directory:

    /work/venv/bin/python reference/resnet_reference.py
"""

import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file
from torchvision.models.resnet import Bottleneck, conv1x1

torch.manual_seed(7)
W = 4
LAYERS = [1, 1, 1, 1]
D = 16


class TinyResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, W, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(W)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        inplanes = W
        for s, n in enumerate(LAYERS):
            planes = W << s
            stride = 1 if s == 0 else 2
            blocks = []
            for j in range(n):
                ds = None
                if j == 0 and (stride != 1 or inplanes != planes * 4):
                    ds = nn.Sequential(conv1x1(inplanes, planes * 4, stride), nn.BatchNorm2d(planes * 4))
                blocks.append(Bottleneck(inplanes, planes, stride if j == 0 else 1, ds))
                inplanes = planes * 4
            setattr(self, f"layer{s + 1}", nn.Sequential(*blocks))
        self.fc = nn.Linear(inplanes, 10)  # the classifier a pretrained file carries
        self.head = nn.Linear(inplanes, D)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for s in range(4):
            x = getattr(self, f"layer{s + 1}")(x)
        g = x.mean((2, 3))
        return F.normalize(self.head(g))


def main():
    model = TinyResNet()
    # Non-trivial BN parameters and running statistics, so eval mode is a real test.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 2.0)
    x = torch.randn(3, 3, 33, 35)  # odd sizes exercise the pool/conv padding arithmetic
    weights = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    model.eval()
    with torch.no_grad():
        z_eval = model(x)
    model.train()
    with torch.no_grad():
        z_train = model(x)
    io = {"input": x, "embedding.eval": z_eval, "embedding.train": z_train}
    for k, v in model.state_dict().items():
        if k.endswith("running_mean") or k.endswith("running_var"):
            io[f"after_train.{k}"] = v.clone()
    here = os.path.join(os.path.dirname(__file__), "..", "tests", "data")
    save_file(weights, os.path.join(here, "resnet_tiny_weights.safetensors"))
    save_file({k: v.contiguous() for k, v in io.items()}, os.path.join(here, "resnet_tiny_io.safetensors"))
    print("saved", len(weights), "weights;", "eval[0,:4] =", z_eval[0, :4].tolist())


if __name__ == "__main__":
    main()
