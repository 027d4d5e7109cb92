"""Render throughput: task definitions per second over the corpus, parsing and validation included.

Run: `python bench/render_bench.py [--seconds 5] [--no-explain]`. The operator renders on every
resync, so this is its hot path; the target is 2,000+ task definitions per second on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "operator"))

import yaml  # noqa: E402

from ecsk.core.models import load_document  # noqa: E402
from ecsk.core.translate import RenderOptions, render_task_definition  # noqa: E402
from ecsk.core.translate.bundle import render_documents  # noqa: E402
from ecsk.core.validation import validate_task_definition  # noqa: E402


def corpus_documents() -> list[Any]:
    """Raw parsed JSON/YAML (not models): each iteration re-parses into models, as the operator does."""
    raw: list[Any] = []
    for f in sorted((ROOT / "tests" / "fixtures" / "corpus").glob("*/*")):
        text = f.read_text()
        raw.extend([json.loads(text)] if f.suffix == ".json" else list(yaml.safe_load_all(text)))
    return raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--no-explain", action="store_true", help="skip building explanations (operator mode)"
    )
    args = parser.parse_args()
    raw = corpus_documents()
    opts = RenderOptions(explain=not args.no_explain)

    # 1) task definitions: load (pydantic) + validate + render, per document
    td_raw = []
    for doc in raw:
        for loaded in load_document(doc):
            if loaded.kind == "TaskDefinition":
                td_raw.append(doc)
                break
    count = 0
    start = time.perf_counter()
    deadline = start + args.seconds
    while time.perf_counter() < deadline:
        for doc in td_raw:
            for loaded in load_document(doc):
                model = loaded.model
                if loaded.kind == "TaskDefinition" and model is not None:
                    assert not validate_task_definition(model)  # type: ignore[arg-type]
                    render_task_definition(model, opts)  # type: ignore[arg-type]
                    count += 1
    elapsed = time.perf_counter() - start
    print(
        f"task definitions: {count} in {elapsed:.2f}s = {count / elapsed:,.0f}/s "
        f"(parse + validate + render{', explain' if opts.explain else ''}; {len(td_raw)} distinct)"
    )

    # 2) whole corpus incl. services (matching, service validation, service render)
    rounds = 0
    start = time.perf_counter()
    deadline = start + args.seconds / 2
    docs_per_round = 0
    while time.perf_counter() < deadline:
        batch = [d for doc in raw for d in load_document(doc)]
        items = render_documents(batch, opts)
        docs_per_round = len(items)
        rounds += 1
    elapsed = time.perf_counter() - start
    print(
        f"full corpus: {rounds * docs_per_round / elapsed:,.0f} documents/s "
        f"({docs_per_round} task definitions + services per round)"
    )


if __name__ == "__main__":
    main()
