"""The typed schema of a profile: every section, key, default, and what values are valid.

Built-in defaults live here and nowhere else; configs/*.toml only override them. Each key's
type is its default's type (a float key also takes an int). Kept free of heavy imports:
`fmkit profiles` and `--help` read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from fmkit.hardware import SIZE_PATTERN


def key(default: Any, help: str, *, choices: tuple | None = None,
        min: float | None = None, max: float | None = None, above: float | None = None,
        pattern: str | None = None) -> Any:
    """A profile key: its default, a one-line meaning, and its valid values (checked in one place);
    `pattern`: a regular expression the whole (stripped, lower-cased) string must match."""
    return field(default=default, metadata={"help": help, "choices": choices,
                                            "min": min, "max": max, "above": above, "pattern": pattern})


@dataclass(frozen=True)
class Runtime:
    device: str = key("auto", "auto | cpu | cuda | cuda:N | mps; auto picks cuda, then mps, then cpu",
                      pattern=r"auto|cpu|mps|cuda(:[0-9]{1,4})?")
    dtype: str = key("auto", "weights dtype: auto | float32 | bfloat16 | float16; auto = float16 on cuda, float32 elsewhere",
                     choices=("auto", "float32", "bfloat16", "float16"))
    threads: int = key(0, "CPU threads for torch; 0 = torch's default (all cores)", min=0, max=256)
    max_memory: str = key("auto", "auto | a size such as 4GiB, 1.5GiB, 800MiB or 6GB; the most memory fmkit may use: "
                          "auto = what the device has free (CUDA: mem_get_info; CPU: available RAM). Peak RSS on a "
                          "CPU (imports included), torch's allocator peak on CUDA. Read by the diffuse memory planner (the "
                          "lesson whose models outgrow a laptop); the other lessons' models are far smaller",
                          pattern=SIZE_PATTERN)


@dataclass(frozen=True)
class Bert:
    model: str = key("bert-base-uncased", "alias, hub id or folder of a BERT-family model")
    attention_max_tokens: int = key(64, "longest input `fmkit attention` shows; longer input is truncated with a notice", min=2)
    theme: str = key("light", "colours of attention heatmaps and the HTML viewer: light | dark", choices=("light", "dark"))
    tokenize_batch_size: int = key(1000, "lines `fmkit tokenize -` encodes at once (memory stays bounded)", min=1,
                                   max=100_000)
    positional_length: int = key(50, "positions `fmkit positional` shows", min=1, max=100_000)
    positional_dim: int = key(128, "width of the sinusoidal encoding `fmkit positional` draws (even)", min=2, max=8192)


@dataclass(frozen=True)
class Generate:
    model: str = key("gpt2", "alias, hub id or folder of a causal language model (GPT-2, Bloom, Falcon, GPT-J, "
                     "Llama) or a text-to-text one (FLAN-T5)")
    max_new_tokens: int = key(50, "tokens to generate per prompt (capped, with a notice, at the model's context)", min=1, max=100_000)
    do_sample: bool = key(True, "sample (true) or greedy decoding (false)")
    temperature: float = key(1.0, "sampling temperature, > 0 when sampling (ignored by greedy decoding)", min=0)
    top_k: int = key(50, "sample from the k most likely tokens; 0 = no limit", min=0)
    top_p: float = key(1.0, "nucleus sampling mass, in (0, 1]; 1 = off", above=0, max=1)
    repetition_penalty: float = key(1.0, "> 1 discourages repeats; 1 = off", min=1e-4, max=1e4)
    num_return_sequences: int = key(1, "sequences per prompt (needs sampling when > 1)", min=1, max=64)
    batch_size: int = key(8, "prompts generated together (left-padded)", min=1, max=1024)
    weights: str = key("auto", "how weights are held: auto = runtime.dtype | float32 | bfloat16 | "
                       "int8 = dynamic int8 quantisation of the Linear layers (CPU only, lossy, fastest)",
                       choices=("auto", "float32", "bfloat16", "int8"))
    int8_lm_head: bool = key(True, "with weights = int8, quantise the output layer too (faster, a little less exact)")
    threads: int = key(0, "CPU threads while generating; 0 = runtime.threads, or when that is 0 too: one per "
                          "core that is idle when generation starts (at least 1). Decoding is memory-bound: on an "
                          "idle 2-core CPU 2 threads beat 1, but when another process keeps a core busy, 2 threads "
                          "wait for each other and fall ~2x behind 1", min=0, max=256)


@dataclass(frozen=True)
class Diffuse:
    model: str = key("sd-turbo", "alias, hub id or folder of a Stable Diffusion pipeline")
    steps: int = key(4, "denoising steps", min=1, max=1000)
    guidance: float = key(0.0, "classifier-free guidance scale; 0 or 1 = off", min=0, max=100)
    height: int = key(512, "image height in pixels, a multiple of 8", min=8, max=8192)
    width: int = key(512, "image width in pixels, a multiple of 8", min=8, max=8192)
    num_images: int = key(1, "images per prompt (seeds SEED, SEED+1, ...)", min=1, max=64)
    max_pixels: int = key(512 * 512, "largest height*width this profile allows", min=64, max=8192 * 8192)
    scheduler: str = key("default", "default, or a diffusers scheduler class name (e.g. EulerDiscreteScheduler)")
    safety_checker: bool = key(False, "run the pipeline's NSFW safety checker when it ships one")
    compute_dtype: str = key("auto", "dtype the pipeline computes in: auto | float32 | bfloat16 | float16; auto = "
                             "bfloat16 on a CPU with native bf16 (AVX-512 BF16/AMX), else runtime.dtype",
                             choices=("auto", "float32", "bfloat16", "float16"))
    strategy: str = key("auto", "memory strategy: auto = the fastest whose estimated peak fits runtime.max_memory | "
                                "resident | vae-tiling | model-offload | float8 | one-at-a-time | one-at-a-time-float8 | "
                                "sequential-offload "
                                "(one step of that ladder) | custom = the saver keys below, as set",
                        choices=("auto", "resident", "vae-tiling", "model-offload", "float8", "one-at-a-time",
                                 "one-at-a-time-float8", "sequential-offload", "custom"))
    # Memory savers, with strategy = "custom" only (an error otherwise): each maps onto one diffusers
    # call in fmkit/diffuse/memory.py.
    one_at_a_time: bool = key(False, "custom strategy: keep only the component in use in memory: text encoder, "
                                     "then UNet, then VAE, each loaded when needed and freed after")
    storage_dtype: str = key("none", "custom strategy: store weights in this dtype and upcast each layer to "
                                     "runtime.dtype when it runs (diffusers layerwise casting)",
                             choices=("none", "bfloat16", "float16", "float8_e4m3fn"))
    attention_slicing: str = key("off", "custom strategy: compute attention in slices: off | auto (half a head group "
                                        "at a time) | max (one slice at a time)", choices=("off", "auto", "max"))
    vae_slicing: bool = key(False, "custom strategy: decode the images of a batch one at a time (vae.enable_slicing)")
    vae_tiling: bool = key(False, "custom strategy: decode large images in overlapping tiles (vae.enable_tiling)")
    vae_tile_size: int = key(0, "custom strategy, with vae_tiling: tile size in pixels, a multiple of 64; 0 = the "
                                "VAE's own (its sample_size: 512 for SD 1.5, so a 512x512 image is one tile)", min=0)
    offload: str = key("none", "custom strategy: CPU offload: none | model | sequential (CUDA with accelerate only; "
                               "skipped elsewhere)", choices=("none", "model", "sequential"))
    compile: bool = key(False, "CUDA only, with any strategy that keeps the UNet whole in the compute dtype: "
                                "channels_last, fused QKV projections and torch.compile of the UNet's repeated "
                                "transformer blocks, cached under $FMKIT_HOME/compile-cache (the first image "
                                "of a process takes longer)")


@dataclass(frozen=True)
class Detect:
    model: str = key("yolo11n", "alias, weights file (.pt) or model yaml (random weights)")
    imgsz: int = key(640, "inference image size in pixels, a multiple of 32", min=32, max=8192)
    conf: float = key(0.25, "minimum confidence, in [0, 1]", min=0, max=1)
    iou: float = key(0.7, "NMS IoU threshold, in [0, 1]", min=0, max=1)
    max_det: int = key(300, "most detections per image", min=1, max=100_000)
    batch_size: int = key(8, "images per inference batch", min=1, max=1024)
    half: bool = key(False, "float16 inference (CUDA only; ignored elsewhere)")


@dataclass(frozen=True)
class Segment:
    """`fmkit segment`: Segment Anything through Ultralytics' models. Prompts (points, boxes, a
    detector's boxes) get one mask each; without a prompt a grid of points segments everything,
    and the `everything` keys below decide which of those masks are kept."""

    model: str = key("mobile_sam", "alias or checkpoint file: mobile_sam, sam2_t, sam2_b, sam_b (SAM state dicts, "
                                   "architecture from the file name or its tensors) or FastSAM-s (a YOLO-seg .pt)")
    imgsz: int = key(1024, "side of the square the image is resized into for the image encoder, rounded up to a "
                           "multiple of 64; SAM was trained at 1024, smaller is faster and coarser", min=64, max=4096)
    dtype: str = key("auto", "what SAM's encoder and prompt decoder compute in (autocast; masks are scaled and "
                             "thresholded in float32): auto = bfloat16 on a CPU with native bf16 (AVX-512 BF16/AMX), "
                             "float16 on CUDA, else float32 | float32 | bfloat16 | float16 (CUDA only)",
                     choices=("auto", "float32", "bfloat16", "float16"))
    prompt_batch: int = key(16, "prompts decoded together against one image embedding; memory grows with it "
                                "(MobileSAM at 768: ~10 MB per prompt)", min=1, max=4096)
    points_per_side: int = key(32, "everything (no prompt): an N x N grid of point prompts over the image",
                               min=1, max=128)
    min_score: float = key(0.88, "everything: keep masks whose predicted IoU (SAM's own quality score) is at least this",
                           min=0, max=1)
    min_stability: float = key(0.95, "everything: keep masks that barely change when the mask threshold moves "
                                     "(stability score, 0-1)", min=0, max=1)
    nms_iou: float = key(0.7, "everything: of two masks whose boxes overlap more than this IoU, keep the better",
                         min=0, max=1)
    max_masks: int = key(100, "everything: most masks per image (the best scores)", min=1, max=10_000)
    fastsam_conf: float = key(0.4, "FastSAM: minimum confidence of a mask (its scores run lower than SAM's)",
                              min=0, max=1)


@dataclass(frozen=True)
class Agent:
    """describe, imagine --verify and agent: the detector is detect.model, the image generator
    diffuse.model; this section names the chat model and the loops' own limits."""

    model: str = key("smollm2", "alias, hub id or folder of the chat model (a bigger one, e.g. a Qwen2.5 Instruct "
                                "hub id, reads Korean far better)")
    attempts: int = key(3, "imagine --verify: images drawn at most before giving up (new seed each)", min=1, max=100)
    describe_max_tokens: int = key(40, "describe: tokens the chat model may write for a caption (story: 3x)",
                                   min=1, max=4096)
    answer_max_tokens: int = key(60, "agent: tokens of its closing one-paragraph answer", min=1, max=4096)
    vocabulary: bool = key(True, "agent: add the bilingual verb/object vocabulary to the chat model's tool scores")
    calibrate: bool = key(True, "agent: subtract each tool name's prior (its score for an empty request)")


