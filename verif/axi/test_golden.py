"""The AXI read model's burst split and config checks (timing is checked against RTL)."""

import pytest

from golden.axi import AxiReaderConfig, AxiReadModel
from golden.config import ConfigError


def test_bursts_respect_max_burst_and_4k_boundary():
    model = AxiReadModel(AxiReaderConfig(data_width=64, max_burst=16, outstanding=2))
    assert model.bursts(0, 40) == [16, 16, 8]
    assert model.bursts(4096 - 16, 5) == [2, 3]            # 2 words to the boundary
    assert sum(model.bursts(4096 - 8, 600)) == 600
    for n in model.bursts(4096 - 8, 600):
        assert 1 <= n <= 16


def test_model_refuses_deep_outstanding():
    with pytest.raises(ValueError, match="outstanding <= 2"):
        AxiReadModel(AxiReaderConfig(outstanding=4))


@pytest.mark.parametrize("fields, word", [({"data_width": 48}, "power of two"), ({"max_burst": 0}, "max_burst=0"),
                                          ({"addr_width": 8}, "addr_width=8")])
def test_invalid_reader_config(fields, word):
    with pytest.raises(ConfigError, match=word):
        AxiReaderConfig(**fields)
