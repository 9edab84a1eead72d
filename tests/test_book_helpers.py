"""eyegan.book: chapter sizes and glue with and without myst-nb."""

import sys

from eyegan import book


def test_glue_without_myst_nb_shows_value(monkeypatch, capsys):
    # None in sys.modules makes "import myst_nb" raise ImportError, as on Colab.
    monkeypatch.setitem(sys.modules, "myst_nb", None)

    book.glue("answer", 42)
    book.glue("hidden", 7, display=False)

    output = capsys.readouterr().out
    assert "42" in output
    assert "7" not in output


def test_glue_with_myst_nb_records_value(monkeypatch):
    recorded = []
    import myst_nb

    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display=True: recorded.append((name, value, display)))

    book.glue("answer", 42, display=False)

    assert recorded == [("answer", 42, False)]


def test_size_follows_quick_variable(monkeypatch):
    monkeypatch.setenv(book.QUICK_ENV_VAR, "1")
    assert book.size(full=100, quick=3) == 3

    monkeypatch.setenv(book.QUICK_ENV_VAR, "0")
    assert book.size(full=100, quick=3) == 100
