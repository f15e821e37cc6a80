"""GPU benchmark: every lesson on the gpu profile, against the plain library on the same GPU.

Nothing can be downloaded on the GPU machine, so the models are built here with real shapes and
random weights: GPT-2 124M (benchmarks/generate.py), Stable Diffusion 1.5 (benchmarks/sd15_random.py,
~4.3 GB, built once into benchmarks/.cache), yolo11n (benchmarks/detect.py). Side by side, one run:

    generate  fmkit.Session(profile="gpu").generate, greedy 128 tokens   vs transformers.pipeline on cuda
    diffuse   fmkit diffuse (gpu profile as shipped) 512x512, 25 steps   vs StableDiffusionPipeline float16
              s/image after warm-up, peak VRAM, first image of a process (cold / cached compile),
              compiled vs uncompiled pixels
    memory    VRAM capped at 8, 4, 2, 1.5 GiB: fmkit's plan vs the plain pipeline resident, with
              model offload, with sequential offload (10 steps)
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


ROUNDS = 3  # medians of this many runs (1 in a smoke run: it checks the code, it measures nothing)


def _median(measure) -> float:
    return statistics.median(measure() for _ in range(ROUNDS))


def _rate(tokens: int, run) -> float:
    _sync()
    start = time.perf_counter()
    run()
    _sync()
    return tokens / (time.perf_counter() - start)


def bench_generate(fk, model: str, device: str, tokens: int, batch: int) -> None:
    """Greedy decoding, batch 1 and batch `batch`: fmkit (gpu profile: float16, the lean GPT-2 step
    replayed as a CUDA graph) vs transformers.pipeline, medians of 3, each measured side by side."""
    import torch
    from transformers import pipeline

    prompts = [f"Star Trek {i}" for i in range(batch)]
    fk.generate("Star Trek", model=model, max_new_tokens=4, greedy=True, seed=1)  # load + warm up

    def fmkit_run(texts):
        done = fk.generate(texts, model=model, max_new_tokens=tokens, greedy=True, seed=1, batch_size=len(texts))
        assert all(g.new_tokens == tokens for g in done), "EOS before the budget: rates would be off"

    pipe = pipeline("text-generation", model=model, device=device,
                    dtype=torch.float16 if device.startswith("cuda") else torch.float32)
    pipe.tokenizer.pad_token_id = pipe.model.config.eos_token_id
    pipe.tokenizer.padding_side = "left"
    pipe("Star Trek", max_new_tokens=4, do_sample=False)

    def pipe_run(texts):
        out = pipe(texts if len(texts) > 1 else texts[0], max_new_tokens=tokens, min_new_tokens=tokens,
                   do_sample=False, batch_size=len(texts))
        assert out

    for rows in (1, batch):
        texts = prompts[:rows]
        f = _median(lambda: _rate(tokens * rows, lambda: fmkit_run(texts)))
        b = _median(lambda: _rate(tokens * rows, lambda: pipe_run(texts)))
        print(f"generate  GPT-2 124M greedy {tokens} tokens, batch {rows:>2}: fmkit {f:8.1f} tokens/s, "
              f"pipeline {b:8.1f} tokens/s; fmkit vs pipeline: {f / b:.2f}x")
    del pipe
    fk.close()


COLD_FMKIT = """
import sys, time
t0 = time.perf_counter()
import torch, fmkit
t1 = time.perf_counter()
fk = fmkit.Session(profile="gpu", offline=True, device=sys.argv[2])
run = fk.iter_generate("Star Trek", model=sys.argv[1], max_new_tokens=20, greedy=True, seed=1, stream=True)
pieces = iter(run)
next(pieces)  # loads the model, then the first token
t2 = time.perf_counter()
for _ in pieces:
    pass
t3 = time.perf_counter()
print(f"imports {t1 - t0:.1f} s, load + first token {t2 - t1:.1f} s, 19 more tokens {t3 - t2:.2f} s")
"""
COLD_PIPELINE = """
import sys, torch
from transformers import pipeline
pipe = pipeline("text-generation", model=sys.argv[1], device=sys.argv[2],
                dtype=torch.float16 if sys.argv[2] == "cuda" else torch.float32)
