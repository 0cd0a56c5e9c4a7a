"""The model catalogue: every entry well-formed, package models usable and verified."""

from __future__ import annotations

import re

import pytest

from ocula.config import load_settings
from ocula.errors import ModelUnavailable, OfflineError, UnknownModel
from ocula.models import CATALOG, get_spec, list_specs, pull, require, status
from ocula.models.resolve import verify


def test_every_spec_is_complete():
    for spec in list_specs():
        assert spec.license and spec.task and spec.runtime
        assert spec.kind in ("package", "hub", "system", "http")
        if spec.kind == "hub" and spec.revision:
            assert re.fullmatch(r"[0-9a-f]{40}", spec.revision), spec.name
        if spec.kind == "package":
            assert spec.files and all(f.sha256 for f in spec.files), spec.name


@pytest.mark.parametrize("name", ["efficientnet-lite0", "rapidocr-ppocrv4", "mtcnn", "haar-frontalface", "brisque"])
def test_offline_defaults_usable_and_verified(name):
    st = status(name)
    assert st.usable, st
    assert set(verify(name).values()) == {"ok"}


def test_hub_model_unavailable_offline_says_how():
    offline = load_settings(env={"OCULA_OFFLINE": "1"})
    st = status("blip-base", offline)
    assert not st.usable
    assert st.reason == "not available offline"
    assert st.fix == "`ocula models pull blip-base` when online"
    with pytest.raises(ModelUnavailable, match="ocula models pull blip-base"):
        require("blip-base", settings=offline)
    with pytest.raises(OfflineError, match="OCULA_OFFLINE"):
        pull("blip-base", settings=offline)


def test_unknown_names_list_valid_ones():
    with pytest.raises(UnknownModel, match="efficientnet-lite0"):
        get_spec("resnet-9000")
    with pytest.raises(UnknownModel, match="choose one of: mtcnn, haar-frontalface"):
        get_spec("efficientnet-lite0", task="faces")


def test_agpl_model_is_optional():
    spec = CATALOG["nudenet-320n"]
    assert spec.license == "AGPL-3.0" and "ocula[moderation]" in (spec.install or "")
