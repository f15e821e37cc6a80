"""SAM, MobileSAM and SAM 2 on one image: the image encoder once, then every prompt's mask.

SAM's cost is its image encoder (a ViT, TinyViT or Hiera over a 1024x1024 input); the prompt
encoder and mask decoder that turn a point or box into a mask are cheap. `Ultralytics`'
`SAM(model)(image, bboxes=...)` re-reads, re-encodes and re-builds its predictor state on every
call and scales every mask of the call to full resolution at once. Here each image is encoded
once, ALL its prompts are decoded against that one embedding in batches of `prompt_batch`, and
each mask is scaled, thresholded and run-length encoded a few at a time (fmkit/segment/masks.py).

The maths are Ultralytics' own: its LetterBox (resize, pad bottom-right), its normalisation, its
prompt and mask modules, its `ops.scale_masks`; the encoder runs with Conv+BatchNorm folded and
in channels_last (same float32 results, oneDNN's faster kernels on a CPU). With segment.dtype
bfloat16 (auto, on a CPU that has it) or float16 (CUDA) the encoder and decoder run under
autocast (half the activations; masks move by a few edge pixels); masks are scaled in float32.

Everything mode (no prompt): a grid of points, three masks each, filtered at the decoder's low
resolution by predicted IoU and stability, de-duplicated by box NMS, the best `max_masks` kept;
only those are scaled to full resolution (Ultralytics scales every candidate first).
"""

from __future__ import annotations

from typing import Any, Sequence

from fmkit.segment.masks import records
from fmkit.segment.prompts import EVERYTHING, Box, Point
from fmkit.segment.results import Mask

MEAN, STD = (123.675, 116.28, 103.53), (58.395, 57.12, 57.375)  # SAM's pixel statistics (RGB, 0-255)
STABILITY_OFFSET = 0.95  # logit offset of the stability score (Ultralytics' default)


def fold_batchnorm(model) -> int:
    """Fold every BatchNorm2d that follows a Conv2d (TinyViT's Conv2d_BN) into the convolution:
    the same function, one pass over the activations fewer. Returns how many were folded."""
    import torch
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    folded = 0
    for module in model.modules():
        if not isinstance(module, torch.nn.Sequential):
            continue
        names = list(module._modules)
        for a, b in zip(names, names[1:]):
            conv, bn = module._modules[a], module._modules[b]
            if isinstance(conv, torch.nn.Conv2d) and isinstance(bn, torch.nn.BatchNorm2d):
                module._modules[a], module._modules[b] = fuse_conv_bn_eval(conv, bn), torch.nn.Identity()
                folded += 1
    return folded


