"""The experiment runner: tiny budgets, real training, real tables."""

import csv

import numpy as np
import pytest

from eyegan import cli, experiments
from eyegan.training import TrainConfig

TINY = {"steps": 2, "batch_size": 16, "seeds": (0,)}


@pytest.fixture(scope="module")
def evaluation():
    return experiments.EvaluationData(train_count=64, eval_count=64)


def test_run_writes_row_and_grid(tmp_path, evaluation):
    table = experiments.run_experiment("update_ratio", results_dir=tmp_path, settings=["1 G step"],
                                       evaluation=evaluation, **TINY)

    rows = experiments.read_results(table)
    assert table == tmp_path / "update_ratio" / "results.csv"
    assert len(rows) == 1
    row = rows[0]
    assert (row["setting"], row["seed"], row["steps"], row["batch_size"]) == ("1 G step", "0", "2", "16")
    assert row["changes"] == "generator_steps=1"
    assert 0.3 < float(row["swd"]) < 2.0
    assert 0 <= float(row["diversity"]) < 0.5
    assert float(row["memorization"]) > 1
    assert row["tensorflow"].startswith("2.")
    assert list(rows[0]) == list(experiments.COLUMNS)
    assert (tmp_path / "update_ratio" / "samples" / "1-g-step-seed0.png").stat().st_size > 0


def test_finished_runs_are_skipped(tmp_path, evaluation, monkeypatch):
    experiments.run_experiment("update_ratio", results_dir=tmp_path, settings=["1 G step"],
                               evaluation=evaluation, **TINY)

    def fail(*args, **kwargs):
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(experiments, "run_setting", fail)
    table = experiments.run_experiment("update_ratio", results_dir=tmp_path, settings=["1 G step"],
                                       evaluation=evaluation, **TINY)
    assert len(experiments.read_results(table)) == 1


def test_matching_run_copied_from_other_experiment(tmp_path, evaluation, monkeypatch):
    experiments.run_experiment("beta1", results_dir=tmp_path, settings=["reference"],
                               evaluation=evaluation, **TINY)
    monkeypatch.setattr(experiments, "run_setting", None)

    table = experiments.run_experiment("update_ratio", results_dir=tmp_path, settings=["5 G steps (reference)"],
                                       evaluation=evaluation, **TINY)

    copied = experiments.read_results(table)[0]
    original = experiments.read_results(tmp_path / "beta1" / "results.csv")[0]
    assert copied["experiment"] == "update_ratio"
    assert copied["setting"] == "5 G steps (reference)"
    assert copied["swd"] == original["swd"]
    assert (tmp_path / "update_ratio" / "samples" / "5-g-steps-reference-seed0.png").exists()


def test_same_seed_reproduces_metric(tmp_path, evaluation):
    scores = []
    for folder in ("first", "second"):
        table = experiments.run_experiment("beta1", results_dir=tmp_path / folder, settings=["beta1 0.9"],
                                           evaluation=evaluation, **TINY)
        scores.append(float(experiments.read_results(table)[0]["swd"]))

    assert scores[0] == pytest.approx(scores[1], rel=1e-3)


def test_setting_changes_reach_config_and_data():
    setting = experiments.get_experiment("input_scaling").setting("[-1, 1], edge padding")

    config = setting.train_config(seed=3, steps=7, batch_size=8)

    assert config == TrainConfig(batch_size=8, epochs=1, steps_per_epoch=7, seed=3)
    assert setting.data_options() == {"scaling": "unit", "pad_mode": "edge"}
    assert setting.describe() == "pad_mode=edge scaling=unit"


def test_every_setting_makes_valid_config():
    for experiment in experiments.EXPERIMENTS.values():
        labels = [setting.label for setting in experiment.settings]
        assert len(set(labels)) == len(labels), experiment.name
        for setting in experiment.settings:
            setting.train_config(seed=0)


def test_unknown_names_rejected():
    with pytest.raises(KeyError, match="choose one of"):
        experiments.get_experiment("dropout")
    with pytest.raises(KeyError, match="has no setting"):
        experiments.get_experiment("beta1").setting("beta1 0.7")


