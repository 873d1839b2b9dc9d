"""benchmarks/ab.py: interleaved A/B runs, figures read from the command's JSON, medians and ratios."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from benchmarks.ab import dig, first_json_object, main, summarize


def test_the_first_json_object_is_found_after_other_output() -> None:
    assert first_json_object('progress 10%\n{"seconds": 2.5, "x": {"y": 1}}\ntrailing') == {
        "seconds": 2.5,
        "x": {"y": 1},
    }
    with pytest.raises(ValueError, match="no JSON object"):
        first_json_object("nothing here")


def test_a_metric_is_found_by_its_dotted_path_or_named_when_missing() -> None:
    data = {"replay": {"wall_seconds": 3}, "name": "demo"}
    assert dig(data, "replay.wall_seconds") == 3.0
    with pytest.raises(KeyError, match=r"--metric replay\.seconds: no 'seconds'"):
        dig(data, "replay.seconds")
    with pytest.raises(TypeError, match="'demo' is not a number"):
        dig(data, "name")


def test_medians_and_ratio_of_the_medians() -> None:
    runs = {"a": [{"s": 10.0}, {"s": 30.0}, {"s": 20.0}], "b": [{"s": 9.0}, {"s": 11.0}, {"s": 10.0}]}
    assert summarize(runs) == {"median": {"a": {"s": 20.0}, "b": {"s": 10.0}}, "ratio_b_over_a": {"s": 0.5}}


def _checkout(root: Path, seconds: float) -> Path:
    """A stand-in checkout whose ``python -m orderwatch`` prints a JSON object (and its data dir)."""
    package = root / "src" / "orderwatch"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(
        "import json, os, sys\n"
        "print('starting...')\n"
        f"print(json.dumps({{'seconds': {seconds}, 'args': sys.argv[1:],"
        " 'data_dir': os.environ['ORDERWATCH_DATA_DIR']}))\n"
    )
    return root


def test_runs_alternate_in_both_checkouts_each_with_its_own_data_dir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = _checkout(tmp_path / "a", 4.0), _checkout(tmp_path / "b", 3.0)

    code = main(["--a", str(a), "--b", str(b), "--runs", "2", "--metric", "seconds", "--", "demo", "--json"])

    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["command"] == ["demo", "--json"]
    assert [r["seconds"] for r in result["runs"]["a"]] == [4.0, 4.0]
    assert [r["seconds"] for r in result["runs"]["b"]] == [3.0, 3.0]
    assert result["ratio_b_over_a"]["seconds"] == 0.75
    assert {"cpu_seconds", "process_wall_seconds", "load_average_1m"} <= set(result["runs"]["a"][0])


def test_a_folder_that_is_no_checkout_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        main(["--a", str(tmp_path), "--b", str(tmp_path), "--", "demo"])
