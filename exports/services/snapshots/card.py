"""The card stage: README.md, the dataset card with Hugging Face front matter."""

from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string

from annotation import holds
from exports import dolly
from exports.models import Snapshot
from exports.services.snapshots.files import file_described
from exports.services.snapshots.metadata import METADATA_FILE
from exports.services.snapshots.options import SnapshotOptions
from exports.services.snapshots.parquet import shard_glob
from exports.services.snapshots.removals import removals_changelog

CARD_FILE = "README.md"

TASK_CATEGORIES = {
    "open_qa": "question-answering",
    "closed_qa": "question-answering",
    "general_qa": "question-answering",
    "information_extraction": "question-answering",
    "summarization": "summarization",
    "classification": "text-classification",
    "creative_writing": "text-generation",
    "brainstorming": "text-generation",
}


def card_write(
    *,
    snapshot: Snapshot,
    options: SnapshotOptions,
    record_count: int,
    category_counts: dict[str, int],
    stats: dict,
    split_counts: dict[str, int],
    files: list[dict],
    file_records: dict[str, int],
    removals: dict[str, list[int]],
    spool: Path,
) -> dict:
    """Write the card into the spool; its name, size and sha256. `files` are the data files
    (`file_records`: how many records each holds), `removals` this snapshot's removed ids by
    reason (its changelog's last row).

    The template quotes what it did not write itself through exports/templatetags/card.py:
    front-matter values as YAML strings, names as Markdown text, links only to http(s) URLs."""
    context = {
        "snapshot": snapshot,
        "options": options,
        "record_count": record_count,
        "category_counts": category_counts,
        "stats": stats,
        "split_counts": split_counts,
        "settings": settings,
        "pretty_name": f"{settings.FLOCK_DATASET_NAME} v{snapshot.version}",
        "size_category": dolly.size_category(record_count),
        "task_categories": _task_categories(category_counts),
        "files": [{**item, "records": file_records.get(item["name"])} for item in files],
        "configs": _configs(_splits_loaded(split_counts)),
        "loaded_splits": _splits_loaded(split_counts),
        "held_back_rule": holds.RULE_TEXT,
        "changelog": removals_changelog(snapshot=snapshot, removals=removals),
    }
    card = render_to_string("exports/dataset_card.md", context).encode()
    (spool / CARD_FILE).write_bytes(card)
    return file_described(spool / CARD_FILE, CARD_FILE)


def _task_categories(category_counts: dict) -> list[str]:
    return sorted({TASK_CATEGORIES.get(slug, "text-generation") for slug in category_counts})


def _splits_loaded(split_counts: dict) -> list[str]:
    """The splits the card's configs name: validation only when it holds records (datasets
    refuses a split whose files hold none, and a small split can come out empty)."""
    return ["train", *(["validation"] if split_counts.get("validation") else [])]


def _configs(splits: list[str]) -> list[dict]:
    """The front matter's configs, so that datasets.load_dataset("<snapshot dir>") loads the
    Parquet shards by split (the default) and the metadata table ("metadata") as they are."""
    return [
        {"name": "default", "data_files": [(split, shard_glob(split)) for split in splits]},
        {"name": "metadata", "data_files": [("train", METADATA_FILE)]},
    ]
