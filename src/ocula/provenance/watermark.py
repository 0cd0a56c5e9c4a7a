"""Invisible watermarks: a short payload hidden in the pixels, with a check so that an
unmarked image is never read as marked.

Two methods, both from the ``invisible-watermark`` package's family:

- ``dwtDctSvd`` (default, 64 bits): the package's DWT-DCT-SVD scheme — the largest singular
  value of each 4x4 DCT block of the Haar approximation of the U (chroma) channel is
  quantised to carry one bit, bits repeating over the whole image. Implemented here on whole
  arrays of blocks (the package loops over blocks in Python: 5-10x slower, see
  bench/_provenance_bench.py) and kept bit-compatible with it: marks written here are read by ``imwatermark.WatermarkDecoder`` and
  the other way round. Two defects of the package's encoder are not copied: it swaps the
  horizontal and vertical detail bands when rebuilding the chroma plane, and it truncates
  instead of rounding. Survives JPEG quality 75; does not survive crops or resizes.
- ``rivaGan`` (32 bits): the RivaGAN encoder/decoder ONNX models bundled in the package, run
  with onnxruntime (no torch). The network is run on a 256x256 copy and its residual is
  resized onto the full image, so the cost does not grow with the image size.

Payload coding (``encode_payload``): the data field (48 bits for dwtDctSvd, 16 for rivaGan)
holds the text itself when its UTF-8 fits (6 or 2 bytes), otherwise the first bytes of its
SHA-256, which a detector can compare against a candidate text. A CRC-16 over the data,
xored with a constant that says which of the two forms it is, fills the rest; the whole
codeword is xored with a fixed pseudo-random mask so that flat or grey images, whose blocks
all read the same bit, do not decode to a valid codeword. A payload counts as found only
when the CRC holds and the per-bit vote is clearly stronger than chance.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..errors import InvalidArgument, InvalidImage

METHODS = ("dwtDctSvd", "rivaGan")
Method = Literal["dwtDctSvd", "rivaGan"]
BITS = {"dwtDctSvd": 64, "rivaGan": 32}
MIN_PIXELS = 256 * 256  # the package refuses smaller images; fewer blocks would vote per bit

# dwtDctSvd parameters, as in imwatermark (scales=[0, 36, 0], block=4): only U is marked.
_SCALE = 36.0
_BLOCK = 4
# How clear the bit votes must be (mean |vote| over bits, 0 = chance, 1 = every block sure).
# Unmarked photos score ~0.05-0.2, marked ones ~0.75, and ~0.5-0.7 after JPEG q75. Flat grey
# images score high without a mark (every block votes alike): the CRC turns those away.
_MIN_STRENGTH = {"dwtDctSvd": 0.3, "rivaGan": 0.7}
_CHASE = 3  # least sure bits the decoder may flip
_RIVA_SIZE = 256
_RIVA_THRESHOLD = 0.52  # imwatermark's decision threshold on the decoder output

_CRC_XOR = {"text": 0x6F63, "hash": 0x9A5B}  # tells a verbatim text from a hash
_U_TO_RGB = np.array([0.0, -0.395, 2.032], dtype=np.float32)  # OpenCV's YUV: dR, dG, dB per dU


def _whitening(nbits: int) -> np.ndarray:
    digest = hashlib.sha256(b"ocula invisible watermark v1").digest()
    return np.unpackbits(np.frombuffer(digest, dtype=np.uint8))[:nbits]


def _crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def _check_method(method: str) -> Method:
    if method not in METHODS:
        raise InvalidArgument(f"unknown watermark method {method!r}; choose one of: {', '.join(METHODS)}")
    return method  # type: ignore[return-value]


def data_bytes(method: str) -> int:
    """Bytes of payload the method carries (the rest of its bits are the check)."""
    return (BITS[_check_method(method)] - 16) // 8


def _data_for(text: str, nbytes: int) -> tuple[bytes, Literal["text", "hash"]]:
    raw = text.encode("utf-8")
    if len(raw) <= nbytes and b"\x00" not in raw:
        return raw.ljust(nbytes, b"\x00"), "text"
    return hashlib.sha256(raw).digest()[:nbytes], "hash"


def encode_payload(text: str, method: str = "dwtDctSvd") -> tuple[np.ndarray, Literal["text", "hash"]]:
    """The bits to embed for ``text`` and whether it is stored verbatim or as a hash."""
    if not isinstance(text, str) or text == "":
        raise InvalidArgument("the watermark payload must be a non-empty text")
    nbytes = data_bytes(method)
    data, kind = _data_for(text, nbytes)
    crc = _crc16(data) ^ _CRC_XOR[kind]
    word = np.unpackbits(np.frombuffer(data + crc.to_bytes(2, "big"), dtype=np.uint8))
    return word ^ _whitening(word.size), kind


@dataclass
class Decoded:
    """What the bits say: a payload when the check holds and the votes are clear, else nothing."""

    found: bool
    kind: Literal["text", "hash"] | None
    data: bytes | None
    text: str | None
    strength: float = 0.0
    check_ok: bool = False
    corrected: int = 0
    word: bytes | None = None  # the bits as embedded (packed), when found: the C2PA soft-binding value


def _check(bits: np.ndarray, nbytes: int) -> tuple[Literal["text", "hash"] | None, bytes, str | None]:
    word = np.packbits(bits ^ _whitening(bits.size)).tobytes()
    data, crc = word[:nbytes], int.from_bytes(word[nbytes:nbytes + 2], "big")
    kind = next((k for k, x in _CRC_XOR.items() if _crc16(data) ^ x == crc), None)
    text = None
    if kind == "text":
        try:
            text = data.rstrip(b"\x00").decode("utf-8")
        except UnicodeDecodeError:  # a chance CRC match on garbage
            kind = None
        if text == "":
            kind = None
    return kind, data, text


def decode_soft(soft: np.ndarray, method: str) -> Decoded:
    """Decode per-bit votes in -1..1. Besides the hard decision, the words with the
    ``_CHASE`` least sure bits flipped are tried (Chase decoding), fewest flips first: a JPEG
    often breaks one or two weak bits. Each extra word tried is another chance for noise to
    pass the CRC (2 forms x 2^-16 each), so with 8 words an unmarked image passes with
    probability ~2.4e-4 before the vote-strength threshold, which rejects most of the rest."""
    method = _check_method(method)
    soft = np.asarray(soft, dtype=np.float64)
    nbytes = data_bytes(method)
    strength = float(np.mean(np.abs(soft)))
    hard = (soft > 0).astype(np.uint8)
    weakest = np.argsort(np.abs(soft))[:_CHASE]
    flips = sorted(range(1 << _CHASE), key=lambda m: (bin(m).count("1"), m))
    for m in flips:
        bits = hard.copy()
        for i in range(_CHASE):
            if m >> i & 1:
                bits[weakest[i]] ^= 1
        kind, data, text = _check(bits, nbytes)
        if kind is not None:
            found = strength >= _MIN_STRENGTH[method]
            return Decoded(found, kind if found else None, data if found else None, text if found else None,
                           strength, True, bin(m).count("1"), np.packbits(bits).tobytes() if found else None)
    return Decoded(False, None, None, None, strength, False, 0)


def codeword(text: str, method: str = "dwtDctSvd") -> bytes:
    """The embedded bits of ``text``, packed: what C2PA's soft-binding assertion records."""
    return np.packbits(encode_payload(text, method)[0]).tobytes()