print(pipe("Star Trek", max_new_tokens=20, do_sample=False)[0]["generated_text"][:40])
"""


def bench_cold_generate(model: str, device: str) -> None:
    """A first command in a fresh process, as a student types it: `fmkit generate` vs a pipeline
    script doing the same, wall time; and where fmkit's time goes (imports, load + first token, rest)."""
    import subprocess

    fmkit_bin = str(Path(sys.executable).parent / "fmkit")
    walls: dict[str, list[float]] = {"fmkit generate": [], "pipeline script": []}
    for _ in range(min(ROUNDS, 2)):
        for name, cmd in (("fmkit generate", [fmkit_bin, "generate", "Star Trek", "-n", "20", "--greedy", "--model",
                                              model, "--device", device, "--profile", "gpu", "--quiet"]),
                          ("pipeline script", [sys.executable, "-c", COLD_PIPELINE, model, device])):
            start = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            walls[name].append(time.perf_counter() - start)
    phases = subprocess.run([sys.executable, "-c", COLD_FMKIT, model, device], check=True, capture_output=True,
                            text=True).stdout.strip()
    f, b = min(walls["fmkit generate"]), min(walls["pipeline script"])
    print(f"generate  cold process, 20 tokens: fmkit generate {f:.1f} s, pipeline script {b:.1f} s "
          f"(best of {min(ROUNDS, 2)} each); fmkit vs pipeline: {b / f:.2f}x faster; fmkit's phases: {phases}")


def _diffuse_process(folder: str, device: str, size: int, steps: int, images: int, home: Path, out: Path,
                     sets: tuple[str, ...] = ()) -> dict:
    """`fmkit diffuse` in a fresh process on the gpu profile as shipped (FMKIT_HOME = `home`, where the
    compile cache lives): wall seconds to its first image, each image's render seconds and peak, its PNGs."""
    import json
    import subprocess

    out.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "fmkit", "diffuse", *["a photo of a cat"] * images, "--model", folder, "--profile",
           "gpu", "--device", device, "--offline", "--seed", "2", "--steps", str(steps), "--height", str(size),
           "--width", str(size), "--json", "-o", str(out / "image.png"), *sum((["--set", s] for s in sets), [])]
    env = {**os.environ, "FMKIT_HOME": str(home), "HF_HUB_OFFLINE": "1",  # this checkout's fmkit, installed or not
           "PYTHONPATH": os.pathsep.join([str(HERE.parent), *filter(None, [os.environ.get("PYTHONPATH")])])}
    env.pop("TORCHINDUCTOR_CACHE_DIR", None)  # fmkit's own cache under `home`, not this process's
    with open(out / "stderr.txt", "w") as err:
        start = time.perf_counter()
        child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, env=env, cwd=out)
        rows, first = [], None
        for line in child.stdout:
            rows.append(json.loads(line))
            first = first or time.perf_counter() - start
        if child.wait() != 0:
            raise SystemExit(f"fmkit diffuse failed:\n{(out / 'stderr.txt').read_text()[-3000:]}")
    return {"first_image_s": first, "rows": rows, "paths": [out / Path(r["path"]).name for r in rows],
            "notes": (out / "stderr.txt").read_text().strip()}


def _max_pixel_difference(a: Path, b: Path) -> int:
    import numpy as np
    from PIL import Image

    with Image.open(a) as x, Image.open(b) as y:
        return int(np.abs(np.asarray(x, dtype=np.int16) - np.asarray(y, dtype=np.int16)).max())


