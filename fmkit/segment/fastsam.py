"""FastSAM on one image: a YOLO-seg model (one class, "object") that segments everything in one
forward pass; prompts then pick among its masks, one mask per prompt (fmkit's rule, so every
prompt has exactly one answer as with SAM): a box takes the mask that overlaps it best (IoU), as
Ultralytics' FastSAM predictor does, and a point the most confident mask that covers it (there,
Ultralytics keeps every mask covering the point). A prompt no mask answers gets an empty mask.

Pre- and post-processing are Ultralytics' own (LetterBox, NMS, box scaling, process_mask_native);
masks are made at full resolution a few at a time (fmkit/segment/masks.py).
"""

from __future__ import annotations

from typing import Sequence

from fmkit.segment.masks import chunks, records
from fmkit.segment.prompts import EVERYTHING, Box, Point
from fmkit.segment.results import Mask


class FastSamPredictor:
    """A loaded FastSAM model; `segment(boxed, shape, prompts)` is one image."""

    def __init__(self, model, device: str, imgsz: int, cfg, dtype: str = "float32"):
        self.model, self.device, self.cfg = model, device, cfg
        self.half = dtype == "float16"  # autocast on CUDA
        self.stride = max(int(model.stride.max()), 32)
        self.imgsz = imgsz

    def letterbox(self, image):
        """RGB (H, W, 3) uint8 -> the smallest stride-aligned letterbox (as `yolo predict` makes)."""
        from ultralytics.data.augment import LetterBox

        return LetterBox(self.imgsz, auto=True, stride=self.stride)(image=image)

    def segment(self, boxed, shape: tuple[int, int], prompts: Sequence[Point | Box]) -> list[Mask]:
        import torch
        from ultralytics.utils import nms, ops

        x = torch.from_numpy(boxed).to(self.device).permute(2, 0, 1)[None]
        x = x.contiguous(memory_format=torch.channels_last)
        x = x.float() / 255
        with torch.inference_mode():
            with torch.autocast(self.device.split(":")[0], dtype=torch.float16, enabled=self.half):
                out = self.model(x)
            head = out[0] if isinstance(out[0], tuple) else out  # eval mode: ((detections, protos), raw)
            det = nms.non_max_suppression(head[0], self.cfg.fastsam_conf, self.cfg.nms_iou, max_det=self.cfg.max_masks,
                                          nc=len(self.model.names))[0].float()
            protos = head[1][0].float()
            boxes = ops.scale_boxes(x.shape[2:], det[:, :4].clone(), shape)

            def full_res(index):
                return ops.process_mask_native(protos, det[index, 6:], boxes[index], shape).bool()

            if not prompts:
                return records(lambda part: full_res(part), len(det), shape, det[:, 4].tolist(),
                               [EVERYTHING] * len(det), [None] * len(det), keep_empty=False)
            chosen = self._choose(full_res, len(det), shape, prompts)
            scores = [float(det[i, 4]) if i is not None else 0.0 for i in chosen]

            def picked(part):
                empty = torch.zeros((1, *shape), dtype=torch.bool, device=det.device)
                return torch.cat([full_res([i]) if i is not None else empty for i in chosen[part]])

            return records(picked, len(prompts), shape, scores, [p.to_dict() for p in prompts],
                           [getattr(p, "label", None) for p in prompts])

    def _choose(self, full_res, n: int, shape: tuple[int, int], prompts) -> list[int | None]:
        """The mask each prompt picks (index into the detections, best first), or None."""
        import torch

        height, width = shape
        best: list[tuple[float, int | None]] = [(0.0, None)] * len(prompts)
        for part in chunks(n, height, width):
            masks = full_res(part)
            areas = masks.sum(dim=(1, 2)).float()
            for k, p in enumerate(prompts):
                if isinstance(p, Point):
                    x, y = min(int(p.x), width - 1), min(int(p.y), height - 1)
                    hits = torch.nonzero(masks[:, y, x]).flatten()
                    if len(hits) and best[k][1] is None:  # detections come most confident first
                        best[k] = (1.0, part.start + int(hits[0]))
                    continue
                x1, y1 = max(int(p.x1), 0), max(int(p.y1), 0)
                x2, y2 = min(int(p.x2), width), min(int(p.y2), height)
                inside = masks[:, y1:y2, x1:x2].sum(dim=(1, 2)).float()
                iou = inside / ((x2 - x1) * (y2 - y1) + areas - inside).clamp_min(1.0)
                j = int(iou.argmax()) if len(iou) else None
                if j is not None and float(iou[j]) > best[k][0]:
                    best[k] = (float(iou[j]), part.start + j)
        return [i for _, i in best]
