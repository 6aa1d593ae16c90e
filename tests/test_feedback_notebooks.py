"""notebooks/03_feedback_incorporation.ipynb and 07_feedback_analysis.ipynb show what they say:
03 learns rules and a refusal from a few corrections and the measured correction rate falls
with learning, below the rate without it; 07 analyses a 10,000-decision log from five
reviewers and writes preference pairs that Hugging Face `datasets` loads."""

from __future__ import annotations

import json
import re

from _notebooks import executed, printed


def correction_rates(text: str, title: str) -> dict[str, float]:
    """variant -> correction_rate from the table printed under `title`."""
    block = re.search(rf"{re.escape(title)}\n(.*?)(?:\n\s*\n|\Z)", text, flags=re.S)
    assert block is not None, f"no table titled {title!r}"
    rates = {}
    for variant in ("with learning", "without learning"):
        row = re.search(rf"^{variant}\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*$", block.group(1),
                        flags=re.M)
        assert row is not None, f"no {variant!r} row under {title!r}"
        rates[variant] = float(row.group(3))
    return rates


def test_feedback_incorporation_notebook():
    text = printed(executed("03_feedback_incorporation.ipynb"), stream=None)
    # two refunds of 420 corrected by hand (manager note + signed reply): two rules
    assert "4 decisions remembered" in text
    assert ("learned: issue_refund: append ' (manager note: approved by M. Ito)' to note "
            "(seen 2x)") in text
    assert "learned: draft_reply: append '\\nSupport Team' to body (seen 2x)" in text
    # the third run arrives shaped and needs no edit; the prompt carries the comment
    assert "customer request (manager note: approved by M. Ito)\n" in text
    assert "edits in the third run: 0" in text
    assert "(comment: house rules)" in text
    # refusals start at the mildest rejected amount (300 and 420 were rejected)
    assert ("learned: issue_refund: reviewers reject it when amount >= 300: 'refunds over "
            "250 need finance sign-off' (seen 2x)") in text
    assert "order 2001 -> Understood: I did not go ahead. rejected by learned preference" in text
    assert "order 1042 -> reviewed: ['approve', 'approve']" in text
    # measured: with learning the rate falls, and ends below the rate without learning
    first = correction_rates(text, "episodes 1-10")
    last = correction_rates(text, "episodes 31-40")
    assert last["with learning"] < first["with learning"]
    assert last["with learning"] < last["without learning"]
    assert last["without learning"] >= 0.5   # every episode needs a correction without it
    # the four human edits of section 1 are the DPO pairs
    assert "4 DPO pairs from the human corrections above" in text


def test_feedback_analysis_notebook(tmp_path, monkeypatch):
    text = printed(executed("07_feedback_analysis.ipynb"), stream=None)
    size = re.search(r"([\d,]+) rows \(([\d,]+) reviewer decisions by (\d+) reviewers\)", text)
    assert size is not None
    assert int(size.group(2).replace(",", "")) >= 10_000
    assert int(size.group(3)) >= 5
    assert "hash chain intact" in text
    assert re.search(r"report on [\d,]+ rows in [\d.]+s", text)
    assert "same dtypes: True | same decisions: True" in text

    counts = re.search(r"(\d+) DPO pairs, (\d+) KTO rows", text)
    written = re.search(r"written to (\S+)", text)
    assert counts is not None
    assert written is not None
    n_dpo, n_kto = int(counts.group(1)), int(counts.group(2))
    assert 0 < n_dpo < n_kto

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")          # local files only, no hub
    import datasets  # the test extra installs it; missing means a broken set-up: fail

    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True)
    dpo = datasets.load_dataset("json", data_files=f"{written.group(1)}/dpo.jsonl",
                                split="train", cache_dir=str(tmp_path))
    kto = datasets.load_dataset("parquet", data_files=f"{written.group(1)}/kto.parquet",
                                split="train", cache_dir=str(tmp_path))
    assert dpo.num_rows == n_dpo
    assert kto.num_rows == n_kto
    assert dpo.column_names == ["prompt", "chosen", "rejected", "request_id"]
    assert kto.column_names == ["prompt", "completion", "label", "request_id"]
    first = dpo[0]
    assert json.loads(first["chosen"]) != json.loads(first["rejected"])
    assert isinstance(json.loads(first["chosen"]), dict)
    assert 0 < sum(kto["label"]) < n_kto
