"""dlib's face-recognition ResNet (``dlib_face_recognition_resnet_model_v1.dat``) run with numpy.

The dlib-bin wheel is built without BLAS, so its network runs its own matrix code: about 60 ms per face on
our 2-core CPU, more than half of the whole face pass (benchmarks/results/faces_speed.md). The same weights
run as im2col + one BLAS matrix product per layer (numpy's OpenBLAS) take about 8 ms per face and give the
same 128-d encodings (differences below 1e-5, checked against dlib in tests/test_faces_resnet.py), so the
match threshold calibrated on dlib's encodings holds unchanged.

The model file is read, not trusted: dlib serialises each layer as its name, its parameter tensor (version
2: four dimensions, then raw little-endian float32) and its settings. We read the layers in file order
(input side first) and check the whole architecture of dlib's example ``anet_type``; any other file is
refused with a message that names the layer that differs. Reading takes ~30 ms.

Architecture (dlib/examples/dnn_face_recognition_ex.cpp): con 7x7/2 (32) + affine + relu, max pool 3x3/2,
then residual blocks ``relu(x + affine(con(relu(affine(con(x))))))`` at 32 (x3), 64 (down + x3),
128 (down + x2), 256 (down + x2), 256 (down); a down block's shortcut is a 2x2/2 average pool, and the sum
takes the larger of the two shapes with the missing part read as zero (dlib's ``add_prev``). Then the mean
over the map and a 256x128 matrix. Inputs: 150x150 RGB chips, ``(pixel - channel mean) / 256``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
import re

import numpy as np

CHIP_PX = 150
# input_rgb_image_sized<150>: per-channel means subtracted before dividing by 256
_MEAN_RGB = np.array([122.782, 117.001, 104.298], np.float32)
# Faces per matrix product: larger batches are slower per face here (im2col buffers leave the cache).
_BATCH = 8
# Residual stages after the stem: (filters, down-sampling first block?, blocks)
_STAGES = ((32, False, 3), (64, True, 4), (128, True, 3), (256, True, 3), (256, True, 1))
# A layer starts with its name as a dlib string: 0x01, the length, the characters.
_NAME_RE = re.compile(rb"\x01([\x04-\x0a])(con_4|affine_|max_pool_2|avg_pool_2|fc_2)")


class ModelFileError(ValueError):
    """The encoder model file is not the dlib ResNet this module implements."""


@dataclass(frozen=True)
class _Conv:
    weights: np.ndarray  # (kh * kw * C, N): im2col layout, the following affine layer folded in
    bias: np.ndarray  # (N,)
    kernel: int
    stride: int
    pad: int


def _read_int(data: bytes, i: int) -> tuple[int, int]:
    """dlib's integer: one byte (bit 7: negative, low 4 bits: byte count), then the bytes little-endian."""
    head = data[i]
    n = head & 0x0F
    value = int.from_bytes(data[i + 1:i + 1 + n], "little")
    return (-value if head & 0x80 else value), i + 1 + n


def _read_tensor(data: bytes, i: int, where: str) -> tuple[np.ndarray, int]:
    version, i = _read_int(data, i)
    if version != 2:
        raise ModelFileError(f"{where}: tensor format version {version}, expected 2")
    dims, i = _read_ints(data, i, 4)
    n = int(np.prod(dims))
    if n <= 0 or i + 4 * n > len(data):
        raise ModelFileError(f"{where}: tensor of {dims} does not fit in the file")
    return np.frombuffer(data, "<f4", n, i).astype(np.float32), i + 4 * n


def _read_ints(data: bytes, i: int, count: int) -> tuple[list[int], int]:
    out = []
    for _ in range(count):
        v, i = _read_int(data, i)
        out.append(v)
    return out, i


def _layers(data: bytes, path: Path) -> list[tuple[str, object]]:
    """The parameter-carrying and pooling layers in file order (input side first)."""
    out, i = [], 0
    for m in _NAME_RE.finditer(data):
        at, name = m.start(), m.group(2)
        if at < i or m.group(1)[0] != len(name):  # inside a tensor already read, or not a name
            continue
        i = m.end()
        where = f"{path} at byte {at} ({name.decode()})"
        if name == b"con_4":
            params, i = _read_tensor(data, i, where)
            (filters, kh, kw, sy, sx, py, px), i = _read_ints(data, i, 7)
            channels = (params.size - filters) // max(filters * kh * kw, 1)
            if filters <= 0 or kh != kw or sy != sx or py != px or channels * filters * kh * kw + filters != params.size:
                raise ModelFileError(f"{where}: inconsistent convolution {filters}x{kh}x{kw}, {params.size} values")
            w = params[:-filters].reshape(filters, channels, kh, kw)
            out.append(("con", (w, params[-filters:], sy, py)))
        elif name == b"affine_":
            params, i = _read_tensor(data, i, where)
            half = params.size // 2
            out.append(("affine", (params[:half], params[half:])))
        elif name in (b"max_pool_2", b"avg_pool_2"):
            (nr, nc, sy, sx, py, px), i = _read_ints(data, i, 6)
            out.append((name.decode()[:3] + "pool", (nr, sy, py)))
        else:
            (outputs, inputs), i = _read_ints(data, i, 2)
            params, i = _read_tensor(data, i, where)
            if params.size != outputs * inputs:
                raise ModelFileError(f"{where}: {params.size} values for a {inputs}x{outputs} matrix")
            out.append(("fc", params.reshape(inputs, outputs)))
    return out


