"""SearchSpace keys: config tags, arch ids of several network configs, and their parsing."""
from __future__ import annotations

import random

import pytest

from archbench.errors import EncodingError
from archbench.graphs.spaces import get_space, list_spaces
from archbench.graphs.spaces.base import CONFIG_SEP, split_arch_id


def test_default_config_keeps_the_plain_id_and_others_are_tagged():
    nb201 = get_space("nb201")
    arch = nb201.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|")
    key = nb201.arch_key(arch)
    assert nb201.default_config == "cifar10"
    assert nb201.arch_id(arch) == nb201.arch_id(arch, "cifar10") == f"nb201:{key}"
    assert nb201.arch_id(arch, "cifar100") == f"nb201@cifar100:{key}"
    assert nb201.config_tag() == "nb201" and nb201.config_tag("imagenet16-120") == "nb201@imagenet16-120"
    with pytest.raises(EncodingError, match="no network config 'cifar1000'; expected one of: cifar10, cifar100"):
        nb201.arch_id(arch, "cifar1000")


def test_split_arch_id_round_trips():
    darts = get_space("darts")
    arch = darts.sample(random.Random(0))
    for config in darts.configs:
        space, cfg, key = split_arch_id(darts.arch_id(arch, config))
        assert (space, key) == ("darts", darts.arch_key(arch))
        assert cfg == (None if config == darts.default_config else config)
    with pytest.raises(EncodingError, match="'space:key' or 'space@config:key', found 'nokey'"):
        split_arch_id("nokey")


@pytest.mark.parametrize("name", list_spaces())
def test_config_names_fit_in_keys_and_unit_names(name):
    # A config name becomes part of arch ids ("space@config:key") and of data-home unit names
    # ("space@config/source"), so it may not contain their separators.
    for config in get_space(name).configs:
        assert config and not any(sep in config for sep in (":", "/", CONFIG_SEP)), (name, config)
