from __future__ import annotations

import pytest

from ocula.config import load_settings
from ocula.errors import OculaError


def test_env_overrides_file(tmp_path):
    (tmp_path / "config.toml").write_text("max_pixels = 1234\nthreads = 3\n")
    s = load_settings(env={"OCULA_HOME": str(tmp_path), "OCULA_THREADS": "1"})
    assert s.max_pixels == 1234 and s.threads == 1 and s.home == tmp_path


def test_offline_from_hf_env():
    assert load_settings(env={"HF_HUB_OFFLINE": "1"}).offline
    assert load_settings(env={"OCULA_OFFLINE": "yes"}).offline
    assert not load_settings(env={}).offline


def test_bad_values_name_the_variable(tmp_path):
    with pytest.raises(OculaError, match="OCULA_THREADS"):
        load_settings(env={"OCULA_THREADS": "many"})
    with pytest.raises(OculaError, match="device"):
        load_settings(env={"OCULA_DEVICE": "tpu"})
    (tmp_path / "config.toml").write_text("colour = 'blue'\n")
    with pytest.raises(OculaError, match="unknown keys"):
        load_settings(env={"OCULA_HOME": str(tmp_path)})
    (tmp_path / "config.toml").write_text("= broken")
    with pytest.raises(OculaError, match="could not be read"):
        load_settings(env={"OCULA_HOME": str(tmp_path)})
