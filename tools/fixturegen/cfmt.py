"""Small text helpers: deterministic numbers and the literal forms generated C uses."""

from __future__ import annotations

import hashlib
import math
import struct


class Rng:
    """xorshift64* : the same numbers on every Python version and platform."""

    def __init__(self, seed: int) -> None:
        self.s = (seed * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) & 0xFFFFFFFFFFFFFFFF or 1

    def next(self) -> int:
        s = self.s
        s ^= s >> 12
        s ^= (s << 25) & 0xFFFFFFFFFFFFFFFF
        s ^= s >> 27
        self.s = s
        return ((s * 0x2545F4914F6CDD1D) & 0xFFFFFFFFFFFFFFFF) >> 32

    def uniform(self) -> float:
        return self.next() / 4294967296.0

    def normalish(self) -> float:
        """Mean 0, variance 1 (sum of four uniforms)."""
        return (self.uniform() + self.uniform() + self.uniform() + self.uniform() - 2.0) * 1.7320508

    def int8s(self, n: int, std: float) -> list[int]:
        out = []
        for _ in range(n):
            v = int(round(self.normalish() * std))
            out.append(127 if v > 127 else (-127 if v < -127 else v))
        return out

    def floats(self, n: int, std: float) -> list[float]:
        return [f32(self.normalish() * std) for _ in range(n)]


def f32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]


def hexfloat(x: float) -> str:
    """A float32 value as a C hex-float literal without suffix: -0x1.058e08p-3."""
    x = f32(x)
    if x == 0.0:
        return "0x0p+0"
    h = float.hex(x)  # like '-0x1.058e080000000p-3'
    sign = "-" if h.startswith("-") else ""
    h = h.lstrip("-")
    mant, exp = h[2:].split("p")
    if "." in mant:
        whole, frac = mant.split(".")
        frac = frac.rstrip("0")
        mant = whole + ("." + frac if frac else "")
    return f"{sign}0x{mant}p{exp}"


def hexfloat_f(x: float) -> str:
    """Hex-float literal with the f suffix, for expressions."""
    return hexfloat(x) + "f"


def hex_i8(v: int) -> str:
    return f"+0x{v:02x}" if v >= 0 else f"-0x{-v:02x}"


def hex_i32(v: int) -> str:
    return f"+0x{v:08x}" if v >= 0 else f"-0x{-v:08x}"


def short_hash(*parts: object, n: int = 10) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:n]


def round16(n: int) -> int:
    return (n + 15) // 16 * 16


def quant_mult_shift(scale: float, shift: int) -> int:
    """Integer multiplier m with m / 2**shift ~= scale."""
    return max(1, int(round(scale * (1 << shift))))


def q31(scale: float) -> tuple[int, int]:
    """CMSIS-style (multiplier Q31 in [2^30, 2^31), shift) with scale = m * 2**shift / 2**31."""
    shift = math.floor(math.log2(scale)) + 1
    m = int(round(scale * 2.0 ** (31 - shift)))
    if m >= 1 << 31:
        m //= 2
        shift += 1
    return m, shift
