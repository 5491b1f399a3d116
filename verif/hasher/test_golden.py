"""Golden sign-random-projection hashing and the xorshift32 stream it is built on."""

import pytest
import torch

from golden.config import ConfigError
from golden.hashing import HasherConfig, hamming, hash_bits, hash_tokens, pack_bits, projections
from golden.prng import xorshift32, xorshift32_stream


def test_xorshift32_known_values():
    # Marsaglia's xorshift32 (13, 17, 5) from state 1.
    assert xorshift32_stream(1, 3) == [270369, 67634689, 2647435461]
    assert xorshift32(0xFFFFFFFF) != 0 and xorshift32_stream(0, 1) == xorshift32_stream(1, 1)


def test_projections_are_signs_and_seeded():
    r = projections(32, 8, 5)
    assert r.shape == (8, 32) and set(r.unique().tolist()) == {-1, 1}
    assert torch.equal(r, projections(32, 8, 5)) and not torch.equal(r, projections(32, 8, 6))


def test_hash_bit_definition():
    g = torch.Generator().manual_seed(3)
    x = torch.randint(-128, 128, (50, 32), generator=g)
    r = projections(32, 16, 9)
    bits = hash_bits(x, 16, 9)
    for i in range(50):
        for b in range(16):
            assert bool(bits[i, b]) == (int((r[b] * x[i]).sum()) >= 0)
    assert hash_tokens(x, 16, 9).tolist() == pack_bits(bits)


def test_zero_vector_hashes_to_all_ones():
    assert pack_bits(hash_bits(torch.zeros(1, 8, dtype=torch.int64), 64, 1)) == [(1 << 64) - 1]


def test_similar_vectors_hash_closer_than_unrelated():
    g = torch.Generator().manual_seed(4)
    x = torch.randint(-100, 100, (200, 32), generator=g)
    near = x + torch.randint(-3, 4, x.shape, generator=g)
    far = torch.randint(-100, 100, x.shape, generator=g)
    a, b, c = (hash_bits(t, 64, 2) for t in (x, near, far))
    assert hamming(a, b).float().mean() < 0.5 * hamming(a, c).float().mean()


def test_hash_tokens_refuses_more_than_62_bits():
    with pytest.raises(ValueError, match="62"):
        hash_tokens(torch.zeros(1, 4, dtype=torch.int64), 64, 1)


@pytest.mark.parametrize("fields, words", [({"lanes": 5}, ["lanes=5", "dim=32"]), ({"bits": 0}, ["bits=0"]),
                                           ({"dim": 0}, ["dim=0"])])
def test_invalid_hasher_config(fields, words):
    with pytest.raises(ConfigError) as info:
        HasherConfig(**fields)
    assert all(w in str(info.value) for w in words)