def bench_diffuse(fk, folder: str, device: str, size: int, steps: int) -> None:
    """Guidance 7.5 (the gpu profile's), `steps` steps at size x size, seed 2, side by side:
    the plain StableDiffusionPipeline in float16, resident (SDPA: diffusers' default), in this
    process: median s/image after a warm-up, peak VRAM. fmkit's gpu profile as shipped, in fresh
    processes (`fmkit diffuse`, as a student runs it): the first image of a process with a cold
    compile cache, s/image after it, the first image of a second process reusing the cache
    ($FMKIT_HOME/compile-cache), and the same images uncompiled (--set diffuse.compile=false),
    whose pixels the compiled ones must match within float16 tolerance."""
    import torch
    from diffusers import StableDiffusionPipeline

    fk.close()
    _peak_reset()
    dtype = torch.float16 if device.startswith("cuda") else torch.float32
    pipe = StableDiffusionPipeline.from_pretrained(folder, dtype=dtype, safety_checker=None).to(device)
    pipe.set_progress_bar_config(disable=True)
    pipe("a photo of a cat", num_inference_steps=1, height=size, width=size, guidance_scale=7.5)  # warm-up

    def plain_image() -> float:
        _sync()
        start = time.perf_counter()
        pipe("a photo of a cat", num_inference_steps=steps, height=size, width=size, guidance_scale=7.5,
             generator=torch.Generator("cpu").manual_seed(2))
        _sync()
        return time.perf_counter() - start

    _peak_reset()
    base_s, base_peak = _median(plain_image), _peak_gb()
    del pipe
    gc.collect()
    _peak_reset()

    images, home = ROUNDS + 1, Path(os.environ["FMKIT_HOME"])  # this run's fresh home: a cold compile cache
    with tempfile.TemporaryDirectory(prefix="fmkit-bench-diffuse-") as tmp:
        tmp = Path(tmp)
        cold = _diffuse_process(folder, device, size, steps, images, home, tmp / "cold")
        warm = _diffuse_process(folder, device, size, steps, 1, home, tmp / "warm")
        eager = _diffuse_process(folder, device, size, steps, images, tmp / "home-eager", tmp / "eager",
                                 ("diffuse.compile=false",))
        diff = max(_max_pixel_difference(a, b) for a, b in zip(cold["paths"], eager["paths"]))
    cache_files = sum(1 for p in (home / "compile-cache").rglob("*") if p.is_file())
    after = cold["rows"][1:]
    fmkit_s = statistics.median(r["seconds"] for r in after)
    eager_s = statistics.median(r["seconds"] for r in eager["rows"][1:])
    fmkit_peak = max(r["peak_memory_mb"] for r in after) * 2**20 / 1e9 if device.startswith("cuda") else float("nan")
    plan = cold["rows"][0]["memory_plan"]
    print(f"diffuse   SD 1.5 shape {size}x{size}, {steps} steps, guidance 7.5, s/image after warm-up (median of "
          f"{len(after)}): fmkit gpu profile {fmkit_s:.2f} s [plan {plan['strategy']}, est. peak "
          f"{plan['estimated_peak_mb'] / 1024:.2f} GiB; savers {cold['rows'][0]['strategy']}] (peak VRAM "
          f"{fmkit_peak:.2f} GB), plain pipeline {'float16' if dtype == torch.float16 else 'float32'} resident "
          f"{base_s:.2f} s (peak VRAM {base_peak:.2f} GB); fmkit vs plain: speed-up {base_s / fmkit_s:.2f}x "
          f"(target >= 1.8x and <= 0.45 s on an H100/H200)")
    print(f"diffuse   first image of a fresh `fmkit diffuse` process: {cold['first_image_s']:.1f} s with a cold "
          f"compile cache (target <= 60 s), {warm['first_image_s']:.1f} s reusing it ({cache_files} files under "
          f"$FMKIT_HOME/compile-cache; target <= 15 s); fmkit uncompiled {eager_s:.2f} s/image, first image "
          f"{eager['first_image_s']:.1f} s")
    print(f"diffuse   compiled vs uncompiled images, same seeds: max pixel difference {diff}/255 "
          f"(float16 tolerance: <= 8)")


CAPS_GIB = (8, 4, 2, 1.5)


def _plain_row(folder: str, device: str, size: int, steps: int, how: str) -> tuple[float, float]:
    """The plain float16 pipeline resident, with model offload or with sequential offload: (s/image after a
    one-step warm-up, peak GB); raises the library's out-of-memory error when it does not fit."""
    import torch
    from diffusers import StableDiffusionPipeline

    dtype = torch.float16 if device.startswith("cuda") else torch.float32
    pipe = StableDiffusionPipeline.from_pretrained(folder, dtype=dtype, safety_checker=None)
    pipe.set_progress_bar_config(disable=True)
    try:
        if how == "resident":
            pipe.to(device)
        elif how == "model offload":
            pipe.enable_model_cpu_offload(device=device)
        else:
            pipe.enable_sequential_cpu_offload(device=device)
        pipe("a photo of a cat", num_inference_steps=1, height=size, width=size, guidance_scale=7.5)
        _peak_reset()
        _sync()
        start = time.perf_counter()
        pipe("a photo of a cat", num_inference_steps=steps, height=size, width=size, guidance_scale=7.5,
             generator=torch.Generator("cpu").manual_seed(2))
        _sync()
        return time.perf_counter() - start, _peak_gb()
    finally:
        pipe.remove_all_hooks()
        del pipe
        gc.collect()
        _peak_reset()