def test_summary_statistics():
    rows = [{"setting": "a", "swd": "1.0"}, {"setting": "a", "swd": "3.0"}, {"setting": "b", "swd": "0.5"}]

    summary = experiments.summarize(rows)

    assert summary[0] == {"setting": "a", "runs": 2, "mean": 2.0, "std": pytest.approx(np.sqrt(2)),
                          "min": 1.0, "max": 3.0}
    assert summary[1]["std"] == 0.0


def write_table(path, rows):
    path.parent.mkdir(parents=True)
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=experiments.COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({column: row.get(column, "") for column in experiments.COLUMNS})


def test_report_command_prints_statistics(tmp_path, capsys):
    write_table(tmp_path / "beta1" / "results.csv", [
        {"setting": "reference", "seed": 0, "swd": 0.5, "diversity": 0.2},
        {"setting": "reference", "seed": 1, "swd": 0.7, "diversity": 0.4},
        {"setting": "beta1 0.9", "seed": 0, "swd": 0.9, "diversity": 0.1},
    ])

    status = cli.main(["experiment", "report", "beta1", "--results", str(tmp_path)])

    lines = capsys.readouterr().out.splitlines()
    assert status == 0
    assert lines[0] == "swd:"
    assert lines[2].split() == ["reference", "2", "0.6000", "0.1414", "0.5000", "0.7000"]
    assert lines[3].split() == ["beta1", "0.9", "1", "0.9000", "0.0000", "0.9000", "0.9000"]
    assert "diversity:" in lines


def test_report_without_results_names_command(tmp_path, capsys):
    status = cli.main(["experiment", "report", "beta1", "--results", str(tmp_path)])

    assert status == 2
    assert "python -m eyegan experiment run beta1" in capsys.readouterr().err


def test_run_command_rejects_unknown_setting(tmp_path, capsys):
    status = cli.main(["experiment", "run", "beta1", "--setting", "beta1 0.7", "--results", str(tmp_path)])

    assert status == 2
    assert "invalid --setting" in capsys.readouterr().err
    assert not (tmp_path / "beta1").exists()


@pytest.mark.parametrize("scores, verdict", [
    ({"a": [0.1, 0.2], "b": [0.3, 0.4]}, "confirmed"),
    ({"a": [0.5, 0.6], "b": [0.3, 0.4]}, "refuted"),
    ({"a": [0.1, 0.35], "b": [0.3, 0.4]}, "it depends"),
])
def test_judge_claim_verdicts(scores, verdict):
    rows = [{"setting": label, "swd": str(value)} for label, values in scores.items() for value in values]

    judged = experiments.judge_claim(rows, better="a", worse="b")

    assert judged["verdict"] == verdict
    expected = np.mean(scores["b"]) - np.mean(scores["a"])
    assert judged["difference"] == pytest.approx(expected)


def test_judge_claim_higher_is_better():
    rows = [{"setting": "a", "diversity": "0.9"}, {"setting": "b", "diversity": "0.2"}]

    judged = experiments.judge_claim(rows, "a", "b", metric="diversity", lower_is_better=False)

    assert judged["verdict"] == "confirmed"
    assert judged["difference"] == pytest.approx(0.7)


def test_judge_claim_unknown_setting():
    with pytest.raises(KeyError, match="no runs of setting 'c'"):
        experiments.judge_claim([{"setting": "a", "swd": "1"}], "a", "c")


def test_format_judgement_states_numbers():
    rows = [{"setting": "a", "swd": "0.1"}, {"setting": "a", "swd": "0.3"}, {"setting": "b", "swd": "0.5"}]

    line = experiments.format_judgement(experiments.judge_claim(rows, "a", "b"))

    assert line == ("'a' better than 'b': confirmed (swd 0.200 ± 0.141, range 0.100-0.300, "
                    "against 0.500 ± 0.000, range 0.500-0.500)")
