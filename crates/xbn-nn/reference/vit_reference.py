"""Reference outputs and gradients of tiny random vision transformers from Hugging Face
`transformers`: ViTModel, Dinov2Model and CLIPVisionModel.

For each flavor, writes to tests/fixtures/vit/:
  <flavor>/config.json        the Hugging Face config (as `save_pretrained` writes it)
  <flavor>/model.safetensors  the randomized weights (every tensor perturbed, LayerNorm and
                              layer-scale included, so that no parameter sits at its default)
  positions_io.safetensors    a random (1, 5, 7, 7) grid and its bicubic resampling to 4 × 4
                              and 16 × 16 (`F.interpolate`, align_corners=False)
  <flavor>_io.safetensors     `pixels` (2, 3, 32, 32), the outputs `last_hidden_state` and
                              `pooled` (CLS after the final norm), `probe` (a fixed random
                              weight R) and `grad.<name>` for every parameter: the gradient of
                              sum(last_hidden_state * R) + sum(pooled * R[:, 0]).
crates/xbn-nn/tests/model_vit_reference.rs compares against them. Not run by CI.

    .venv/bin/pip install torch transformers safetensors
    .venv/bin/python crates/xbn-nn/reference/vit_reference.py
"""

import os

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from transformers import (
    CLIPVisionConfig,
    CLIPVisionModel,
    Dinov2Config,
    Dinov2Model,
    ViTConfig,
    ViTModel,
)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "vit")

COMMON = dict(
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    image_size=32,
    patch_size=8,
    num_channels=3,
)


def models():
    vit = ViTModel(
        ViTConfig(
            intermediate_size=64,
            hidden_act="gelu",
            layer_norm_eps=1e-12,
            qkv_bias=True,
            hidden_dropout_prob=0.0,
            attention_probs_dropout_prob=0.0,
            **COMMON,
        ),
        add_pooling_layer=False,
    )
    dinov2 = Dinov2Model(
        Dinov2Config(
            mlp_ratio=2,
            hidden_act="gelu",
            layer_norm_eps=1e-6,
            qkv_bias=True,
            layerscale_value=1.0,
            hidden_dropout_prob=0.0,
            attention_probs_dropout_prob=0.0,
            drop_path_rate=0.0,
            **COMMON,
        )
    )
    clip = CLIPVisionModel(
        CLIPVisionConfig(
            intermediate_size=64,
            hidden_act="quick_gelu",
            layer_norm_eps=1e-5,
            projection_dim=16,
            attention_dropout=0.0,
            **COMMON,
        )
    )
    return {"vit": vit, "dinov2": dinov2, "clip-vision": clip}


def randomize(model, gen):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("mask_token"):
                continue
            if p.dim() == 1 and ("norm" in name or "lambda1" in name) and name.endswith(("weight", "lambda1")):
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.2 * torch.randn(p.shape, generator=gen))


def outputs(flavor, model, pixels):
    out = model(pixel_values=pixels)
    hidden = out.last_hidden_state
    pooled = out.pooler_output if flavor == "clip-vision" else hidden[:, 0]
    return hidden, pooled


def main():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1234)
    pixels = torch.randn((2, 3, 32, 32), generator=gen)
    for flavor, model in models().items():
        randomize(model, gen)
        model.eval()
        folder = os.path.join(OUT, flavor)
        os.makedirs(folder, exist_ok=True)
        # save_pretrained writes the checkpoint names the Hub's files use (transformers 5
        # renames modules internally); the gradients are mapped to them by value below.
        model.save_pretrained(folder)
        with safe_open(os.path.join(folder, "model.safetensors"), "pt") as f:
            saved = {k: f.get_tensor(k) for k in f.keys()}
        for extra in ("generation_config.json",):
            if os.path.exists(os.path.join(folder, extra)):
                os.remove(os.path.join(folder, extra))
        hidden, pooled = outputs(flavor, model, pixels)
        probe = torch.randn(hidden.shape, generator=gen)
        loss = (hidden * probe).sum() + (pooled * probe[:, 0]).sum()
        model.zero_grad()
        loss.backward()
        io = {
            "pixels": pixels,
            "last_hidden_state": hidden.detach(),
            "pooled": pooled.detach(),
            "probe": probe,
        }
        for name, p in model.named_parameters():
            if p.grad is None:
                continue
            matches = [k for k, v in saved.items() if v.shape == p.shape and torch.equal(v, p.detach())]
            assert len(matches) == 1, (name, matches)
            io["grad." + matches[0]] = p.grad.detach().clone()
        save_file({k: v.contiguous() for k, v in io.items()}, os.path.join(OUT, f"{flavor}_io.safetensors"))
        print(flavor, hidden.shape, len(saved), "tensors", sum(1 for k in io if k.startswith("grad.")), "grads")


def positions(gen):
    """Bicubic resampling of a position grid, as Dinov2Embeddings.interpolate_pos_encoding."""
    grid = torch.randn((1, 5, 7, 7), generator=gen)
    io = {"grid": grid}
    for to in (4, 16):
        io[f"to{to}"] = torch.nn.functional.interpolate(
            grid, size=(to, to), mode="bicubic", align_corners=False
        )
    save_file({k: v.contiguous() for k, v in io.items()}, os.path.join(OUT, "positions_io.safetensors"))


if __name__ == "__main__":
    main()
    positions(torch.Generator().manual_seed(99))
