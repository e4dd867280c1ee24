"""The statistics stage: counts per category and length distributions (characters) per field and
per category, for the row, the card and the pictures on the snapshot's page."""

from collections import Counter

import numpy as np

from annotation.models import Category, Source
from exports import dolly
from exports.services.snapshots.rows import Tally


def category_counts(*, tally: Tally) -> dict[str, int]:
    """Records per category, in the categories' own order (as the pages list them)."""
    per_category = Counter({tally.slugs[i]: n for i, n in Counter(tally.categories).items()})
    positions = {slug: n for n, slug in enumerate(Category.objects.values_list("slug", flat=True))}
    order = sorted(per_category, key=lambda slug: (positions.get(slug, len(positions)), slug))
    return {slug: per_category[slug] for slug in order}


def stats_gather(*, tally: Tally, category_counts: dict[str, int]) -> dict:
    """Length distributions per field and per category, contributors, sources and passages."""
    lengths = {
        name: np.frombuffer(values, dtype=np.uint32) for name, values in tally.lengths.items()
    }
    categories = np.frombuffer(tally.categories, dtype=np.uint16)
    bins = [*dolly.LENGTH_BINS, np.iinfo(np.uint32).max]
    fields = {}
    for name, values in lengths.items():
        present = values[values > 0] if name == "context" else values
        fields[name] = {
            **_summary(present),
            "histogram": np.histogram(present, bins=bins)[0].tolist(),
        }
    by_category = {}
    for slug in category_counts:
        mask = categories == tally.slugs.index(slug)
        by_category[slug] = {
            "count": int(mask.sum()),
            "with_context": int((lengths["context"][mask] > 0).sum()),
            **{f"{name}_median": _summary(lengths[name][mask])["median"] for name in lengths},
        }
    sources = Source.objects.in_bulk(list(tally.sources))
    return {
        "bins": dolly.length_bin_labels(),
        "fields": fields,
        "by_category": by_category,
        "contributors": len(tally.authors),
        "written_here": len(tally.ids) - sum(tally.sources.values()),
        "sources": [
            {
                "name": sources[pk].name,
                "license": sources[pk].license,
                "url": sources[pk].url,
                "count": count,
            }
            for pk, count in sorted(tally.sources.items(), key=lambda item: sources[item[0]].name)
        ],
        "passages": [
            {"domain": domain, "count": count}
            for domain, count in sorted(tally.passage_hosts.items(), key=lambda i: (-i[1], i[0]))
        ],
    }


def _summary(values: np.ndarray) -> dict:
    if not len(values):
        return {"count": 0, "mean": 0, "median": 0, "p90": 0, "max": 0}
    return {
        "count": len(values),
        "mean": round(float(values.mean()), 1),
        "median": int(np.median(values)),
        "p90": int(np.percentile(values, 90)),
        "max": int(values.max()),
    }
