"""hw.common.bram's ECP5 memories (DP16KD instances whose output register is the read word's
register) against the generic memory and register, on Verilator with the behavioural DP16KD
model: every DP16KD configuration, blocks side by side with a partly used last one, random
writes, reads, enables and resets. Every shape is a pair in one harness, built and run once."""

from pathlib import Path

import pytest

from verif.common.bram_harness import BankCase, BankPair
from verif.common.primitive_pair import check_pairs

MODEL = Path(__file__).with_name("ecp5_dp16kd.v")
# The reuse unit's default bank (16 x 16384: 16 blocks of 16384 x 1) and smaller ones, one or
# more per DP16KD configuration (18, 9, 4, 2 bits; 36 bits for wider words up to 512 deep), a
# depth that is not a power of two, and widths that leave part of the last block unused
# (20 x 1000: 18 bits, then 2; 40 x 300: 36, then 4 of the 36-bit mode's low half); then the
# shapes of the other users: a score key or weighted-sum value word (d=32: 256 bits, 8 blocks
# of 36 bits, the last 4 bits wide), a MEMO lookup way (73 bits: the last block 1 bit) and the
# softmax e buffer at the default N=128 (23 x 512: one 36-bit block, 5 bits on port B); then the
# weighted sum's value buffer with its write registered, in the 36-bit and the 18-bit mode; then
# the CTA clusterer's centroid sums and value sums at the default config (488 x 32 and 480 x 32: 14
# blocks of 36 bits, the last 20 bits wide, 2 of them on port B, or 12, on port A only) and its
# token buffers, their writes registered (512 x 32, keys with values: the last block 8 bits;
# 288 x 32, queries with their scale: 8 blocks, all bits used).
CASES = [BankCase(16, 16384), BankCase(16, 256), BankCase(9, 2048), BankCase(5, 100), BankCase(7, 3000),
         BankCase(3, 8000), BankCase(20, 1000), BankCase(40, 300), BankCase(256, 256), BankCase(73, 128),
         BankCase(28, 128), BankCase(23, 512), BankCase(256, 256, write_registered=True),
         BankCase(20, 1000, write_registered=True), BankCase(488, 32), BankCase(480, 32),
         BankCase(512, 32, write_registered=True),
         BankCase(288, 32, write_registered=True)]


@pytest.mark.rtl
def test_ecp5_memories_equal_generic():
    check_pairs("bram_ecp5", CASES, BankPair, "bank_pairs", MODEL, "verif.common.tb_bram_ecp5")