def soft_binding_alg(method: str) -> str:
    return f"org.ocula.imwatermark.{_check_method(method)}.v1"


def matches(decoded: Decoded, candidate: str, method: str) -> bool:
    """Whether a found payload is ``candidate`` (exactly, or by its hash for long texts)."""
    if not decoded.found or decoded.data is None:
        return False
    data, kind = _data_for(candidate, data_bytes(method))
    return kind == decoded.kind and data == decoded.data


# --- dwtDctSvd ------------------------------------------------------------------------

def _dct_matrix(n: int = _BLOCK) -> np.ndarray:
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    d = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    d[0] /= np.sqrt(2.0)
    return d  # orthonormal DCT-II, what cv2.dct computes


# vec(D B D^T) = (D kron D) vec(B) for row-major vec: a whole image of 4x4 DCTs is one matmul
_K = np.kron(_dct_matrix(), _dct_matrix())


def _usable(rgb: np.ndarray) -> tuple[int, int]:
    h, w = rgb.shape[:2]
    if h * w < MIN_PIXELS:
        raise InvalidArgument(f"the image is {w}x{h}; an invisible watermark needs at least "
                              f"{MIN_PIXELS} pixels (e.g. 256x256)")
    return h // 4 * 4, w // 4 * 4  # the package's crop: whole 2x2 Haar cells


