"""diffuse.compile's UNet (channels_last, fused QKV projections, regional torch.compile) draws the
same image as the eager UNet, and its compiled artefacts land under $FMKIT_HOME/compile-cache.

fmkit compiles on CUDA only; inductor compiles for the CPU too (C++ instead of Triton), so the
same speed_up_unet call is checked here on the tiny pipeline. One cold compile: ~20-30 s on 2 cores.
"""

from __future__ import annotations

import os
from pathlib import Path


def test_compiled_unet_draws_the_eager_image_and_caches_under_fmkit_home(tiny_sd, tmp_path, monkeypatch):
    import numpy as np
    import torch
    from diffusers import StableDiffusionPipeline
    from diffusers.models.attention_processor import FusedAttnProcessor2_0

    from fmkit.diffuse.speed import speed_up_unet

    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR", raising=False)
    pipe = StableDiffusionPipeline.from_pretrained(tiny_sd, safety_checker=None, requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)

    def draw() -> np.ndarray:
        out = pipe("a red cat", height=32, width=32, num_inference_steps=2, guidance_scale=7.5, output_type="np",
                   generator=torch.Generator("cpu").manual_seed(3))
        return out.images[0]

    eager = draw()
    applied = speed_up_unet(pipe.unet)
    assert applied == ["channels-last", "fused-qkv", "compile"]
    assert all(isinstance(p, FusedAttnProcessor2_0) for p in pipe.unet.attn_processors.values())
    assert pipe.unet.conv_in.weight.is_contiguous(memory_format=torch.channels_last)
    compiled = draw()
    assert np.abs(compiled - eager).max() * 255 < 0.5  # float32 here; fp16 on CUDA is checked by benchmarks/gpu.py

    cache = Path(os.environ["FMKIT_HOME"]) / "compile-cache"
    assert os.environ["TORCHINDUCTOR_CACHE_DIR"] == str(cache)
    written = [p for p in cache.rglob("*") if p.is_file()]
    assert written and any("fxgraph" in p.parts for p in written)  # inductor's FX-graph cache
    assert not list(work.iterdir())  # nothing in the working directory


def test_a_folder_the_user_chose_for_torch_is_kept(tmp_path, monkeypatch):
    from fmkit.diffuse.speed import compile_cache_dir

    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "mine"))
    assert compile_cache_dir() == tmp_path / "mine"
    from torch._inductor.runtime.cache_dir_utils import default_cache_dir

    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", default_cache_dir())  # torch wrote its default: not a choice
    assert compile_cache_dir() == Path(os.environ["FMKIT_HOME"]) / "compile-cache"
