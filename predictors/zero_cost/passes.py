"""Shared passes: proxies that need the same forward/backward work get it computed once.

A :class:`ProxyContext` holds one graph, one minibatch and the options (seed, dtype). It builds the
initialized module once (``ctx.module``) and, on first request, runs one *data pass* that provides
everything the requested proxies declared in ``needs`` (:data:`~.base.NEEDS`):

1. one forward of the minibatch in training mode (batch-norm uses batch statistics, as in the
   reference code), with forward hooks recording Conv2d/Linear outputs (``act_grads``) and the
   NASWOT kernel of every ReLU's binary code (``relu_kernel``);
2. ``input_jacobian``: ``d sum(logits) / d x`` (retaining the graph);
3. one cross-entropy backward to the Conv2d/Linear weights and recorded outputs
   (``weight_grads``, ``act_grads``); when GraSP is requested it keeps the graph of this gradient
   (``create_graph``) and computes ``H g`` from it (``hessian_grad``). GraSP's reference
   implementation runs a second forward for this; in training mode it is the same computation on
   the same batch, so one forward serves both.

Every forward of a proxy runs inside :func:`~.fast_ops.fast_ops` (faster CPU kernels of equal
value: avg-pool as a depthwise convolution; with GraSP, closed-form double backward of
convolution, batch-norm and ReLU, several times faster than autograd's).

Proxies that change the network (synflow: absolute weights without batch-norm in float64; zen:
Gaussian re-initialization) build their own copy with :meth:`ProxyContext.fresh_module`.

Timing: every shared pass is timed once. A proxy's time is its own work plus the full time of the
shared passes it used, i.e. what computing it would cost with its passes; proxies that share a
pass therefore have overlapping times (their sum exceeds the wall time of computing them together).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, TypeVar

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from archbench.errors import ArchbenchError

from .base import weight_layers
from .data import Minibatch
from .fast_ops import fast_ops, input_gradients_only

if TYPE_CHECKING:
    from archbench.graphs.cg import ComputationGraph
    from archbench.graphs.torch_module import GraphModule

T = TypeVar("T")

#: ReLU-family layers whose activation codes NASWOT counts (NASLib hooks every module whose type
#: name contains "ReLU").
RELU_LAYERS: tuple[type[nn.Module], ...] = (nn.ReLU, nn.ReLU6, nn.LeakyReLU)

DTYPES: dict[str, torch.dtype] = {"float32": torch.float32, "float64": torch.float64}


def resolve_dtype(dtype: "str | torch.dtype") -> torch.dtype:
    """``"float32"``/``"float64"`` (or the torch dtype) -> torch dtype."""
    if isinstance(dtype, torch.dtype):
        if dtype in DTYPES.values():
            return dtype
    elif dtype in DTYPES:
        return DTYPES[dtype]
    raise ArchbenchError(f"dtype must be one of {', '.join(DTYPES)}, found {dtype!r}")


@dataclass
class DataPass:
    """What the shared data pass computed (only the entries some proxy asked for are set).

    Attributes:
        weights: the Conv2d/Linear weights, in module order.
        weight_grads: per weight, ``d CE / d W`` (None where the loss does not depend on it).
        hessian_grads: per weight, ``H g`` with ``g = d CE / d W`` held constant (None as above).
        fisher_terms: per Conv2d/Linear output, ``0.5 * mean_n (sum_spatial a * dCE/da)^2`` per channel,
            times the weights per output channel (``prod(W.shape[1:])``): the reference code
            (zero-cost-nas, NASLib) gives each channel's saliency to every weight of the channel
            before summing.
        relu_kernel: NASWOT kernel ``K`` (N x N, float64) summed over ReLU layers.
        relu_layers: how many ReLU layers were hooked.
        jacobian: ``d sum(logits) / d x`` flattened per sample, ``(N, C*H*W)`` float64 numpy.
        num_classes: width of the logits.
    """

    weights: list[Tensor] = field(default_factory=list)
    weight_grads: list[Tensor | None] | None = None
    hessian_grads: list[Tensor | None] | None = None
    fisher_terms: list[Tensor] | None = None
    relu_kernel: np.ndarray | None = None
    relu_layers: int = 0
    jacobian: np.ndarray | None = None
    num_classes: int = 0


class ProxyContext:
    """One network, one minibatch and the options; computes shared passes lazily and once.

    Args:
        graph: the computation graph to score.
        batch: the minibatch (already checked against the graph).
        needs: union of the ``needs`` of the proxies to compute (decides what the data pass records).
        seed: seed of parameter initialization (and of zen's Gaussian draws).
        dtype: floating-point type of the module and batch for all but synflow (always float64).
        device: where to compute.
    """

    def __init__(self, graph: "ComputationGraph", batch: Minibatch, needs: frozenset[str], seed: int = 0,
                 dtype: "str | torch.dtype" = "float32", device: "str | torch.device" = "cpu") -> None:
        self.graph, self.batch, self.needs, self.seed = graph, batch, frozenset(needs), int(seed)
        self.dtype, self.device = resolve_dtype(dtype), torch.device(device)
        self._cache: dict[str, object] = {}
        self.pass_seconds: dict[str, float] = {}
        self._used: set[str] = set()

    # ---- shared-pass bookkeeping ------------------------------------------------------------------
    def _shared(self, name: str, compute: Callable[[], T]) -> T:
        self._used.add(name)
        if name not in self._cache:
            t0 = time.perf_counter()
            self._cache[name] = compute()
            self.pass_seconds[name] = time.perf_counter() - t0
        return self._cache[name]  # type: ignore[return-value]

    def start_proxy(self) -> None:
        """Begin attributing shared-pass use to the next proxy."""
        self._used = set()

    def used_passes(self) -> set[str]:
        return set(self._used)

    # ---- modules ------------------------------------------------------------------------------------
    def fresh_module(self, dtype: "torch.dtype | None" = None) -> "GraphModule":
        """A newly built, seeded module (identical initial weights every call)."""
        from archbench.graphs.torch_module import to_module

        module = to_module(self.graph, seed=self.seed)
        if getattr(module, "_needs_edge_index", False) or getattr(module, "node_level", False):
            raise ArchbenchError(
                f"zero-cost proxies score image-classification networks (input C x H x W, logits per sample); "
                f"{self.graph.space}:{self.graph.encoding!r} has graph convolutions over an input graph")
        # channels_last: the same arithmetic, about twice as fast for CPU convolutions.
        return module.to(device=self.device, dtype=dtype or self.dtype, memory_format=torch.channels_last)

    @property
    def module(self) -> "GraphModule":
        """The initialized module shared by the proxies that do not change it."""
        return self._shared("module", self.fresh_module)

    def inputs(self, dtype: "torch.dtype | None" = None) -> tuple[Tensor, Tensor]:
        """The minibatch on the context's device, images in ``dtype`` (default: the context's)."""
        x = self.batch.x.to(device=self.device, dtype=dtype or self.dtype)
        return x.contiguous(memory_format=torch.channels_last), self.batch.y.to(device=self.device)

    def data_pass(self) -> DataPass:
        """The shared forward/backward results for this context's ``needs`` (computed once)."""
        module = self.module
        return self._shared("data", lambda: run_data_pass(module, *self.inputs(), self.needs))


