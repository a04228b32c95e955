"""Unified social credit code (统一社会信用代码, GB 32100-2015) checks.

Every entity is keyed by this code, so a mistyped one must be caught at the door: the 18th
character is a mod-31 checksum over the first 17, which detects any single wrong character.
Position rules (登记管理部门码, 机构类别码, 行政区划码) are deliberately not enforced.
"""

from __future__ import annotations

# 31 characters: digits and the uppercase letters without I, O, Z, S, V (easily misread).
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS: tuple[int, ...] = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
LENGTH = 18

_VALUE: dict[str, int] = {ch: i for i, ch in enumerate(ALPHABET)}


def _bad_character(text: str) -> str | None:
    for position, ch in enumerate(text, start=1):
        if ch not in _VALUE:
            hint = " (use uppercase)" if ch.upper() in _VALUE else ""
            return (
                f"character {ch!r} at position {position} is not allowed in a credit code "
                f"(统一社会信用代码不允许字符 {ch!r}，第{position}位){hint}"
            )
    return None


def check_character(first17: str) -> str:
    """Return the checksum character (校验码) for the first 17 characters of a credit code.

    check = 31 − (Σ value × weight mod 31), with 31 written as '0'. ValueError on a wrong
    length or a character outside the alphabet.
    """
    if len(first17) != LENGTH - 1:
        raise ValueError(f"need the first 17 characters of a credit code, got {len(first17)}")
    if problem := _bad_character(first17):
        raise ValueError(problem)
    total = sum(_VALUE[ch] * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def credit_code_problem(code: str) -> str | None:
    """Return why `code` is not a valid credit code, or None when it is.

    The reason names the length, the first bad character and its 1-based position, or the
    checksum character that was expected. The code is checked as given: callers strip and
    uppercase user input first if they want to be lenient.
    """
    if len(code) != LENGTH:
        return (
            f"credit code must have {LENGTH} characters, got {len(code)} "
            f"(统一社会信用代码应为18位，实为{len(code)}位)"
        )
    if problem := _bad_character(code):
        return problem
    expected = check_character(code[:-1])
    if code[-1] != expected:
        return (
            f"checksum character is {code[-1]!r}, expected {expected!r} "
            f"(校验码错误，应为 {expected!r})"
        )
    return None


def is_valid_credit_code(code: str) -> bool:
    """Return True when `code` passes length, alphabet and checksum."""
    return credit_code_problem(code) is None
