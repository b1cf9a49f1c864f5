"""PyTorch peer of `data_throughput.rs`: DataLoader + torchvision transforms + PIL.

RandomResizedCrop(224), RandomHorizontalFlip(), ToTensor(), Normalize(ImageNet) over the
sorted *.jpg files of --dir, batches of 32, --workers worker processes (persistent, so only the
warm-up pass pays their start-up). Prints one JSON line like the Rust bench.
"""

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms


class Files(Dataset):
    def __init__(self, files, transform):
        self.files, self.transform = files, transform

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        with Image.open(self.files[i]) as im:
            return self.transform(im.convert("RGB")), i


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--size", type=int, default=224)
    a = p.parse_args()
    files = sorted(Path(a.dir).glob("*.jpg"))
    t = transforms.Compose([
        transforms.RandomResizedCrop(a.size),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    ])
    loader = DataLoader(Files(files, t), batch_size=a.batch, num_workers=a.workers,
                        persistent_workers=a.workers > 0)
    rates = []
    for rep in range(a.repeats + 1):
        start = time.perf_counter()
        n = sum(x.shape[0] for x, _ in loader)
        rate = n / (time.perf_counter() - start)
        if rep > 0:
            rates.append(round(rate, 1))
    print(json.dumps({"impl": "torch", "workers": a.workers, "images": len(files), "size": a.size,
                      "batch": a.batch, "rates": rates, "median": statistics.median(rates),
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