@dataclass(frozen=True)
class Cluster:
    """`fmkit detect --cluster`: where the Dask scheduler is and how work is cut up for it."""

    address: str = key("", "Dask scheduler for `fmkit detect`: tcp://host:8786, or local:N (N worker processes "
                           "on this machine, on 127.0.0.1); empty = no cluster, one process")
    chunk_size: int = key(16, "images per task sent to a worker (a multiple of detect.batch_size keeps batches "
                              "full; each task costs a few ms of scheduling)", min=1, max=100_000)
    threads_per_worker: int = key(1, "local:N only: tasks each worker process runs at once (torch's threads are "
                                     "split between them; `dask worker --nthreads` decides elsewhere)",
                                  min=1, max=256)


SECTIONS: dict[str, type] = {
    "runtime": Runtime,
    "bert": Bert,
    "generate": Generate,
    "diffuse": Diffuse,
    "detect": Detect,
    "segment": Segment,
    "agent": Agent,
    "cluster": Cluster,
}

TOP_LEVEL_KEYS = ("extends", "description")

# Command-line flags whose names differ from the key they set (messages name the flag the user typed).
OPTION_FLAGS = {"positional_length": "--length", "positional_dim": "--dim", "do_sample": "--greedy"}


def section_keys(section: str) -> dict[str, Any]:
    """Key name -> dataclass Field for one section."""
    return {f.name: f for f in fields(SECTIONS[section])}


def all_keys() -> list[str]:
    """Every valid dotted key, e.g. 'generate.max_new_tokens'."""
    return [f"{s}.{k}" for s in SECTIONS for k in section_keys(s)]
