"""统一社会信用代码 checks (GB 32100-2015), with checksums worked out by hand."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stateasset.ledger.credit_code import (
    ALPHABET,
    check_character,
    credit_code_problem,
    is_valid_credit_code,
)

# Character values: '0'..'9' → 0..9, then A10 B11 C12 D13 E14 F15 G16 H17 J18 K19 L20 M21 N22
# P23 Q24 R25 T26 U27 W28 X29 Y30 (no I, O, S, V, Z).
# Weights: 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28.
#
# 91350100M000100Y43 (the public example from the brief):
#   9*1 + 1*3 + 3*9 + 5*27 + 0*19 + 1*26 + 0*16 + 0*17 + M(21)*20 + 0*29 + 0*25 + 0*13
#   + 1*8 + 0*24 + 0*10 + Y(30)*30 + 4*28
#   = 9 + 3 + 27 + 135 + 0 + 26 + 0 + 0 + 420 + 0 + 0 + 0 + 8 + 0 + 0 + 900 + 112 = 1640
#   1640 mod 31 = 1640 − 52*31 (1612) = 28;  31 − 28 = 3  → check character '3'.  Valid.
#
# 91440300708461136T:
#   9*1 + 1*3 + 4*9 + 4*27 + 0*19 + 3*26 + 0*16 + 0*17 + 7*20 + 0*29 + 8*25 + 4*13
#   + 6*8 + 1*24 + 1*10 + 3*30 + 6*28
#   = 9 + 3 + 36 + 108 + 0 + 78 + 0 + 0 + 140 + 0 + 200 + 52 + 48 + 24 + 10 + 90 + 168 = 966
#   966 mod 31 = 966 − 31*31 (961) = 5;  31 − 5 = 26 → T.  Valid.
#
# 000000000000000000: Σ = 0, 0 mod 31 = 0, 31 − 0 = 31 → written as 0.  Valid (the 31 → 0 case).
VALID = ["91350100M000100Y43", "91440300708461136T", "000000000000000000"]


@pytest.mark.parametrize("code", VALID)
def test_valid_codes_pass(code: str) -> None:
    assert credit_code_problem(code) is None
    assert is_valid_credit_code(code)


def test_check_character_worked_examples() -> None:
    assert check_character("91350100M000100Y4") == "3"
    assert check_character("91440300708461136") == "T"
    assert check_character("00000000000000000") == "0"
    # Σ = 1*1 = 1 → 31 − 1 = 30 → Y (the largest value).
    assert check_character("10000000000000000") == "Y"


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("91350100M000100Y4", "must have 18 characters, got 17"),
        ("91350100M000100Y433", "must have 18 characters, got 19"),
        ("", "must have 18 characters, got 0"),
        ("91350100I000100Y43", "character 'I' at position 9"),
        ("91350100M000100O43", "character 'O' at position 16"),
        ("Z1350100M000100Y43", "character 'Z' at position 1"),
        ("91350100M000100Y4S", "character 'S' at position 18"),
        ("91350100M-00100Y43", "character '-' at position 10"),
        ("91350100m000100Y43", r"character 'm' at position 9 .*\(use uppercase\)"),
        # One wrong checksum character, and one typo in the body (6 → 7 at position 13).
        ("91350100M000100Y44", "checksum character is '4', expected '3'"),
        ("91440300708471136T", "checksum character is 'T', expected "),
    ],
)
def test_bad_codes_say_why(code: str, reason: str) -> None:
    problem = credit_code_problem(code)
    assert problem is not None
    assert re.search(reason, problem)
    assert not is_valid_credit_code(code)


def test_typo_in_body_names_the_expected_checksum() -> None:
    # Position 10 of 91440300708461136T changed 0 → 1: Σ grows by 1*29 = 29 to 995;
    # 995 mod 31 = 3; 31 − 3 = 28 → W.
    assert credit_code_problem("91440300718461136T") == (
        "checksum character is 'T', expected 'W' (校验码错误，应为 'W')"
    )


def test_check_character_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="first 17 characters"):
        check_character("9135")
    with pytest.raises(ValueError, match="'O' at position 2"):
        check_character("9O350100M000100Y4")


codes17 = st.text(alphabet=ALPHABET, min_size=17, max_size=17)


@given(codes17)
def test_generated_codes_are_valid(first17: str) -> None:
    assert credit_code_problem(first17 + check_character(first17)) is None


@given(codes17, st.integers(0, 17), st.integers(1, 30))
def test_any_single_substitution_is_caught(first17: str, position: int, shift: int) -> None:
    # Weights are non-zero mod the prime 31, so changing one character always moves the sum.
    code = first17 + check_character(first17)
    wrong = ALPHABET[(ALPHABET.index(code[position]) + shift) % 31]
    typo = code[:position] + wrong + code[position + 1 :]
    assert credit_code_problem(typo) is not None