class _ReluCodes:
    """Forward hook adding each ReLU layer's NASWOT kernel to ``kernel`` (a one-element list, float64).

    With binary codes ``c = [x > 0]`` of a layer's input, the layer adds ``c c^T + (1 - c)(1 - c)^T
    = 2 c c^T - s_i - s_j + D`` (``s`` = row sums, ``D`` = units): one float32 matmul, exact since
    every entry is an integer below 2^24. The code is read as ``sign`` of the output (ReLU and
    ReLU6 outputs are positive exactly where the input is), in the tensor's own memory order (the
    kernel does not depend on the order of units). Several ReLUs applied to the same tensor (NB201
    cells apply ReLU-conv to one node on several edges) have the same codes: computed once.
    """

    def __init__(self, kernel: list) -> None:
        self.kernel = kernel
        self._recent: list[tuple[Tensor, Tensor]] = []  # (input tensor, its kernel term), latest first

    def hook(self, m: nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> None:
        x = inputs[0]
        k = next((k for t, k in self._recent if t is x), None)
        if k is None:
            k = _code_kernel(x, output if type(m) in (nn.ReLU, nn.ReLU6) else None)
            # Keeping the tensor alive (a few at most) makes the identity test safe.
            self._recent = [(x, k)] + self._recent[:3]
        self.kernel.append(k if not self.kernel else self.kernel.pop() + k)

    def clear(self) -> None:
        self._recent = []


def _code_kernel(x: Tensor, relu_out: Tensor | None) -> Tensor:
    """NASWOT kernel term ``c c^T + (1 - c)(1 - c)^T`` of the codes ``c = [x > 0]`` (float64, N x N)."""
    with torch.no_grad():
        src = relu_out if relu_out is not None else x.clamp(min=0)
        if src.dim() == 4 and src.is_contiguous(memory_format=torch.channels_last) and not src.is_contiguous():
            src = src.permute(0, 2, 3, 1)  # a view in memory order
        c = src.detach().reshape(src.shape[0], -1).to(torch.float32).sign()
        cc = c @ c.t()
        if not bool(torch.isfinite(cc).all()):  # NaN inputs (sign(NaN) is NaN, but [NaN > 0] is 0)
            c = (x.detach().reshape(x.shape[0], -1) > 0).to(torch.float32)
            cc = c @ c.t()
        s = c.sum(1, dtype=torch.float64)
        return 2 * cc.to(torch.float64) - s[:, None] - s[None, :] + c.shape[1]


def run_data_pass(module: nn.Module, x: Tensor, y: Tensor, needs: frozenset[str]) -> DataPass:
    """One forward and the backward passes ``needs`` asks for (see the module doc)."""
    module.train()
    layers = list(weight_layers(module))
    out = DataPass(weights=[layer.weight for layer in layers])
    want_w = bool(needs & {"weight_grads", "hessian_grad"})
    want_hg = "hessian_grad" in needs
    want_act = "act_grads" in needs
    want_jac = "input_jacobian" in needs
    want_k = "relu_kernel" in needs

    acts: list[Tensor] = []
    per_channel: list[int] = []  # weights per output channel of the layer of each act
    kernel: list[Tensor] = []
    hooks = []
    if want_act:
        def keep(m: nn.Module, inputs: Any, output: Tensor) -> None:  # returns None: the output is kept as is
            acts.append(output)
            per_channel.append(m.weight[0].numel())

        for layer in layers:
            hooks.append(layer.register_forward_hook(keep))
    if want_k:
        codes = _ReluCodes(kernel)
        for m in module.modules():
            if isinstance(m, RELU_LAYERS):
                hooks.append(m.register_forward_hook(codes.hook))
                out.relu_layers += 1
    try:
        x = x.detach().requires_grad_(want_jac)
        # GraSP differentiates this graph twice: record it with lean double-backward layers.
        with fast_ops(second_order=want_hg):
            logits = module(x)
    finally:
        for h in hooks:
            h.remove()
        if want_k:
            codes.clear()
    out.num_classes = int(logits.shape[1])
    if want_k:
        out.relu_kernel = kernel[0].cpu().numpy() if kernel else np.zeros((x.shape[0], x.shape[0]))
    need_loss_grad = want_w or want_act
    if want_jac:
        with input_gradients_only():
            (jac,) = torch.autograd.grad(logits, x, grad_outputs=torch.ones_like(logits), retain_graph=need_loss_grad)
        out.jacobian = jac.detach().flatten(1).to(torch.float64).cpu().numpy()
    if need_loss_grad:
        loss = F.cross_entropy(logits, y)
        targets = (out.weights if want_w else []) + acts
        grads = torch.autograd.grad(loss, targets, allow_unused=True, create_graph=want_hg)
        wg = list(grads[:len(targets) - len(acts)])
        ag = grads[len(targets) - len(acts):]
        if want_hg:
            # GraSP: z = sum_l g_l(const) . g_l ; d z / d W = H g.
            z = sum((g.detach() * g).sum() for g in wg if g is not None)
            if isinstance(z, Tensor) and z.requires_grad:
                out.hessian_grads = list(torch.autograd.grad(z, out.weights, allow_unused=True))
            else:  # no weight influences the loss through a differentiable path
                out.hessian_grads = [None] * len(out.weights)
        if want_w:
            out.weight_grads = [None if g is None else g.detach() for g in wg]
        if want_act:
            terms = []
            for a, g, weights_per_channel in zip(acts, ag, per_channel):
                if g is None:
                    continue
                prod = a.detach() * g.detach()
                g_nk = prod.sum(dim=tuple(range(2, prod.dim()))) if prod.dim() > 2 else prod
                terms.append(0.5 * g_nk.pow(2).mean(0) * weights_per_channel)
            out.fisher_terms = terms
    return out