def _coefficients(rgb: np.ndarray) -> tuple[np.ndarray, int, int, int, int]:
    """DCT coefficients of every 4x4 block of the Haar approximation of U, as (4, 4, n):
    one contiguous vector per coefficient, so the per-block maths below is plain vector
    arithmetic instead of n tiny matrix calls."""
    import cv2

    h, w = _usable(rgb)
    # OpenCV's 8-bit YUV, as the package reads it
    u = cv2.cvtColor(np.ascontiguousarray(rgb[:h, :w]), cv2.COLOR_RGB2YUV)[..., 1].astype(np.float32)
    ca = (u[0::2, 0::2] + u[0::2, 1::2] + u[1::2, 0::2] + u[1::2, 1::2]).astype(np.float64) * 0.5
    nr, nc = ca.shape[0] // _BLOCK, ca.shape[1] // _BLOCK
    blocks = ca[:nr * _BLOCK, :nc * _BLOCK].reshape(nr, _BLOCK, nc, _BLOCK).transpose(1, 3, 0, 2)
    coef = _K @ blocks.reshape(_BLOCK * _BLOCK, nr * nc)
    return coef.reshape(_BLOCK, _BLOCK, nr * nc), h, w, nr, nc


def _top_singular(c: np.ndarray, iters: int = 8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Largest singular value and its vectors of each 4x4 block (c: (4, 4, n)), by power
    iteration on C^T C from the DC direction; blocks that have not converged (two nearly equal
    singular values, rare in chroma) are redone with a full SVD."""
    n = c.shape[2]
    g = np.empty((4, 4, n))
    for i in range(4):
        for j in range(i, 4):
            g[i, j] = c[0, i] * c[0, j] + c[1, i] * c[1, j] + c[2, i] * c[2, j] + c[3, i] * c[3, j]
            g[j, i] = g[i, j]
    v = np.zeros((4, n))
    v[0] = 1.0
    for _ in range(iters):
        x = g[:, 0] * v[0] + g[:, 1] * v[1] + g[:, 2] * v[2] + g[:, 3] * v[3]
        v = x / np.maximum(np.sqrt((x * x).sum(0)), 1e-300)
    cv = c[:, 0] * v[0] + c[:, 1] * v[1] + c[:, 2] * v[2] + c[:, 3] * v[3]
    s0 = np.sqrt((cv * cv).sum(0))
    u = cv / np.maximum(s0, 1e-300)
    gv = g[:, 0] * v[0] + g[:, 1] * v[1] + g[:, 2] * v[2] + g[:, 3] * v[3]
    off = np.sqrt(((gv - s0 ** 2 * v) ** 2).sum(0)) > 1e-9 * np.maximum(s0 ** 2, 1.0)
    if off.any():
        uu, ss, vh = np.linalg.svd(c[:, :, off].transpose(2, 0, 1))
        s0[off], u[:, off], v[:, off] = ss[:, 0], uu[:, :, 0].T, vh[:, 0, :].T
    return s0, u, v


def _embed_dwt(rgb: np.ndarray, bits: np.ndarray) -> np.ndarray:
    coef, h, w, nr, nc = _coefficients(rgb)
    n = nr * nc
    want = bits[np.arange(n) % bits.size].astype(np.float64)
    s0, u, v = _top_singular(coef)
    target = (np.floor(s0 / _SCALE) + 0.25 + 0.5 * want) * _SCALE
    # only the largest singular value changes: the block moves by (s0' - s0) u0 v0^T
    dcoef = ((target - s0) * u)[:, None, :] * v[None, :, :]
    dblocks = (_K.T @ dcoef.reshape(_BLOCK * _BLOCK, n)).reshape(_BLOCK, _BLOCK, nr, nc)
    dca = np.zeros((h // 2, w // 2))
    dca[:nr * _BLOCK, :nc * _BLOCK] = dblocks.transpose(2, 0, 3, 1).reshape(nr * _BLOCK, nc * _BLOCK)
    # inverse Haar with the detail bands untouched: all four pixels of a cell move by dca / 2;
    # only G and B depend on U in OpenCV's YUV -> RGB
    out = rgb.copy()
    for ch in (1, 2):
        step = np.rint(dca * (0.5 * _U_TO_RGB[ch])).astype(np.int16)
        full = np.repeat(np.repeat(step, 2, axis=0), 2, axis=1)
        plane = out[:h, :w, ch].astype(np.int16) + full
        out[:h, :w, ch] = np.clip(plane, 0, 255).astype(np.uint8)
    return out


def _soft_dwt(rgb: np.ndarray, nbits: int) -> np.ndarray:
    """Per-bit vote in -1..1 (sign: the bit; size: how sure). Each block says how close its
    s0 sits to the centre of the 0 zone (1/4 of the step) or of the 1 zone (3/4)."""
    coef, *_ = _coefficients(rgb)
    s0, _, _ = _top_singular(coef)
    score = -np.sin(2.0 * np.pi * np.mod(s0, _SCALE) / _SCALE)
    idx = np.arange(score.size) % nbits
    return np.bincount(idx, weights=score, minlength=nbits) / np.bincount(idx, minlength=nbits)


# --- rivaGan --------------------------------------------------------------------------

def _resize(arr: np.ndarray, size: tuple[int, int], area: bool) -> np.ndarray:
    import cv2

    return cv2.resize(arr, size, interpolation=cv2.INTER_AREA if area else cv2.INTER_LINEAR)


def _embed_riva(rgb: np.ndarray, bits: np.ndarray, threads: int) -> np.ndarray:
    _usable(rgb)
    from ..backends import rivagan

    small = _resize(rgb, (_RIVA_SIZE, _RIVA_SIZE), area=True)
    marked = rivagan.encode(small, bits, threads)
    residual = marked - small.astype(np.float32)
    big = _resize(residual.astype(np.float32), (rgb.shape[1], rgb.shape[0]), area=False)
    return np.clip(np.rint(rgb.astype(np.float32) + big), 0, 255).astype(np.uint8)


def _logits_riva(rgb: np.ndarray, threads: int) -> np.ndarray:
    _usable(rgb)
    from ..backends import rivagan

    return rivagan.decode(_resize(rgb, (_RIVA_SIZE, _RIVA_SIZE), area=True), threads)


# --- public ---------------------------------------------------------------------------

def embed(rgb: np.ndarray, payload: str, method: str = "dwtDctSvd", *, threads: int = 1
          ) -> tuple[np.ndarray, Literal["text", "hash"]]:
    """A copy of ``rgb`` (HxWx3 uint8) carrying ``payload``."""
    method = _check_method(method)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise InvalidImage("<array>", f"expected an HxWx3 uint8 RGB array, got {rgb.shape} {rgb.dtype}")
    bits, kind = encode_payload(payload, method)
    if method == "dwtDctSvd":
        return _embed_dwt(rgb, bits), kind
    return _embed_riva(rgb, bits, threads), kind


def detect(rgb: np.ndarray, method: str = "dwtDctSvd", *, threads: int = 1) -> Decoded:
    """Read a payload from ``rgb``; ``found`` is False for an unmarked image."""
    method = _check_method(method)
    if method == "dwtDctSvd":
        soft = _soft_dwt(rgb, BITS[method])
    else:
        soft = np.tanh((_logits_riva(rgb, threads) - _RIVA_THRESHOLD) / 4.0)
    return decode_soft(soft, method)