def bench_memory_caps(folder: str, device: str, size: int, steps: int) -> None:
    """Per memory cap (CUDA: torch.cuda.set_per_process_memory_fraction; a CPU has no cap, so there
    the cap is runtime.max_memory), side by side: fmkit's gpu profile as shipped (max_memory auto:
    the planner reads the capped budget), and the plain float16 pipeline resident, with model
    offload and with sequential offload; s/image after a warm-up and peak, or OOM."""
    import fmkit
    from fmkit.errors import is_out_of_memory

    cuda = device.startswith("cuda")
    if cuda:
        import torch

        total = torch.cuda.get_device_properties(0).total_memory
    said: set[str] = set()
    failed: set[str] = set()  # plain rows that ran out of memory at a larger cap: they will again

    def notify(message: str) -> None:  # each notice once, on stderr
        if message not in said:
            said.add(message)
            print(message, file=sys.stderr)

    print(f"memory    caps on {device}, SD 1.5 shape {size}x{size}, {steps} steps, guidance 7.5"
          + ("" if cuda else " (CPU: no cap, the budget is passed as runtime.max_memory; peaks are the process's)"))
    try:
        for cap in CAPS_GIB:
            if cuda:
                torch.cuda.empty_cache()
                torch.cuda.set_per_process_memory_fraction(cap * 2**30 / total)
            sets = {} if cuda else {"runtime.max_memory": f"{cap}GiB"}
            fk = fmkit.Session(profile="gpu", offline=True, device=device, set=sets, notify=notify)
            try:
                fk.diffuse("a photo of a cat", model=folder, seed=2, steps=1, height=size, width=size)  # warm-up
                _peak_reset()
                _sync()
                start = time.perf_counter()
                [r] = fk.diffuse("a photo of a cat", model=folder, seed=2, steps=steps, height=size, width=size)
                _sync()
                ours = time.perf_counter() - start
                ours_peak = r.peak_memory_mb * 2**20 / 1e9
                row = (f"{ours:.2f} s/image, peak {ours_peak:.2f} GB{'' if cuda else ' RSS'}  [{r.strategy}"
                       + (f", after OOM with {r.fallback_from}" if r.fallback_from else "") + f"] {r.memory_plan['reason']}")
            except Exception as e:  # noqa: BLE001 - a benchmark row reports, it does not stop the others
                if not is_out_of_memory(e) and "out of memory" not in str(e):
                    raise
                ours, row = float("inf"), f"OOM ({str(e).splitlines()[0][:100]})"
            finally:
                fk.close()
            print(f"memory    {cap:>4} GiB  fmkit gpu profile          {row}")
            fits = {}
            for how in ("resident", "model offload", "sequential offload"):
                if not cuda and how != "resident":
                    print(f"memory    {cap:>4} GiB  plain {how:<20} n/a (needs CUDA)")
                    continue
                if how in failed:
                    print(f"memory    {cap:>4} GiB  plain {how:<20} OOM (at a larger cap)")
                    continue
                try:
                    seconds, peak = _plain_row(folder, device, size, steps, how)
                except Exception as e:  # noqa: BLE001
                    if not is_out_of_memory(e):
                        raise
                    failed.add(how)
                    print(f"memory    {cap:>4} GiB  plain {how:<20} OOM")
                    continue
                fits[how] = seconds
                print(f"memory    {cap:>4} GiB  plain {how:<20} {seconds:.2f} s/image, "
                      + (f"peak {peak:.2f} GB" if cuda else "peak: see the process RSS above"))
            if fits:
                best = min(fits, key=fits.get)
                print(f"memory    {cap:>4} GiB  fmkit vs the best plain that fits ({best}): {ours / fits[best]:.2f}x "
                      f"its time (target <= 1.2x)")
    finally:
        if cuda:
            torch.cuda.set_per_process_memory_fraction(1.0)
            torch.cuda.empty_cache()


def _images_per_second(count_images) -> float:
    _sync()
    start = time.perf_counter()
    n = count_images()
    _sync()
    return n / (time.perf_counter() - start)