class DlibResNet:
    """``encode(chips)``: (B, 150, 150, 3) uint8 RGB face chips (dlib ``get_face_chips``, padding 0.25) ->
    (B, 128) float32 encodings, equal to dlib's ``face_recognition_model_v1`` within float rounding."""

    def __init__(self, path: str | Path):
        path = Path(path)
        layers = _layers(path.read_bytes(), path)
        pos = 0

        def take(kind: str, what: str):
            nonlocal pos
            if pos >= len(layers) or layers[pos][0] != kind:
                found = layers[pos][0] if pos < len(layers) else "end of file"
                raise ModelFileError(f"{path}: layer {pos} is {found}, expected {kind} ({what}); this reader "
                                     "knows dlib_face_recognition_resnet_model_v1 only (faces.encoder_runtime: dlib "
                                     "runs any dlib model)")
            pos += 1
            return layers[pos - 1][1]

        def conv(what: str, filters: int, stride: int, kernel: int = 3) -> _Conv:
            w, b, s, pad = take("con", what)
            gamma, beta = take("affine", what)
            if w.shape[0] != filters or w.shape[2] != kernel or s != stride or gamma.size != filters:
                raise ModelFileError(f"{path}: {what}: found {w.shape} stride {s}, expected {filters} filters "
                                     f"{kernel}x{kernel} stride {stride}")
            folded = (w * gamma[:, None, None, None]).transpose(2, 3, 1, 0).reshape(-1, filters)
            return _Conv(np.ascontiguousarray(folded, np.float32), (b * gamma + beta).astype(np.float32),
                         kernel, stride, pad)

        self.stem = conv("stem", 32, 2, kernel=7)
        if take("maxpool", "stem pool") != (3, 2, 0):
            raise ModelFileError(f"{path}: stem pool is not 3x3 stride 2")
        self.blocks: list[tuple[_Conv, _Conv, bool]] = []
        for filters, down, count in _STAGES:
            for k in range(count):
                first = down and k == 0
                what = f"block {len(self.blocks)} ({filters} filters)"
                a = conv(what, filters, 2 if first else 1)
                b = conv(what, filters, 1)
                if first and take("avgpool", what) != (2, 2, 0):
                    raise ModelFileError(f"{path}: {what}: shortcut pool is not 2x2 stride 2")
                self.blocks.append((a, b, first))
        take("avgpool", "global average")
        self.fc = np.ascontiguousarray(take("fc", "output"), np.float32)
        if self.fc.shape != (256, 128) or pos != len(layers):
            raise ModelFileError(f"{path}: output layer {self.fc.shape} or {len(layers) - pos} extra layers")

    def encode(self, chips: np.ndarray) -> np.ndarray:
        chips = np.asarray(chips)
        if chips.ndim != 4 or chips.shape[1:] != (CHIP_PX, CHIP_PX, 3):
            raise ValueError(f"expected (B, {CHIP_PX}, {CHIP_PX}, 3) face chips, found {chips.shape}")
        if not len(chips):
            return np.zeros((0, 128), np.float32)
        return np.concatenate([self._forward(chips[i:i + _BATCH]) for i in range(0, len(chips), _BATCH)])

    def _forward(self, chips: np.ndarray) -> np.ndarray:
        x = (chips.astype(np.float32) - _MEAN_RGB) * np.float32(1 / 256)
        x = _relu(_conv(x, self.stem))
        x = _pool(x, 3, 2, np.max)
        for a, b, down in self.blocks:
            y = _conv(_relu(_conv(x, a)), b)
            x = _relu(_add_grow(y, _pool(x, 2, 2, np.mean)) if down else y + x)
        return x.mean(axis=(1, 2)) @ self.fc


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0, out=x)


def _windows(x: np.ndarray, k: int, stride: int) -> np.ndarray:
    """(B, OH, OW, k, k, C) view of every k x k window of an NHWC array."""
    b, h, w, c = x.shape
    oh, ow = (h - k) // stride + 1, (w - k) // stride + 1
    s = x.strides
    return np.lib.stride_tricks.as_strided(x, (b, oh, ow, k, k, c),
                                           (s[0], s[1] * stride, s[2] * stride, s[1], s[2], s[3]), writeable=False)


def _conv(x: np.ndarray, layer: _Conv) -> np.ndarray:
    if layer.pad:
        p = layer.pad
        x = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    win = _windows(x, layer.kernel, layer.stride)
    b, oh, ow = win.shape[:3]
    cols = win.reshape(b * oh * ow, -1)
    out = cols @ layer.weights
    out += layer.bias
    return out.reshape(b, oh, ow, -1)


def _pool(x: np.ndarray, k: int, stride: int, op) -> np.ndarray:
    return op(_windows(x, k, stride), axis=(3, 4))


def _add_grow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a + b over the larger of their shapes, the part one of them lacks read as zero (dlib add_prev)."""
    out = np.zeros(tuple(max(p, q) for p, q in zip(a.shape, b.shape)), np.float32)
    out[:, :a.shape[1], :a.shape[2], :a.shape[3]] += a
    out[:, :b.shape[1], :b.shape[2], :b.shape[3]] += b
    return out
