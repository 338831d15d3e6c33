"""PyTorch weights to and from saelab's per-layer HDF5 layout (docs/weights.md).

  from saelab_weights import export_weights, load_weights
  export_weights(model, "init.h5")        # then: sae-train CONFIG --model.init_from=init.h5
  load_weights(model, "run/model.h5")     # a saelab checkpoint into the same PyTorch module

A layer with parameters is a Linear, Conv2d or ConvTranspose2d; saelab and
PyTorch store them in the same shapes. The module must register its layers
in forward order (model.modules() order): saelab matches the file's groups
to its layers in name order. Needs python3-h5py (and python3-torch).
"""
import h5py
import torch

PARAMETRISED = (torch.nn.Linear, torch.nn.Conv2d, torch.nn.ConvTranspose2d)


def layers_of(model):
    return [m for m in model.modules() if isinstance(m, PARAMETRISED)]


def export_weights(model, path):
    with h5py.File(path, "w") as f:
        for i, m in enumerate(layers_of(model)):
            g = f.create_group(f"layers/{i:02}_{type(m).__name__}")
            g["weight"] = m.weight.detach().float().cpu().numpy()
            g["bias"] = m.bias.detach().float().cpu().numpy()


def load_weights(model, path):
    with h5py.File(path, "r") as f:
        groups = [f["layers"][name] for name in sorted(f["layers"])]
        for m, g in zip(layers_of(model), groups, strict=True):
            with torch.no_grad():
                m.weight.copy_(torch.from_numpy(g["weight"][...]))
                m.bias.copy_(torch.from_numpy(g["bias"][...]))
