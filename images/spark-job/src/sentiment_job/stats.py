"""Summary of a sentiment index: the queries, the parsing and the text, as pure functions.

`tweet-sentiment stats` and `make demo` both print this summary; the I/O edges are
`fetch_summary` / `fetch_timeline`, everything else takes and returns plain data so the
tests can check it without a cluster. Only core Elasticsearch aggregations are used (no
scripts, no `auto_date_histogram`): the local test node has no painless and no
aggregations module, and the same queries must work through a `kubectl port-forward`.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

# Display order; labels the job may add later still show, after these.
LABELS = ("Positive", "Neutral", "Negative", "Unsupported")
PERCENTS = (50.0, 95.0, 99.0)
# Latency comes from the newest documents' two timestamps, fetched in one request
# (index.max_result_window is 10,000 by default); exact percentiles over that sample.
LATENCY_SAMPLE = 10_000
POST_FIELDS = ["id", "source", "text", "polarity", "sentiment", "created_at"]
# The language a post was scored as. Documents without it (indexed before the job recorded
# it) count under the primary subtag of the source's `lang` tag.
SCORED_LANG_FIELD = "sentiment_lang"
TAGGED_LANG_FIELD = "lang"
LANGUAGE_BUCKETS = 100  # distinct languages fetched; the rest are counted as `other`
OTHER = "other"
# Chart bucket widths (seconds) that read well on an axis, smallest first.
NICE_INTERVALS = (
    1, 5, 10, 30, 60, 300, 600, 900, 1800, 3600, 2 * 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 7 * 86400,
)  # fmt: skip


@dataclass(frozen=True)
class Post:
    id: str
    source: str
    text: str
    polarity: float
    sentiment: str


@dataclass(frozen=True)
class Latency:
    """`indexed_at - ingested_at` in seconds over the newest `sample` documents."""

    sample: int
    p50: float
    p95: float
    p99: float
    max: float


@dataclass(frozen=True)
class Summary:
    index: str
    total: int
    labels: dict[str, int]
    mean_polarity: float | None
    mean_subjectivity: float | None
    mean_confidence: float | None
    most_positive: list[Post]
    most_negative: list[Post]
    created_first: datetime | None = None
    created_last: datetime | None = None
    first_ingested: datetime | None = None
    last_indexed: datetime | None = None
    latency: Latency | None = None
    # language → label → posts, most posted language first (see `parse_languages`).
    languages: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def shares(self) -> dict[str, float]:
        return {k: (v / self.total if self.total else 0.0) for k, v in self.labels.items()}

    @property
    def elapsed_seconds(self) -> float | None:
        """From the first post entering the pipeline to the last one landing in the index."""
        if self.first_ingested is None or self.last_indexed is None:
            return None
        return max((self.last_indexed - self.first_ingested).total_seconds(), 0.0)

    @property
    def throughput(self) -> float | None:
        """Posts per second, end to end, over `elapsed_seconds`."""
        elapsed = self.elapsed_seconds
        if not elapsed or not self.total:
            return None
        return self.total / elapsed

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("created_first", "created_last", "first_ingested", "last_indexed"):
            value = getattr(self, key)
            out[key] = value.isoformat() if value else None
        out["labels"] = {k: {"count": v, "share": self.shares[k]} for k, v in self.labels.items()}
        out["elapsed_seconds"] = self.elapsed_seconds
        out["throughput_per_second"] = self.throughput
        out["languages"] = {
            lang: {
                "count": sum(labels.values()),
                "share": sum(labels.values()) / self.total if self.total else 0.0,
                "labels": labels,
            }
            for lang, labels in self.languages.items()
        }
        return out

    def language_rows(self, top: int = 12) -> list[tuple[str, dict[str, int]]]:
        """The `top` most posted languages, then one `other (n)` row summing the rest."""
        rows = list(self.languages.items())
        if len(rows) <= top + 1:
            return rows
        rest: dict[str, int] = {}
        for _, labels in rows[top:]:
            for label, n in labels.items():
                rest[label] = rest.get(label, 0) + n
        return [*rows[:top], (f"{OTHER} ({len(rows) - top})", rest)]


@dataclass(frozen=True)
class Timeline:
    """Posts per label per `created_at` bucket, and the polarity histogram, for charts."""

    interval_seconds: int
    starts: list[datetime]
    counts: dict[str, list[int]]
    polarity_bins: list[float] = field(default_factory=list)  # lower edges
    # label → posts per bin: the job's label, so a bin shows how its posts were classified.
    polarity_counts: dict[str, list[int]] = field(default_factory=dict)
    polarity_width: float = 0.1

    @property
    def polarity_totals(self) -> list[int]:
        return [sum(col) for col in zip(*self.polarity_counts.values(), strict=True)] or [0] * len(
            self.polarity_bins
        )


# --- requests -------------------------------------------------------------------------


def _top_hits(order: str, size: int) -> dict[str, Any]:
    # created_at then id break polarity ties, so the same index always gives the same list.
    return {
        "top_hits": {
            "size": size,
            "sort": [
                {"polarity": {"order": order}},
                {"created_at": {"order": "desc", "unmapped_type": "date"}},
                {"id": {"order": "asc", "unmapped_type": "keyword"}},
            ],
            "_source": POST_FIELDS,
        }
    }


def _by_language(field_name: str, missing: str | None = None) -> dict[str, Any]:
    terms: dict[str, Any] = {"field": field_name, "size": LANGUAGE_BUCKETS}
    if missing is not None:
        terms["missing"] = missing
    return {
        "terms": terms,
        "aggs": {"labels": {"terms": {"field": "sentiment", "size": 20, "missing": "(none)"}}},
    }


def summary_request(top_n: int = 3) -> dict[str, Any]:
    """Search body: label counts, means, time bounds, posts by language and label, and the
    top posts, in one round trip."""
    has_scored_lang = {"exists": {"field": SCORED_LANG_FIELD}}
    return {
        "size": 0,
        "track_total_hits": True,
        "aggs": {
            "labels": {"terms": {"field": "sentiment", "size": 20, "missing": "(none)"}},
            "polarity": {"avg": {"field": "polarity"}},
            "subjectivity": {"avg": {"field": "subjectivity"}},
            "confidence": {"avg": {"field": "confidence"}},
            "created_first": {"min": {"field": "created_at"}},
            "created_last": {"max": {"field": "created_at"}},
            "first_ingested": {"min": {"field": "ingested_at"}},
            "last_indexed": {"max": {"field": "indexed_at"}},
            # An exists query on a field the mapping lacks matches nothing, and a terms
            # aggregation on it gives no buckets: the same request works on either mapping.
            "scored_lang": {"filter": has_scored_lang, "aggs": {"langs": _by_language(SCORED_LANG_FIELD)}},
            "tagged_lang": {
                "filter": {"bool": {"must_not": [has_scored_lang]}},
                "aggs": {"langs": _by_language(TAGGED_LANG_FIELD, missing="und")},
            },
            "positive": {
                "filter": {"range": {"polarity": {"gt": 0}}},
                "aggs": {"top": _top_hits("desc", top_n)},
            },
            "negative": {
                "filter": {"range": {"polarity": {"lt": 0}}},
                "aggs": {"top": _top_hits("asc", top_n)},
            },
        },
    }


def latency_request(sample: int = LATENCY_SAMPLE) -> dict[str, Any]:
    """Search body: both timestamps (epoch ms) of the newest `sample` indexed documents."""
    return {
        "size": sample,
        "track_total_hits": False,
        "_source": False,
        "query": {
            "bool": {"filter": [{"exists": {"field": "ingested_at"}}, {"exists": {"field": "indexed_at"}}]}
        },
        "sort": [{"indexed_at": "desc"}],
        "docvalue_fields": [
            {"field": "ingested_at", "format": "epoch_millis"},
            {"field": "indexed_at", "format": "epoch_millis"},
        ],
    }


def pick_interval(span_seconds: float, buckets: int = 40) -> int:
    """The smallest nice bucket width that splits `span_seconds` into at most `buckets`."""
    for width in NICE_INTERVALS:
        if span_seconds / width <= buckets:
            return width
    return NICE_INTERVALS[-1]


def timeline_request(summary: Summary, buckets: int = 40, polarity_width: float = 0.1) -> dict[str, Any]:
    """Search body for the charts: a date_histogram of created_at split by label."""
    span = 0.0
    if summary.created_first and summary.created_last:
        span = (summary.created_last - summary.created_first).total_seconds()
    interval = pick_interval(span, buckets)
    return {
        "size": 0,
        "aggs": {
            "over_time": {
                "date_histogram": {
                    "field": "created_at",
                    "fixed_interval": f"{interval}s",
                    "min_doc_count": 0,
                },
                "aggs": {"labels": {"terms": {"field": "sentiment", "size": 20}}},
            },
            "polarity": {
                "histogram": {
                    "field": "polarity",
                    "interval": polarity_width,
                    "extended_bounds": {"min": -1.0, "max": 1.0 - polarity_width},
                },
                "aggs": {"labels": {"terms": {"field": "sentiment", "size": 20}}},
            },
        },
    }


# --- parsing --------------------------------------------------------------------------


def _ms_to_datetime(value: Any) -> datetime | None:
    if value is None:
        return None
    return datetime.fromtimestamp(float(value) / 1000.0, tz=timezone.utc)


def percentile(sorted_values: Sequence[float], percent: float) -> float:
    """Linear interpolation between closest ranks (numpy's default `linear` method)."""
    if not sorted_values:
        raise ValueError("percentile of an empty sequence")
    rank = (len(sorted_values) - 1) * percent / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


def latencies_from_hits(hits: Sequence[Mapping[str, Any]]) -> list[float]:
    """Seconds from ingested_at to indexed_at, one per hit of `latency_request`."""
    out = []
    for hit in hits:
        fields = hit.get("fields", {})
        try:
            ingested = float(fields["ingested_at"][0])
            indexed = float(fields["indexed_at"][0])
        except (KeyError, IndexError, TypeError, ValueError):
            continue
        out.append((indexed - ingested) / 1000.0)
    return out


def latency_from_values(values: Sequence[float]) -> Latency | None:
    if not values:
        return None
    ordered = sorted(values)
    p50, p95, p99 = (percentile(ordered, p) for p in PERCENTS)
    return Latency(sample=len(ordered), p50=p50, p95=p95, p99=p99, max=ordered[-1])


def _posts(agg: Mapping[str, Any]) -> list[Post]:
    posts = []
    for hit in agg.get("top", {}).get("hits", {}).get("hits", []):
        src = hit.get("_source", {})
        posts.append(
            Post(
                id=str(src.get("id", hit.get("_id", ""))),
                source=str(src.get("source", "")),
                text=str(src.get("text", "")),
                polarity=float(src.get("polarity") or 0.0),
                sentiment=str(src.get("sentiment", "")),
            )
        )
    return posts


def parse_summary(
    index: str, response: Mapping[str, Any], latency_response: Mapping[str, Any] | None = None
) -> Summary:
    """Turn the answers to `summary_request` and `latency_request` into a `Summary`."""
    aggs = response.get("aggregations", {})
    total = response.get("hits", {}).get("total", {})
    total = int(total.get("value", 0) if isinstance(total, Mapping) else total)
    found = {b["key"]: int(b["doc_count"]) for b in aggs.get("labels", {}).get("buckets", [])}
    labels = {label: found.pop(label, 0) for label in LABELS}
    labels.update(sorted(found.items()))
    latency = None
    if latency_response is not None:
        latency = latency_from_values(latencies_from_hits(latency_response.get("hits", {}).get("hits", [])))
    return Summary(
        index=index,
        total=total,
        labels=labels,
        mean_polarity=aggs.get("polarity", {}).get("value"),
        mean_subjectivity=aggs.get("subjectivity", {}).get("value"),
        mean_confidence=aggs.get("confidence", {}).get("value"),
        most_positive=_posts(aggs.get("positive", {})),
        most_negative=_posts(aggs.get("negative", {})),
        created_first=_ms_to_datetime(aggs.get("created_first", {}).get("value")),
        created_last=_ms_to_datetime(aggs.get("created_last", {}).get("value")),
        first_ingested=_ms_to_datetime(aggs.get("first_ingested", {}).get("value")),
        last_indexed=_ms_to_datetime(aggs.get("last_indexed", {}).get("value")),
        latency=latency,
        languages=parse_languages(aggs),
    )


def primary_language(tag: Any) -> str:
    """`pt-BR` → `pt`, `EN` → `en`; `und` for an empty or missing tag."""
    primary = str(tag or "").strip().replace("_", "-").split("-", 1)[0].lower()
    return primary or "und"


def parse_languages(aggs: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """language → label → posts from the `scored_lang` and `tagged_lang` aggregations,
    languages by posts (most first, then by name), labels in LABELS order; buckets past
    LANGUAGE_BUCKETS are counted as `other`."""
    found: dict[str, dict[str, int]] = {}
    for name in ("scored_lang", "tagged_lang"):
        langs = aggs.get(name, {}).get("langs", {})
        for bucket in langs.get("buckets", []):
            counts = found.setdefault(primary_language(bucket["key"]), {})
            for lb in bucket.get("labels", {}).get("buckets", []):
                counts[lb["key"]] = counts.get(lb["key"], 0) + int(lb["doc_count"])
        rest = int(langs.get("sum_other_doc_count") or 0)
        if rest:
            counts = found.setdefault(OTHER, {})
            counts["(unknown)"] = counts.get("(unknown)", 0) + rest
    ordered = sorted(found.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
    return {lang: {label: counts[label] for label in _label_order(set(counts))} for lang, counts in ordered}


def _label_order(found: set[str]) -> list[str]:
    return [label for label in LABELS if label in found] + sorted(found - set(LABELS))


def _split_by_label(buckets: Sequence[Mapping[str, Any]]) -> dict[str, list[int]]:
    """Per-bucket counts of the `labels` sub-aggregation, one list per label."""
    seen = {lb["key"] for b in buckets for lb in b.get("labels", {}).get("buckets", [])}
    counts = {name: [0] * len(buckets) for name in _label_order(seen)}
    for i, bucket in enumerate(buckets):
        for lb in bucket.get("labels", {}).get("buckets", []):
            counts[lb["key"]][i] = int(lb["doc_count"])
    return counts


def parse_timeline(
    response: Mapping[str, Any], interval_seconds: int, polarity_width: float = 0.1
) -> Timeline:
    aggs = response.get("aggregations", {})
    buckets = aggs.get("over_time", {}).get("buckets", [])
    starts = [_ms_to_datetime(b["key"]) for b in buckets]
    pol = list(aggs.get("polarity", {}).get("buckets", []))
    # Keys are float multiples of the width (-0.30000000000000004): round them.
    bins = [round(float(b["key"]), 6) for b in pol]
    by_label = _split_by_label(pol)
    if len(bins) > 1 and bins[-1] > 1.0 - polarity_width / 2:
        # Polarity 1.0 opens a bucket of its own; count it in the top bin [0.9, 1.0].
        bins.pop()
        for counts in by_label.values():
            top = counts.pop()
            counts[-1] += top
    return Timeline(
        interval_seconds=interval_seconds,
        starts=[s for s in starts if s is not None],
        counts=_split_by_label(buckets),
        polarity_bins=bins,
        polarity_counts=by_label,
        polarity_width=polarity_width,
    )


# --- text -----------------------------------------------------------------------------


def format_duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s"
    td = timedelta(seconds=round(seconds))
    hours, rest = divmod(int(td.total_seconds()), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def _one_line(text: str, width: int) -> str:
    # X sends text HTML-escaped (&amp; &lt; &gt;); show it as people wrote it.
    flat = " ".join(html.unescape(text).split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _bar(share: float, width: int = 30) -> str:
    return "█" * round(share * width)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "-"


def format_summary(summary: Summary, source: str | None = None, text_width: int = 90) -> str:
    """The human summary; `source` (e.g. the URL) is only shown in the heading."""
    where = f" ({source})" if source else ""
    lines = [f"Index {summary.index}{where}: {summary.total:,} posts"]
    if not summary.total:
        lines.append("  nothing indexed yet")
        return "\n".join(lines) + "\n"
    width = max(len(label) for label in summary.labels)
    shares = summary.shares
    lines.append("")
    for label, count in summary.labels.items():
        share = shares[label]
        lines.append(f"  {label:<{width}}  {count:>8,}  {share:6.1%}  {_bar(share)}".rstrip())
    lines.append("")
    if summary.mean_polarity is not None:
        extra = ""
        if summary.mean_confidence is not None:
            extra += f"   mean confidence {summary.mean_confidence:.3f}"
        if summary.mean_subjectivity is not None:
            extra += f"   mean subjectivity {summary.mean_subjectivity:.3f}"
        lines.append(f"  mean polarity      {summary.mean_polarity:+.3f}{extra}")
    if summary.created_first and summary.created_last:
        span = format_duration((summary.created_last - summary.created_first).total_seconds())
        lines.append(
            f"  posts created      {_when(summary.created_first)} → {_when(summary.created_last)} ({span})"
        )
    if summary.throughput is not None and summary.elapsed_seconds is not None:
        lines.append(
            f"  throughput         {summary.throughput:,.1f} posts/s "
            f"({summary.total:,} posts, first ingested → last indexed in {format_duration(summary.elapsed_seconds)})"
        )
    if summary.latency is not None:
        lat = summary.latency
        lines.append(
            f"  latency            p50 {format_duration(lat.p50)}   p95 {format_duration(lat.p95)}   "
            f"p99 {format_duration(lat.p99)}   max {format_duration(lat.max)}"
        )
        lines.append(f"                     (ingested_at → indexed_at over the newest {lat.sample:,} posts)")
    lines.extend(format_languages(summary))
    for title, posts in (("Most positive", summary.most_positive), ("Most negative", summary.most_negative)):
        if posts:
            lines.append("")
            lines.append(f"  {title}:")
            lines.extend(f"    {p.polarity:+.3f}  {_one_line(p.text, text_width)}  [{p.id}]" for p in posts)
    return "\n".join(lines) + "\n"


def format_languages(summary: Summary, top: int = 12) -> list[str]:
    """The by-language table: posts, share of the index, and each label's share of the
    language's posts (`Unsupported`: the language has no model)."""
    rows = summary.language_rows(top)
    if not rows:
        return []
    labels = [label for label in summary.labels if any(counts.get(label) for _, counts in rows)]
    width = max(8, *(len(lang) for lang, _ in rows))
    head = f"  {'language':<{width}}  {'posts':>7}  {'share':>6}" + "".join(
        f"  {label:>11}" for label in labels
    )
    lines = [
        "",
        f"  By language ({len(summary.languages)} languages, as scored; each label as a share of the language's posts):",
    ]
    lines.append(head)
    for lang, counts in rows:
        n = sum(counts.values())
        cells = "".join(
            f"  {(f'{counts[label] / n:.0%}' if counts.get(label) else '-'):>11}" for label in labels
        )
        share = n / summary.total if summary.total else 0.0
        lines.append(f"  {lang:<{width}}  {n:>7,}  {share:6.1%}{cells}")
    return lines


# --- I/O edges ------------------------------------------------------------------------


def fetch_summary(
    es: Elasticsearch, index: str, top_n: int = 3, latency_sample: int = LATENCY_SAMPLE
) -> Summary:
    """Two searches against `index` with an `elasticsearch.Elasticsearch` client."""
    response = es.search(index=index, body=summary_request(top_n))
    latency_response = es.search(index=index, body=latency_request(latency_sample))
    return parse_summary(index, response.body, latency_response.body)


def fetch_timeline(es: Elasticsearch, index: str, summary: Summary, buckets: int = 40) -> Timeline:
    body = timeline_request(summary, buckets)
    interval = int(body["aggs"]["over_time"]["date_histogram"]["fixed_interval"].rstrip("s"))
    response = es.search(index=index, body=body)
    return parse_timeline(response.body, interval)
