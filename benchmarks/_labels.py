"""What the blind-label samplers (``reasons_sample*.py``) share.

Reading the keys already labelled, the dissatisfied pools drawn from jddc_sat's own
ratings, and writing a sample file for the labeller (key, role, previous message,
text; outside the project, as jddc text must not be committed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any


def clean(text: str) -> str:
    """*text* on one line, tabs and runs of whitespace as single spaces."""
    return " ".join(text.replace("\t", " ").split())


def labelled_keys(path: Path, samples: frozenset[str]) -> set[str]:
    """Keys of the rows of *path* whose ``sample`` column (the last) is in *samples*.

    A sampler skips only the samples drawn before it, so a re-run after later
    samples were labelled draws the same messages.
    """
    if not path.exists():
        return set()
    keys = set()
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.startswith(("#", "key\t")) or not line.strip():
                continue
            fields = line.rstrip("\n").split("\t")
            if fields[-1] in samples:
                keys.add(fields[0])
    return keys


def add_dissatisfied(rec: Mapping[str, Any], pools: Mapping[str, set[str]]) -> None:
    """Add the keys of *rec* to the dissatisfied pools, from the data's own ratings only.

    buyer: turns rated ``satisfaction == 0`` and every buyer turn of a dialogue rated
    ``overall == 0``; agent: the agent turn just before a buyer turn rated 0.
    """
    did, turns = rec["id"], rec["turns"]
    for i, t in enumerate(turns):
        if t["role"] != "buyer":
            continue
        if t.get("satisfaction") == 0 or rec.get("overall") == 0:
            pools["buyer"].add(f"{did}#{i}")
        if t.get("satisfaction") == 0 and i and turns[i - 1]["role"] == "agent":
            pools["agent"].add(f"{did}#{i - 1}")


def write_sample(
    path: Path,
    keys: Iterable[str],
    role_of: Mapping[str, str],
    turns_by_id: Mapping[str, list[dict[str, Any]]],
) -> None:
    """Write the labeller's file: key, role, previous message (with its role), text."""
    with path.open("w", encoding="utf-8") as fh:
        fh.write("key\trole\tcontext\ttext\n")
        for key in keys:
            did, i_s = key.rsplit("#", 1)
            turns, i = turns_by_id[did], int(i_s)
            prev = f"[{turns[i - 1]['role']}] {clean(turns[i - 1]['text'])}" if i else ""
            fh.write(f"{key}\t{role_of[key]}\t{prev}\t{clean(turns[i]['text'])}\n")