class SamPredictor:
    """A loaded SAM-family model at one input size; `segment(boxed, shape, prompts)` is one image."""

    def __init__(self, model, family: str, device: str, imgsz: int, cfg, dtype: str = "float32"):
        import torch

        self.model, self.family, self.device, self.imgsz, self.cfg = model, family, device, imgsz, cfg
        self.dtype = torch.float32  # prompt coordinates
        self.autocast = {"device_type": device.split(":")[0], "dtype": getattr(torch, dtype),
                         "enabled": dtype != "float32"}  # the encoder and the decoder
        self.mean = torch.tensor(MEAN, device=device).view(3, 1, 1)
        self.std = torch.tensor(STD, device=device).view(3, 1, 1)

    def letterbox(self, image):
        """RGB (H, W, 3) uint8 -> the encoder's (imgsz, imgsz, 3) input: resized so the longer side
        fits, padded at the bottom and right (Ultralytics' LetterBox, as its SAM predictor uses)."""
        from ultralytics.data.augment import LetterBox

        return LetterBox(self.imgsz, auto=False, center=False)(image=image)

    def segment(self, boxed, shape: tuple[int, int], prompts: Sequence[Point | Box]) -> list[Mask]:
        """One letterboxed image and its prompts -> one Mask per prompt (everything mode without)."""
        import torch

        with torch.inference_mode():
            features = self.encode(boxed)
            gain = min(self.imgsz / shape[0], self.imgsz / shape[1])
            with torch.autocast(**self.autocast):  # the decoder too: half its activations, ~25% faster
                if prompts:
                    low, scores = self._prompted(features, prompts, gain)
                    meta = [p.to_dict() for p in prompts], [getattr(p, "label", None) for p in prompts]
                    keep_empty = True
                else:
                    low, scores = self._everything(features, shape, gain)
                    meta, keep_empty = ([EVERYTHING] * len(scores), [None] * len(scores)), False
            return records(lambda part: self._full_res(low[part], shape, gain), len(scores), shape,
                           scores.float().tolist(), *meta, keep_empty=keep_empty)

    # --- the two halves of SAM -----------------------------------------------------------------

    def encode(self, boxed) -> Any:
        """(imgsz, imgsz, 3) uint8 -> the image embedding (SAM 2: a dict with its high-res features)."""
        import torch

        x = torch.from_numpy(boxed).to(self.device).permute(2, 0, 1).float()
        x = ((x - self.mean) / self.std)[None].contiguous(memory_format=torch.channels_last)
        if self.family != "sam2":
            with torch.autocast(**self.autocast):
                return self.model.image_encoder(x).float()
        m = self.model  # as Ultralytics' SAM2Predictor.get_im_features
        with torch.autocast(**self.autocast):
            backbone = m.forward_image(x)
        backbone = {k: [t.float() for t in v] if isinstance(v, list) else v.float() for k, v in backbone.items()}
        _, feats, _, _ = m._prepare_backbone_features(backbone)
        if m.directly_add_no_mem_embed:
            feats[-1] = feats[-1] + m.no_mem_embed
        sizes = [(self.imgsz // 4, self.imgsz // 4), (self.imgsz // 8, self.imgsz // 8),
                 (self.imgsz // 16, self.imgsz // 16)]
        maps = [f.permute(1, 2, 0).reshape(1, -1, *size) for f, size in zip(feats, sizes)]
        return {"image_embed": maps[-1], "high_res_feats": maps[:-1]}

    def decode(self, features, points=None, labels=None, boxes=None, multimask: bool = False):
        """Prompts in encoder-input pixels -> (low-res mask logits (N, d, h, w), scores (N, d)).
        points (N, k, 2) with labels (N, k), or boxes (N, 4): one mask (d = 1) or three per prompt."""
        import torch

        m = self.model
        if self.family != "sam2":
            sparse, dense = m.prompt_encoder(points=(points, labels) if points is not None else None, boxes=boxes,
                                             masks=None)
            return m.mask_decoder(image_embeddings=features, image_pe=m.prompt_encoder.get_dense_pe(),
                                  sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                                  multimask_output=multimask)
        if boxes is not None:  # SAM 2 takes a box as its two corners, labelled 2 and 3
            points = boxes.view(-1, 2, 2)
            labels = torch.tensor([[2, 3]], dtype=torch.int32, device=boxes.device).expand(len(points), -1)
        sparse, dense = m.sam_prompt_encoder(points=(points, labels), boxes=None, masks=None)
        low, scores, _, _ = m.sam_mask_decoder(
            image_embeddings=features["image_embed"], image_pe=m.sam_prompt_encoder.get_dense_pe(),
            sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense, multimask_output=multimask,
            repeat_image=len(points) > 1, high_res_features=features["high_res_feats"])
        return low, scores

    # --- prompts --------------------------------------------------------------------------------

    def _decode_points(self, features, points, multimask: bool = False):
        """(N, 2) foreground points, one prompt each -> decode()'s (low-res logits, scores)."""
        import torch

        pts = points[:, None, :]
        return self.decode(features, pts, torch.ones(pts.shape[:2], dtype=torch.int32, device=self.device),
                           multimask=multimask)

    def _batches(self, n: int):
        step = self.cfg.prompt_batch
        return (slice(i, min(n, i + step)) for i in range(0, n, step))

    def _prompted(self, features, prompts: Sequence[Point | Box], gain: float):
        """One mask per prompt, in prompt order: points decoded together, boxes together."""
        import torch

        lows, scores = [None] * len(prompts), [None] * len(prompts)
        for kind in (Point, Box):
            idx = [i for i, p in enumerate(prompts) if isinstance(p, kind)]
            if not idx:
                continue
            coords = [[p.x, p.y] for p in map(prompts.__getitem__, idx)] if kind is Point else \
                [prompts[i].coords for i in idx]
            coords = torch.tensor(coords, dtype=self.dtype, device=self.device) * gain
            for part in self._batches(len(idx)):
                if kind is Point:
                    low, score = self._decode_points(features, coords[part])
                else:
                    low, score = self.decode(features, boxes=coords[part])
                for j, i in enumerate(idx[part]):
                    lows[i], scores[i] = low[j, 0], score[j, 0]
        return torch.stack(lows), torch.stack(scores)

    def _everything(self, features, shape: tuple[int, int], gain: float):
        """A grid of point prompts, three masks each; the good, distinct ones (module docstring)."""
        import torch
        from ultralytics.models.sam.amg import build_point_grid

        cfg = self.cfg
        grid = torch.as_tensor(build_point_grid(cfg.points_per_side), dtype=self.dtype, device=self.device)
        points = grid * torch.tensor([shape[1] * gain, shape[0] * gain], dtype=self.dtype, device=self.device)
        kept_low, kept_scores = [], []
        for part in self._batches(len(points)):
            low, score = self._decode_points(features, points[part], multimask=True)
            low, score = low.flatten(0, 1), score.flatten(0, 1)
            good = (score >= cfg.min_score) & (_stability(low) >= cfg.min_stability)
            kept_low.append(low[good])
            kept_scores.append(score[good])
            if sum(len(s) for s in kept_scores) > 4 * cfg.max_masks:  # bound the candidates held
                low, score = self._distinct(torch.cat(kept_low), torch.cat(kept_scores))
                kept_low, kept_scores = [low], [score]
        return self._distinct(torch.cat(kept_low), torch.cat(kept_scores))

    def _distinct(self, low, scores):
        """Box NMS over candidate masks (at low resolution), the best `max_masks` kept, best first."""
        import torchvision
        from ultralytics.models.sam.amg import batched_mask_to_box

        if len(scores) == 0:
            return low, scores
        boxes = batched_mask_to_box(low > self.model.mask_threshold).float()
        keep = torchvision.ops.nms(boxes, scores.float(), self.cfg.nms_iou)[: self.cfg.max_masks]
        return low[keep], scores[keep]

    def _full_res(self, low, shape: tuple[int, int], gain: float):
        """Low-res logits (k, h, w) -> (k, H, W) bool masks of the original image, as Ultralytics'
        SAM predictor scales them (the padded part of the input cut off)."""
        from ultralytics.utils import ops

        ratio = [round(o * gain) * m / self.imgsz / o for o, m in zip(shape, low.shape[1:])]
        scaled = ops.scale_masks(low[None].float(), shape, (ratio, (0, 0)), padding=False)[0]
        return scaled > self.model.mask_threshold


def _stability(low):
    """SAM's stability score: IoU of the mask thresholded a little above and a little below."""
    from ultralytics.models.sam.amg import calculate_stability_score

    return calculate_stability_score(low.float(), 0.0, STABILITY_OFFSET)