def bench_detect(fk, model: str, images: Path, n: int, imgsz: int) -> None:
    """fmkit on the gpu profile as shipped vs YOLO(model).predict with its defaults, on the same
    folder; and where the time goes: decode + letterbox alone (the ceiling of any end-to-end
    rate), the model alone on ready frames, fmkit's half/batch variants, predict(half=True)."""
    from ultralytics import YOLO

    from fmkit.detect.detector import Detector
    from fmkit.io.sources import expand

    shipped = fk.settings_for("detect", model, {"imgsz": imgsz})
    detector = Detector(shipped)
    sources = list(expand([str(images)]))
    frames = detector.frames()
    batch = shipped.detect.batch_size

    def decode_only() -> int:
        return sum(len(w) for w in frames.batches(sources, batch))

    ready = [f for w in frames.batches(sources[:batch], batch) for f in w]

    def model_only() -> int:
        for _ in range(max(1, n // len(ready))):
            detector.detect_frames(ready)
        return max(1, n // len(ready)) * len(ready)

    def fmkit_rate(**options) -> float:
        list(fk.detect(sources[0].uri, model=model, imgsz=imgsz, **options))  # load + warm up
        return _median(lambda: _images_per_second(lambda: sum(1 for _ in fk.detect(images, model=model, imgsz=imgsz,
                                                                                    **options))))

    ceiling = _median(lambda: _images_per_second(decode_only))
    alone = _median(lambda: _images_per_second(model_only))
    ours = fmkit_rate()
    variants = {f"half={not shipped.detect.half}": fmkit_rate(half=not shipped.detect.half),
                "batch_size=1": fmkit_rate(batch_size=1), "batch_size=8": fmkit_rate(batch_size=8)}
    yolo = YOLO(model)
    device = detector.device

    def predict(**options) -> int:
        return sum(1 for _ in yolo.predict(str(images), imgsz=imgsz, verbose=False, stream=True, device=device,
                                           **options))

    predict()
    base = _median(lambda: _images_per_second(predict))
    base_half = _median(lambda: _images_per_second(lambda: predict(half=True)))
    print(f"detect    {'yolo11n shape' if n > 16 else 'tiny YOLO11'}, {n} photos at {imgsz}, gpu profile as shipped (half={shipped.detect.half}, "
          f"batch {batch}, {type(frames).__name__}): fmkit {ours:.1f} images/s, YOLO.predict {base:.1f}; "
          f"fmkit vs predict: {ours / base:.2f}x")
    print(f"detect    where the time goes: decode + letterbox alone {ceiling:.1f} images/s (the ceiling); "
          f"model alone on ready frames {alone:.1f} images/s; fmkit = {ours / ceiling:.2f} of the ceiling")
    print("detect    variants: " + ", ".join(f"fmkit {k} {v:.1f}" for k, v in variants.items())
          + f", predict(half=True) {base_half:.1f} images/s")


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
        from detect import make_images

        n = 8 if args.smoke else 256
        images = make_images(tmp, n)
        if args.smoke:
            from tiny_sd import build_sd
            from tiny_text_models import build_gpt2
            from tiny_yolo import build_yolo

            global ROUNDS
            ROUNDS = 1
            gpt2, sd, yolo = str(build_gpt2(tmp / "gpt2")), str(build_sd(tmp / "sd")), str(build_yolo(tmp / "yolo"))
            size, steps, tokens, imgsz = 32, 2, 16, 160
        else:
            from detect import build_model as build_yolo
            from generate import build_gpt2_124m
            from sd15_random import sd15_folder

            (tmp / "yolo").mkdir()
            gpt2, sd, yolo = str(build_gpt2_124m(tmp / "gpt2")), str(sd15_folder()), str(build_yolo(tmp / "yolo"))
            size, steps, tokens, imgsz = 512, 25, 128, 640
        said: set[str] = set()

        def notify(message: str) -> None:  # each notice once, on stderr
            if message not in said:
                said.add(message)
                print(message, file=sys.stderr)

        fk = fmkit.Session(profile="gpu", offline=True, device=device, notify=notify)
        # Quick rows first: if compiling the UNet outlasts gpu.sh's limit, these are printed already.
        bench_generate(fk, gpt2, device, tokens, batch=4 if args.smoke else 32)
        bench_detect(fk, yolo, images, n, imgsz)
        bench_cold_generate(gpt2, device)
        bench_diffuse(fk, sd, device, size, steps)
        bench_memory_caps(sd, device, size, steps if args.smoke else 10)


if __name__ == "__main__":
    main()
