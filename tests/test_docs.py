"""Every ```python block of docs/ runs, in a fresh namespace, and its assertions hold.

Blocks that import Keras are skipped when Keras is not installed.
"""

import importlib.util
import pathlib
import re

import numpy as np
import pytest

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
_HEADING = re.compile(r"^## (.+)$", re.M)


def _blocks():
    found = []
    for path in sorted(DOCS.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        for n, match in enumerate(_BLOCK.finditer(text)):
            headings = _HEADING.findall(text[:match.start()])
            section = headings[-1].split(":")[0] if headings else "intro"
            found.append(pytest.param(match.group(1), id=f"{path.stem}-{n}-{section[:30]}"))
    return found


BLOCKS = _blocks()


def test_the_internals_guide_covers_every_topic():
    text = (DOCS / "lstm_internals.md").read_text(encoding="utf-8")
    for topic in ("The equations, with shapes", "Keras' weight layout",
                  "Back-propagation through time", "Stateful layers", "Keras 2 vs Keras 3",
                  "hard_sigmoid", "JAX", "lstm_np.trace"):
        assert topic in text, topic
    assert len(BLOCKS) >= 8


@pytest.mark.parametrize("code", BLOCKS)
def test_doc_snippet_runs(code, tmp_path, monkeypatch, capsys):
    if re.search(r"^import keras", code, re.M) and importlib.util.find_spec("keras") is None:
        pytest.skip("the snippet needs keras")
    monkeypatch.chdir(tmp_path)  # snippets may write files (plots)
    exec(compile(code, "<docs snippet>", "exec"), {"__name__": "__main__"})
    assert capsys.readouterr().out, "every snippet prints what it showed"


_NUMBER = re.compile(r"-?\d+\.\d+|-?\d+")


def test_demo_doc_shows_what_the_demo_prints(tmp_path):
    """docs/demo.md quotes the demo's output: the words must be the same and the numbers
    equal to 1% (so a change of training code that moves the results fails here)."""
    from lstm_np import demo

    text = (DOCS / "demo.md").read_text(encoding="utf-8")
    quoted = re.search(r"^```text\n(.*?)^```", text, re.S | re.M).group(1).splitlines()
    lines = []
    demo.run(out=str(tmp_path), progress=False, echo=lines.append)
    printed = "\n".join(lines).replace(str(tmp_path), "out").splitlines()
    printed = [line for line in printed if not line.startswith("Done in")]
    assert len(quoted) == len(printed)
    for q, p in zip(quoted, printed, strict=True):
        assert _NUMBER.sub("#", q) == _NUMBER.sub("#", p), (q, p)
        for a, b in zip(_NUMBER.findall(q), _NUMBER.findall(p), strict=True):
            assert float(a) == pytest.approx(float(b), rel=1e-2, abs=1e-4), (q, p)


def test_readme_ten_lines_print_what_the_readme_says(capsys):
    """The README's first example prints Keras' golden LSTM numbers and the weight shapes."""
    readme = (DOCS.parent / "README.md").read_text()
    code = re.findall(r"```python\n(.*?)```", readme, re.S)[0]
    assert len(code.strip().splitlines()) <= 10
    exec(compile(code, "<README>", "exec"), {"__name__": "__main__"})
    out = capsys.readouterr().out.split("\n")
    np.testing.assert_allclose(np.array(out[0].strip("[] ").split(), float),
                               [0.6288687, 0.86899155, 0.9460773], rtol=1e-6)
    assert out[1] == "[(4, 12), (3, 12), (12,)]"
