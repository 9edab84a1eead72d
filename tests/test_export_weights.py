"""tools/export_weights.py and the generator shipped with the package."""


import numpy as np
import pytest
from PIL import Image

from eyegan import cli, pretrained

from tool_modules import load_tool


@pytest.fixture(scope="module")
def rendered_run(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("weights") / "run"
    status = cli.main(["train", "--rendered", "64", "--batch-size", "32", "--epochs", "2",
                       "--generator-steps", "1", "--out", str(out_dir)])
    assert status == 0
    return out_dir


def test_export_copies_generator_and_records(rendered_run, tmp_path):
    dest = tmp_path / "weights"

    status = load_tool("export_weights").main([str(rendered_run), "--dest", str(dest)])

    assert status == 0
    names = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert names == ["config.json", "data_source.txt", "generator.keras", "history.csv",
                     "samples/epoch_0000.png", "samples/epoch_0001.png", "samples/epoch_0002.png"]
    assert not list(tmp_path.glob(".weights.*"))


def test_exported_run_loads_through_pretrained(rendered_run, tmp_path, monkeypatch):
    dest = load_tool("export_weights").export(rendered_run, tmp_path / "weights")
    monkeypatch.setenv(pretrained.WEIGHTS_ENV_VAR, str(dest))

    generator = pretrained.load_generator()

    assert generator.output_shape == (None, 32, 64, 1)
    assert sorted(pretrained.load_epoch_grids()) == [0, 1, 2]
    assert len(pretrained.load_history()["g_loss"]) == 2
    assert pretrained.load_config()["generator_steps"] == 1


def test_export_replaces_previous_weights(rendered_run, tmp_path):
    dest = tmp_path / "weights"
    (dest / "samples").mkdir(parents=True)
    (dest / "samples" / "epoch_0009.png").write_bytes(b"stale")

    load_tool("export_weights").export(rendered_run, dest)

    assert not (dest / "samples" / "epoch_0009.png").exists()
    assert (dest / "generator.keras").stat().st_size > 1_000_000


def test_export_rejects_downloaded_data(rendered_run, tmp_path, capsys):
    run_copy = tmp_path / "run"
    tool = load_tool("export_weights")
    tool.export(rendered_run, run_copy)
    (run_copy / "data_source.txt").write_text("/data/real_gaze.h5\n")
    dest = tmp_path / "weights"

    status = tool.main([str(run_copy), "--dest", str(dest)])

    assert status == 1
    assert "/data/real_gaze.h5, not on rendered eyes" in capsys.readouterr().err
    assert not dest.exists()


def test_export_names_missing_file(tmp_path, capsys):
    status = load_tool("export_weights").main([str(tmp_path), "--dest", str(tmp_path / "weights")])

    assert status == 1
    assert f"{tmp_path / 'generator.keras'} not found" in capsys.readouterr().err


def test_sample_uses_weights_variable(rendered_run, tmp_path, monkeypatch):
    monkeypatch.setenv(pretrained.WEIGHTS_ENV_VAR, str(rendered_run))
    png = tmp_path / "grid.png"

    status = cli.main(["sample", "--n", "4", "--scale", "1", "--out", str(png)])

    assert status == 0
    with Image.open(png) as image:
        assert np.asarray(image).shape == (2 * 34 + 2, 2 * 66 + 2)


def test_packaged_weights_sample_without_training(tmp_path, monkeypatch):
    monkeypatch.delenv(pretrained.WEIGHTS_ENV_VAR, raising=False)
    png = tmp_path / "grid.png"

    status = cli.main(["sample", "--n", "64", "--out", str(png)])

    assert status == 0
    with Image.open(png) as image:
        pixels = np.asarray(image)
    # The shipped generator draws varied eyes, not one grey tile.
    assert pixels.std() > 20
    size = sum(p.stat().st_size for p in pretrained.PACKAGED_WEIGHTS_DIR.rglob("*") if p.is_file())
    assert size <= 10 * 1024 * 1024


def test_packaged_weights_trained_on_rendered_eyes():
    source = (pretrained.PACKAGED_WEIGHTS_DIR / "data_source.txt").read_text()

    assert source.startswith("eyegan.render.")
