"""diffuse.compile: the UNet made faster on CUDA, with diffusers' and torch's documented calls.

On an H100/H200 a 512x512 SD 1.5 step in float16 is launch-bound: ~32 ms per step (30.9 it/s
measured) for a few ms of arithmetic, spent issuing ~1,000 small kernels from Python. So:

  1. channels_last for the UNet and the VAE: cuDNN's NHWC convolution kernels in half precision.
  2. unet.fuse_qkv_projections(): one matmul for query/key/value (key/value in cross-attention)
     instead of three, with diffusers' FusedAttnProcessor2_0.
  3. unet.compile_repeated_blocks(): regional compilation (torch.compile of each of the UNet's
     `_repeated_blocks`, the 16 BasicTransformerBlocks in SD 1.x/2.x), default inductor mode.
     The blocks share a handful of graphs (one per width and then dynamic sizes), so the compile
     costs seconds where the whole UNet costs minutes: max-autotune spent over 2 minutes on
     the UNet's convolutions on an H200 without finishing. Compiling ResnetBlock2D too was tried
     on the CPU: 32 graphs instead of 6 (every in/out width is its own), so it is not done.
  4. The compiled kernels are cached under $FMKIT_HOME/compile-cache (inductor's FX-graph,
     AOT-autograd, Triton and automatic-dynamic caches all live under TORCHINDUCTOR_CACHE_DIR),
     so the next process loads them instead of compiling.

CUDA graphs (mode="reduce-overhead") are not used: with regional compilation the same compiled
block runs with 16 different weight sets per step, which cudagraph trees re-record, and fmkit has
not run that on a GPU yet. Timings await a GPU (benchmarks/gpu.py prints them).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger("fmkit.diffuse")


def compile_cache_dir() -> Path:
    """Point torch's compile caches at $FMKIT_HOME/compile-cache (before anything compiles), unless
    the user chose a folder of their own in TORCHINDUCTOR_CACHE_DIR. Returns the folder in use."""
    from fmkit.environment import fmkit_home

    current = os.environ.get("TORCHINDUCTOR_CACHE_DIR")
    if current and Path(current) != _torch_default_cache_dir():
        return Path(current)
    folder = fmkit_home() / "compile-cache"
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(folder)  # read by inductor each time it looks for a cache
    return folder


def _torch_default_cache_dir() -> Path | None:
    """The folder inductor uses when nobody set one (it writes it into the environment on first use)."""
    try:
        from torch._inductor.runtime.cache_dir_utils import default_cache_dir
    except ImportError:
        return None
    return Path(default_cache_dir())


def channels_last(model) -> None:
    """NHWC weights: cuDNN picks its tensor-core convolution kernels for half precision."""
    import torch

    model.to(memory_format=torch.channels_last)


def speed_up_unet(unet, fuse_qkv: bool = True) -> list[str]:
    """channels_last, fused QKV projections (unless the attention processors are fmkit's slicing
    ones) and regional compilation, in that order (fusing after compiling would recompile).
    Returns the names of what was applied. Works on any device; fmkit calls it on CUDA only."""
    applied = []
    channels_last(unet)
    applied.append("channels-last")
    if fuse_qkv and hasattr(unet, "fuse_qkv_projections"):
        try:
            unet.fuse_qkv_projections()
            applied.append("fused-qkv")
        except ValueError as e:  # "not supported for models having added KV projections"
            log.debug("fused QKV projections skipped: %s", e)
    compile_cache_dir()
    if getattr(unet, "_repeated_blocks", None):
        # fullgraph=False: a graph break (or the recompile limit) falls back to eager, never fails the run
        unet.compile_repeated_blocks(fullgraph=False)
        applied.append("compile")
    else:
        unet.compile()
        applied.append("compile")
    return applied


def is_compile_failure(error: BaseException) -> bool:
    """A failure of torch.compile itself (dynamo, inductor, Triton, a missing C compiler), which an
    uncompiled run would not have: fmkit then renders again without compiling."""
    for cls in type(error).__mro__:
        module = cls.__module__ or ""
        if module.startswith(("torch._dynamo", "torch._inductor", "triton")):
            return True
    return type(error).__name__ in ("BackendCompilerFailed", "InductorError", "CompilationError")
