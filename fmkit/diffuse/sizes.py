"""Component sizes for the memory planner, read from a pipeline folder without loading it:
parameter counts from the safetensors headers (a few KB each, no tensor data), widths from the
config files. When the model is not on this machine (fmkit doctor), the published sizes of SD 1.5
and SD 2.1 (SD-Turbo shares SD 2.1's shapes) stand in, and the planner's reason says so.
"""

from __future__ import annotations

from pathlib import Path

from fmkit.diffuse.planner import Components
from fmkit.errors import ModelUnavailable

# Parameter counts of the published checkpoints: CLIP ViT-L/14 text (SD 1.5) or OpenCLIP ViT-H text
# (SD 2.1), the UNet, the VAE, and SD 1.5's safety checker (CLIP ViT-L/14 vision, ~304M).
SD15 = Components(text_encoder=123_060_480, unet=859_520_964, vae=83_653_863, safety_checker=304_000_000,
                  vae_sample_size=512, source="known SD 1.5 sizes")
SD21 = Components(text_encoder=340_387_840, unet=865_910_724, vae=83_653_863, safety_checker=0,
                  vae_sample_size=768, source="known SD 2.1 sizes")
KNOWN = {"sd15": SD15, "sd-turbo": SD21, "sd21": SD21}


def count_parameters(subdir: Path) -> int:
    """Elements in every tensor of one component's safetensors files (0 when it ships none)."""
    from fmkit.diffuse.weights import weight_files
    from fmkit.model_files import check_safetensors

    files, _ = weight_files(subdir)
    total = 0
    for file in files:
        header, _ = check_safetensors(file)
        for name, info in header.items():
            if name != "__metadata__":
                n = 1
                for dim in info["shape"]:
                    n *= dim
                total += n
    return total


def read_components(folder: Path) -> Components:
    """The Components of a diffusers pipeline folder (model_index.json and its subfolders)."""
    from fmkit.model_files import read_json

    unet_config, vae_config = folder / "unet" / "config.json", folder / "vae" / "config.json"
    unet_blocks = _widths(read_json(unet_config, "unet config"), unet_config, [320])
    vae = read_json(vae_config, "vae config")
    blocks = _widths(vae, vae_config, [128])
    sample_size = vae.get("sample_size") or 512
    if not isinstance(sample_size, int) or isinstance(sample_size, bool) or sample_size < 1:
        raise ModelUnavailable(f"{vae_config}: sample_size {sample_size!r} is not a positive whole number",
                               "download or save the model again")
    checker = folder / "safety_checker"
    return Components(
        text_encoder=count_parameters(folder / "text_encoder"), unet=count_parameters(folder / "unet"),
        vae=count_parameters(folder / "vae"), safety_checker=count_parameters(checker) if checker.is_dir() else 0,
        unet_channels=unet_blocks[0], vae_channels=blocks[0], vae_scale_factor=2 ** (len(blocks) - 1),
        vae_sample_size=sample_size, source=f"safetensors headers of {folder.name}")


def _widths(config: dict, path: Path, default: list[int]) -> list[int]:
    """A config's block_out_channels, checked: a damaged file is one line naming it, not a crash."""
    widths = config.get("block_out_channels") or default
    if not isinstance(widths, list) or not all(isinstance(w, int) and not isinstance(w, bool) and w > 0 for w in widths):
        raise ModelUnavailable(f"{path}: block_out_channels {widths!r} is not a list of channel counts",
                               "download or save the model again")
    return widths


def known_components(model: str) -> Components:
    """Stand-in sizes for a model that is not on this machine: SD 2.1's for sd-turbo/sd21, else SD 1.5's."""
    from dataclasses import replace

    base = KNOWN.get(model, SD15)
    return replace(base, source=f"{base.source}: {model} is not on this machine")
