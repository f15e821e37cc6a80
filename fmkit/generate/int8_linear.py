"""A Linear layer with int8 weights, built straight from a float weight (torch.ao's numbers).

torch.ao's own dynamic-quantised Linear first packs an empty weight of the same size (0.2 s
for GPT-2's 50257x768 output layer alone), and GPT-2's transposed Conv1D weights would need a
float copy first; this builds the packed weight once, with the same observer and kernel, so
its outputs equal `quantize_dynamic`'s exactly (tests/test_generate_fast.py). Imported only
by the int8 path: it imports torch.
"""

from __future__ import annotations

from typing import Any

import torch


class Int8Linear(torch.nn.Module):
    """A Linear with int8 weights (one scale per tensor); activations quantised per call."""

    def __init__(self, packed: Any, out_features: int, in_features: int):
        super().__init__()
        self.packed, self.out_features, self.in_features = packed, out_features, in_features

    def forward(self, x: Any) -> Any:
        return torch.ops.quantized.linear_dynamic(x, self.packed, reduce_range=True).to(x.dtype)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, int8"


def int8_linear(weight: Any, bias: Any) -> Int8Linear:
    """An Int8Linear computing x @ weight.T + bias; `weight` is (out, in), any strides."""
    with torch.no_grad():
        observer = torch.ao.quantization.default_weight_observer()
        observer(weight)
        scale, zero_point = observer.calculate_qparams()
        qweight = torch.quantize_per_tensor(weight.detach(), float(scale), int(zero_point), torch.qint8)
        packed = torch.ops.quantized.linear_prepack(qweight.contiguous(), bias)
    return Int8Linear(packed, *weight.shape)
