import csv

import numpy as np
import pytest
from PIL import Image

from eyegan import cli


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("cli") / "run"
    status = cli.main(["train", "--rendered", "64", "--batch-size", "32", "--epochs", "2",
                       "--generator-steps", "2", "--out", str(out_dir)])
    return status, out_dir


def test_train_exits_zero(trained_run):
    status, _ = trained_run
    assert status == 0


def test_train_writes_run_folder(trained_run):
    _, out_dir = trained_run
    for name in ("config.json", "history.csv", "samples.gif", "generator.keras", "discriminator.keras"):
        assert (out_dir / name).is_file(), name
    assert len(list((out_dir / "samples").glob("epoch_*.png"))) == 3


def test_train_passes_config_options(trained_run):
    _, out_dir = trained_run
    with open(out_dir / "history.csv", newline="") as handle:
        assert len(list(csv.DictReader(handle))) == 2
    assert '"generator_steps": 2' in (out_dir / "config.json").read_text()


def test_sample_draws_requested_grid(trained_run, tmp_path, capsys):
    _, out_dir = trained_run
    png = tmp_path / "grid.png"
    status = cli.main(["sample", "--checkpoint", str(out_dir), "--n", "8", "--columns", "4",
                       "--scale", "1", "--out", str(png)])
    assert status == 0
    with Image.open(png) as image:
        pixels = np.asarray(image)
    # 4 x 2 tiles of 32x64 with 2-pixel gaps around them.
    assert pixels.shape == (2 * 34 + 2, 4 * 66 + 2)
    assert pixels.std() > 0
    assert "wrote 8 eyes" in capsys.readouterr().out


def test_sample_missing_checkpoint_names_path(tmp_path, capsys):
    status = cli.main(["sample", "--checkpoint", str(tmp_path / "missing"), "--out", str(tmp_path / "g.png")])
    assert status == 2
    assert "no generator found" in capsys.readouterr().err


def test_sample_rejects_discriminator(trained_run, tmp_path, capsys):
    _, out_dir = trained_run
    status = cli.main(["sample", "--checkpoint", str(out_dir / "discriminator.keras"),
                       "--out", str(tmp_path / "g.png")])
    assert status == 2
    assert "not a generator" in capsys.readouterr().err


def test_sample_rejects_non_png_output(trained_run, tmp_path, capsys):
    _, out_dir = trained_run
    status = cli.main(["sample", "--checkpoint", str(out_dir), "--out", str(tmp_path / "g.jpg")])
    assert status == 2
    assert "must end in .png" in capsys.readouterr().err


def test_train_bad_config_names_option(tmp_path, capsys):
    status = cli.main(["train", "--epochs", "0", "--out", str(tmp_path / "run")])
    assert status == 2
    assert "--epochs must be a positive integer" in capsys.readouterr().err


def test_train_too_few_patches_names_options(tmp_path, capsys):
    status = cli.main(["train", "--rendered", "10", "--batch-size", "32", "--out", str(tmp_path / "run")])
    assert status == 2
    assert "lower --batch-size" in capsys.readouterr().err


def test_train_missing_data_reports_error(tmp_path, capsys):
    missing = tmp_path / "real_gaze.h5"
    status = cli.main(["train", "--data", str(missing), "--out", str(tmp_path / "run")])
    assert status == 2
    assert str(missing) in capsys.readouterr().err


def test_train_help_lists_config_options(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    help_text = capsys.readouterr().out
    for option in ("--generator-lr", "--discriminator-lr", "--no-separate-batches", "--generator-steps"):
        assert option in help_text


@pytest.mark.parametrize("argv, generator_lr, discriminator_lr, generator_steps", [
    ([], 2e-4, 2e-3, 5),
    (["--preset", "reference"], 5e-5, 0.02, 5),
    (["--generator-lr", "1e-3"], 1e-3, 2e-3, 5),
    (["--preset", "reference", "--generator-steps", "2"], 5e-5, 0.02, 2),
])
def test_train_options_change_preset(argv, generator_lr, discriminator_lr, generator_steps):
    args = cli.build_parser().parse_args(["train", *argv])

    config = cli.config_from_args(args)

    assert (config.generator_lr, config.discriminator_lr) == (generator_lr, discriminator_lr)
    assert config.generator_steps == generator_steps
    assert config.batch_size == 300


def test_train_invalid_option_names_flag(capsys):
    status = cli.main(["train", "--beta-1", "1.5", "--out", "unused"])

    assert status == 2
    assert "--beta-1 must lie in [0, 1)" in capsys.readouterr().err
