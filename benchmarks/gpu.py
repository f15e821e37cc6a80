"""GPU benchmark: every lesson on the gpu profile, against the plain library on the same GPU.

Nothing can be downloaded on the GPU machine, so the models are built here with real shapes and
random weights: GPT-2 124M (benchmarks/generate.py), Stable Diffusion 1.5 (benchmarks/sd15_random.py,
~4.3 GB, built once into benchmarks/.cache), yolo11n (benchmarks/detect.py). Side by side, one run:

    generate  fmkit.Session(profile="gpu").generate, greedy 128 tokens   vs transformers.pipeline on cuda
    diffuse   fmkit (gpu profile: float16, resident) 512x512, 25 steps   vs StableDiffusionPipeline float16
              seconds per image and peak VRAM (torch.cuda.max_memory_allocated)
    detect    fmkit.Session(profile="gpu").detect over 256 images        vs YOLO(model).predict(folder)

`--smoke` runs the same code on the CPU with tiny models (tests/tiny_*.py) and tiny sizes, to check
the script itself on a machine without a GPU. benchmarks/gpu.sh is the entry point (8-minute cap).
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))


def _sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _peak_reset() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def _peak_gb() -> float:
    import torch

    return torch.cuda.max_memory_allocated() / 1e9 if torch.cuda.is_available() else float("nan")


def bench_generate(fk, model: str, device: str, tokens: int) -> None:
    import torch
    from transformers import pipeline

    fk.generate("Star Trek", model=model, max_new_tokens=4, greedy=True, seed=1)  # load + warm up
    fmkit_rates = []
    for _ in range(3):
        [g] = fk.generate("Star Trek", model=model, max_new_tokens=tokens, greedy=True, seed=1)
        fmkit_rates.append(g.new_tokens / g.seconds)
    pipe = pipeline("text-generation", model=model, device=device,
                    dtype=torch.float16 if device.startswith("cuda") else torch.float32)
    pipe("Star Trek", max_new_tokens=4, do_sample=False)
    base_rates = []
    for _ in range(3):
        _sync()
        start = time.perf_counter()
        out = pipe("Star Trek", max_new_tokens=tokens, min_new_tokens=tokens, do_sample=False)
        _sync()
        base_rates.append(tokens / (time.perf_counter() - start))
    assert out and out[0]["generated_text"]
    f, b = statistics.median(fmkit_rates), statistics.median(base_rates)
    print(f"generate  GPT-2 124M greedy {tokens} tokens: fmkit {f:.1f} tokens/s, pipeline {b:.1f} tokens/s; "
          f"fmkit vs pipeline: {f / b:.2f}x")
    del pipe
    fk.close()


def bench_diffuse(fk, folder: str, device: str, size: int, steps: int) -> None:
    import torch
    from diffusers import StableDiffusionPipeline

    _peak_reset()
    fk.diffuse("a cat", model=folder, seed=1, steps=1, height=size, width=size)  # load + warm up
    _peak_reset()
    start = time.perf_counter()
    [image] = fk.diffuse("a cat", model=folder, seed=2, steps=steps, height=size, width=size)
    fmkit_s, fmkit_peak = time.perf_counter() - start, _peak_gb()
    fk.close()
    gc.collect()
    _peak_reset()
    dtype = torch.float16 if device.startswith("cuda") else torch.float32
    pipe = StableDiffusionPipeline.from_pretrained(folder, dtype=dtype, safety_checker=None).to(device)
    pipe.set_progress_bar_config(disable=True)
    pipe("a cat", num_inference_steps=1, height=size, width=size)
    _peak_reset()
    _sync()
    start = time.perf_counter()
    pipe("a cat", num_inference_steps=steps, height=size, width=size,
         generator=torch.Generator(device).manual_seed(2))
    _sync()
    base_s, base_peak = time.perf_counter() - start, _peak_gb()
    print(f"diffuse   SD 1.5 shape {size}x{size}, {steps} steps: fmkit {fmkit_s:.2f} s/image "
          f"(peak VRAM {fmkit_peak:.2f} GB, {image.strategy}), plain pipeline {base_s:.2f} s/image "
          f"(peak VRAM {base_peak:.2f} GB); fmkit vs plain: time {fmkit_s / base_s:.2f}x, "
          f"VRAM {fmkit_peak / base_peak if base_peak == base_peak and base_peak else float('nan'):.2f}x")
    del pipe


def bench_detect(fk, model: str, images: Path, n: int, imgsz: int) -> None:
    from ultralytics import YOLO

    list(fk.detect(next(images.iterdir()), model=model, imgsz=imgsz))  # load + warm up
    start = time.perf_counter()
    results = list(fk.detect(images, model=model, imgsz=imgsz))
    fmkit_rate = len(results) / (time.perf_counter() - start)
    yolo = YOLO(model)
    device = fk.settings.runtime.device if fk.settings.runtime.device != "auto" else None
    list(yolo.predict(next(images.iterdir()), imgsz=imgsz, verbose=False, device=device))
    start = time.perf_counter()
    count = sum(1 for _ in yolo.predict(str(images), imgsz=imgsz, verbose=False, stream=True, device=device))
    base_rate = count / (time.perf_counter() - start)
    print(f"detect    yolo11n shape, {n} images at {imgsz}: fmkit {fmkit_rate:.1f} images/s, "
          f"YOLO.predict {base_rate:.1f} images/s; fmkit vs predict: {fmkit_rate / base_rate:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="CPU, tiny models: check the script without a GPU")
    args = parser.parse_args()

    os.environ.setdefault("YOLO_OFFLINE", "1")
    import torch

    import fmkit

    if not args.smoke and not torch.cuda.is_available():
        sys.exit("benchmarks/gpu.py: no CUDA GPU here (use --smoke to check the script on a CPU)")
    device = "cpu" if args.smoke else "cuda"
    print(f"fmkit {fmkit.__version__}, torch {torch.__version__}, "
          f"{torch.cuda.get_device_name(0) if device == 'cuda' else 'CPU (smoke run: tiny models)'}")
    with tempfile.TemporaryDirectory(prefix="fmkit-bench-gpu-") as tmp:
        tmp = Path(tmp)
        os.environ["FMKIT_HOME"] = str(tmp / "home")
        from detect import build_model as build_yolo, make_images

        (tmp / "yolo").mkdir()
        yolo = str(build_yolo(tmp / "yolo"))
        n = 16 if args.smoke else 256
        images = make_images(tmp, n)
        if args.smoke:
            from tiny_sd import build_sd
            from tiny_text_models import build_gpt2

            gpt2, sd = str(build_gpt2(tmp / "gpt2")), str(build_sd(tmp / "sd"))
            size, steps, tokens, imgsz = 32, 2, 16, 320
        else:
            from generate import build_gpt2_124m
            from sd15_random import sd15_folder

            gpt2, sd = str(build_gpt2_124m(tmp / "gpt2")), str(sd15_folder())
            size, steps, tokens, imgsz = 512, 25, 128, 640
        fk = fmkit.Session(profile="gpu", offline=True, device=device)
        bench_generate(fk, gpt2, device, tokens)
        bench_diffuse(fk, sd, device, size, steps)
        bench_detect(fk, yolo, images, n, imgsz)


if __name__ == "__main__":
    main()
