"""`make docs`: the reference tables of the README and the docs, written from their sources.

- configuration tables from the pydantic-settings models (`Field(description=...)`, defaults,
  constraints, Literal/Enum choices, `SecretStr` = secret);
- metrics tables from the producer's and the job's prometheus_client registries;
- the chart's values table from `charts/tweet-sentiment/values.yaml` and its `# --` comments;
- the field tables of event v1, the two dead-letter records and the Elasticsearch document
  from the contract's models (`tweet_sentiment_common.contract`, their
  `Field(description=...)`), with each indexed field's mapping from the job's index templates;
- the tweet model's card and the sentiment models' comparison from the card JSON that
  `make train-model` writes beside the artifact;
- the README's benchmark summary from docs/benchmarks.md (the page `make bench` writes).

Each table sits between `<!-- generated:NAME -->` and `<!-- end generated -->` in exactly one
document; everything outside the markers is prose and left alone.

    python -m devtools.docs          # rewrite the blocks
    python -m devtools.docs --check  # exit 1 (with a diff) when a committed block is stale
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from enum import Enum
from pathlib import Path
from statistics import fmean
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
import yaml
from pydantic import SecretStr
from pydantic.fields import FieldInfo

REPO_ROOT = Path(__file__).resolve().parents[1]
VALUES = REPO_ROOT / "charts" / "tweet-sentiment" / "values.yaml"
BENCHMARKS = REPO_ROOT / "docs" / "benchmarks.md"
DOCUMENTS = (
    "README.md",
    "docs/configuration.md",
    "docs/metrics.md",
    "charts/tweet-sentiment/README.md",
    "docs/design.md",
    "docs/event-schema.md",
    "docs/model-card.md",
    "docs/model-card-multi-lr.md",
    "docs/sentiment-quality.md",
    "docs/producer.md",
    "docs/spark-job.md",
    "images/producer/samples/README.md",
)
BLOCK = re.compile(r"(<!-- generated:([a-z0-9-]+) -->\n)(.*?)(<!-- end generated -->)", re.DOTALL)


# ---- markdown helpers ------------------------------------------------------------------------


def code(value: object) -> str:
    return f"`{value}`"


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table(header: tuple[str, ...], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


# ---- configuration ---------------------------------------------------------------------------


def _number(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def default_text(info: FieldInfo) -> str:
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    if "doc_default" in extra:
        return str(extra["doc_default"])
    if info.is_required():
        return "(required)"
    if info.default_factory is not None:
        raise ValueError("a default_factory needs json_schema_extra={'doc_default': ...} for the docs")
    value = info.default
    if value is None:
        return ""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, bool):
        value = "true" if value else "false"
    elif isinstance(value, Enum):
        value = value.value
    elif isinstance(value, (frozenset, set, tuple, list)):
        value = ",".join(sorted(str(v) for v in value))
    return code(_number(value))


def _base_type(annotation: Any) -> Any:
    """`int | None` -> int, `Annotated[Path, ...]` -> Path; anything else as it is."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _base_type(get_args(annotation)[0])
    if origin in (Union, UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _base_type(args[0])
    return annotation


def _range(info: FieldInfo) -> str:
    low = high = ""
    for meta in info.metadata:
        if isinstance(meta, annotated_types.Ge):
            low = f"≥ {_number(meta.ge)}"
        elif isinstance(meta, annotated_types.Gt):
            low = f"> {_number(meta.gt)}"
        elif isinstance(meta, annotated_types.Le):
            high = f"≤ {_number(meta.le)}"
        elif isinstance(meta, annotated_types.Lt):
            high = f"< {_number(meta.lt)}"
    return ", ".join(p for p in (low, high) if p)


def type_text(model: Any, field: str, info: FieldInfo) -> str:
    choices = model.choices(field)
    if choices:
        return ", ".join(code(c) for c in choices)
    base = _base_type(info.annotation)
    origin = get_origin(base)
    if base is bool:
        kind = "`true`, `false`"
    elif base is int:
        kind = "integer"
    elif base is float:
        kind = "number"
    elif base is Path:
        kind = "file path"
    elif origin in (tuple, frozenset, list, set):
        kind = "comma-separated list"
    else:
        kind = "string"
    pattern = next((m.pattern for m in info.metadata if getattr(m, "pattern", None)), None)
    if pattern:
        kind += f" matching {code(pattern)}"
    limits = _range(info)
    return f"{kind}, {limits}" if limits else kind


def settings_rows(model: Any, fields: list[str]) -> list[tuple[str, ...]]:
    secrets = model.secret_fields()
    rows: list[tuple[str, ...]] = []
    for field in fields:
        info = model.model_fields[field]
        if not info.description:
            raise ValueError(f"{model.__name__}.{field} has no Field(description=...)")
        rows.append(
            (
                code(model.env_name(field)),
                default_text(info),
                type_text(model, field, info),
                "yes" if field in secrets else "",
                info.description,
            )
        )
    return rows


def settings_table(model: Any, *, without: tuple[Any, ...] = ()) -> str:
    skip = {f for base in without for f in base.model_fields}
    fields = [f for f in model.model_fields if f not in skip]
    header = ("variable", "default", "type / allowed values", "secret", "description")
    return table(header, settings_rows(model, fields))


def config_kafka() -> str:
    from tweet_sentiment_common.settings import KafkaClientSettings

    return settings_table(KafkaClientSettings)


def config_producer() -> str:
    from tweet_producer.settings import Settings
    from tweet_sentiment_common.settings import KafkaClientSettings

    return settings_table(Settings, without=(KafkaClientSettings,))


def config_job() -> str:
    from sentiment_job.settings import EsSettings, Settings
    from tweet_sentiment_common.settings import KafkaClientSettings

    return settings_table(Settings, without=(KafkaClientSettings, EsSettings))


def config_es() -> str:
    from sentiment_job.settings import EsSettings

    return settings_table(EsSettings)


# ---- metrics ---------------------------------------------------------------------------------


def registry_rows(registry: Any) -> list[tuple[str, ...]]:
    """One row per collector of a prometheus_client registry: exposed name, type, labels
    (with their values when the code creates every child up front), help."""
    rows: list[tuple[str, ...]] = []
    # The registry keeps its collectors in registration order; there is no public accessor.
    for collector in list(registry._collector_to_names):
        for family in collector.collect():
            labelnames = tuple(getattr(collector, "_labelnames", ()))
            name = family.name + ("_total" if family.type == "counter" else "")
            labels = []
            for label in labelnames:
                values = sorted({s.labels[label] for s in family.samples if label in s.labels})
                shown = code(label)
                if len(values) > 1:
                    shown += " (" + ", ".join(code(v) for v in values) + ")"
                labels.append(shown)
            help_text = family.documentation
            if family.type == "histogram":
                bounds = [s.labels["le"] for s in family.samples if s.name.endswith("_bucket")]
                bounds = [_number(float(b)) for b in bounds if b != "+Inf"]
                help_text += f" Buckets (s): {', '.join(bounds)}."
            rows.append((code(name), family.type, ", ".join(labels), help_text))
    return rows


def metrics_producer() -> str:
    from prometheus_client import CollectorRegistry

    from tweet_producer.metrics import Metrics

    registry = CollectorRegistry()
    Metrics("replay", registry=registry)
    return table(("metric", "type", "labels", "help"), registry_rows(registry))


def metrics_job() -> str:
    from prometheus_client import CollectorRegistry

    from sentiment_job.metrics import JobMetrics

    registry = CollectorRegistry()
    JobMetrics(registry=registry)
    return table(("metric", "type", "labels", "help"), registry_rows(registry))


# ---- the contract's Elasticsearch records ----------------------------------------------------


def _json_type(annotation: Any) -> str:
    """`str` -> string, `float | None` -> number or null, a Literal -> string."""
    args = get_args(annotation) if get_origin(annotation) in (Union, UnionType) else (annotation,)
    names = []
    for arg in args:
        if arg is type(None):
            continue
        base = _base_type(arg)
        names.append({int: "integer", float: "number", bool: "boolean"}.get(base, "string"))
    kind = " or ".join(dict.fromkeys(names))
    return f"{kind} or null" if type(None) in args else kind


def _mapping_text(spec: dict[str, Any]) -> str:
    """`keyword`, `text` + `.keyword` (`keyword`, ignore_above 1024), ..."""
    text = code(spec.get("type", "object"))
    if "ignore_above" in spec:
        text += f" (ignore_above {spec['ignore_above']})"
    for sub, sub_spec in (spec.get("fields") or {}).items():
        params = ", ".join(
            [code(sub_spec.get("type")), *(f"{k} {v}" for k, v in sub_spec.items() if k != "type")]
        )
        text += f" + `.{sub}` ({params})"
    return text


def _record_type(model: Any, info: FieldInfo) -> str:
    base = _base_type(info.annotation)
    choices = get_args(base) if get_origin(base) is Literal else ()
    if choices:
        kind = ", ".join(code(c) for c in choices)
        return f"integer, always {kind}" if all(isinstance(c, int) for c in choices) else kind
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    kind = _json_type(info.annotation)
    if extra.get("format") == "date-time":
        kind += ", RFC 3339 UTC"
    return kind


def _described(model: Any) -> Iterator[tuple[str, FieldInfo]]:
    for name, info in model.model_fields.items():
        if not info.description:
            raise ValueError(f"{model.__name__}.{name} has no Field(description=...)")
        yield name, info


def kafka_record_table(model: Any) -> str:
    """field | type | required | description, one row per field of a Kafka record model."""
    rows = [
        (code(name), _record_type(model, info), "yes" if info.is_required() else "no", info.description or "")
        for name, info in _described(model)
    ]
    return table(("field", "type", "required", "description"), rows)


def record_table(model: Any, template: str) -> str:
    """field | type | Elasticsearch mapping | description, one row per model field."""
    from importlib.resources import files

    resource = files("sentiment_job").joinpath("resources").joinpath(template)
    mapping = json.loads(resource.read_text(encoding="utf-8"))["template"]["mappings"]["properties"]
    rows: list[tuple[str, ...]] = []
    for name, info in _described(model):
        if name not in mapping:
            raise ValueError(f"{template} does not map {model.__name__}.{name}")
        rows.append(
            (code(name), _record_type(model, info), _mapping_text(mapping[name]), info.description or "")
        )
    return table(("field", "type", "mapping", "description"), rows)


def contract_event() -> str:
    from tweet_sentiment_common.contract import Event

    return kafka_record_table(Event)


def contract_deletion() -> str:
    from tweet_sentiment_common.contract import DeletionEvent

    return kafka_record_table(DeletionEvent)


def contract_producer_deadletter() -> str:
    from tweet_sentiment_common.contract import ProducerDeadLetter

    return kafka_record_table(ProducerDeadLetter)


def contract_reasons() -> str:
    """reason | used by | when, in the contract's order of the one vocabulary."""
    from tweet_sentiment_common import contract

    rows = []
    for reason in contract.REASONS:
        users = [
            who
            for who, used in (("producer", contract.PRODUCER_REASONS), ("job", contract.JOB_REASONS))
            if reason in used
        ]
        rows.append((code(reason), ", ".join(users), contract.REASON_DESCRIPTIONS[reason]))
    return table(("reason", "used by", "when"), rows)


def contract_document() -> str:
    from tweet_sentiment_common.contract import Document

    return record_table(Document, "index-template.json")


def contract_job_deadletter() -> str:
    from tweet_sentiment_common.contract import JobDeadLetter

    return record_table(JobDeadLetter, "deadletter-template.json")


# ---- chart values ----------------------------------------------------------------------------

_KEY = re.compile(r"^(\s*)([A-Za-z0-9_.\-/]+):(.*)$")


def documented_values(text: str) -> Iterator[tuple[str, str]]:
    """(dotted key, description) of every key with a helm-docs `# --` comment, in file order;
    the keys inside a documented value (a map such as `resources`) are part of that value."""
    lines = text.splitlines()
    stack: list[tuple[int, str, bool]] = []  # indent, key, documented
    for i, line in enumerate(lines):
        match = _KEY.match(line)
        if not match or line.lstrip().startswith(("#", "-")):
            continue
        indent, key = len(match.group(1)), match.group(2)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if any(documented for _, _, documented in stack):
            continue
        comment: list[str] = []
        j = i - 1
        while j >= 0 and lines[j].strip().startswith("#"):
            comment.insert(0, lines[j].strip().lstrip("#").strip())
            j -= 1
        start = next((k for k, c in enumerate(comment) if c.startswith("--")), None)
        description = " ".join(comment[start:])[2:].strip() if start is not None else ""
        stack.append((indent, key, bool(description)))
        if description:
            yield ".".join(k for _, k, _ in stack), description


def _lookup(values: dict[str, Any], dotted: str) -> Any:
    node: Any = values
    for part in dotted.split("."):
        node = node[part]
    return node


def _yaml_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "list"
    return "string"


def chart_values() -> str:
    text = VALUES.read_text()
    values = yaml.safe_load(text)
    rows = []
    for key, description in documented_values(text):
        value = _lookup(values, key)
        rows.append((code(key), _yaml_type(value), code(json.dumps(value, ensure_ascii=False)), description))
    return table(("key", "type", "default", "description"), rows)


# ---- the benchmark summary -------------------------------------------------------------------


def _section(text: str, heading: str) -> list[str]:
    """The lines under `## heading`, up to the next `## `."""
    lines = text.splitlines()
    start = lines.index(f"## {heading}") + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("## ")), len(lines))
    return lines[start:end]


def bench_summary() -> str:
    """The README's short version of docs/benchmarks.md: when and on what `make bench` ran, and
    the page's targets table as it is (the page is the one source; `make bench` writes it)."""
    text = BENCHMARKS.read_text(encoding="utf-8")
    machine = {}
    for line in _section(text, "Machine and run"):
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("|") and len(cells) == 2:
            machine[cells[0]] = cells[1]
    targets = [line for line in _section(text, "Against the targets") if line.startswith("|")]
    if not targets:
        raise ValueError(f"{BENCHMARKS.name} has no table under 'Against the targets'")
    intro = (
        f"`make bench` of {machine['date']} on {machine['CPUs (nproc)']} CPUs ({machine['CPU model']}, "
        f"{machine['RAM']}), Kafka, Elasticsearch, the producer and the job sharing them:\n\n"
    )
    return intro + "\n".join(targets) + "\n"


# ---- the tweet model's card ------------------------------------------------------------------


def _card() -> dict[str, Any]:
    from sentiment_job.linear_model import bundled_paths
    from sentiment_job.sentiment import TWEET_MODEL

    card: dict[str, Any] = json.loads(bundled_paths(TWEET_MODEL)[1].read_text(encoding="utf-8"))
    return card


def _confusion(matrix: dict[str, dict[str, int]]) -> str:
    labels = list(matrix)
    rows = [
        (
            f"**{g}**",
            *(f"**{matrix[g][p]}**" if g == p else str(matrix[g][p]) for p in labels),
            str(sum(matrix[g].values())),
        )
        for g in labels
    ]
    return table(("gold \\ predicted", *labels, "total"), rows)


def _scores(row: dict[str, Any]) -> tuple[str, str, str]:
    return tuple(f"{row[k]:.3f}" for k in ("accuracy", "macro_recall", "macro_f1"))  # type: ignore[return-value]


def model_card() -> str:
    card = _card()
    hp, data, art = card["hyperparameters"], card["data"], card["artifact"]
    facts = [
        ("model", code(card["name"]) + " (`SENTIMENT_MODEL=tweet-lr`; English only)"),
        ("artifact", f"{code('sentiment_job/resources/model/' + art['file'])}, {art['bytes']:,} bytes"),
        ("artifact sha256", code(art["sha256"]) + " (checked at every load)"),
        (
            "train data",
            f"{code(data['train']['file'])}: {data['train']['n']:,} tweets, sha256 {code(data['train']['sha256'][:16] + '…')}",
        ),
        (
            "selection data",
            f"{code(data['val']['file'])}: {data['val']['n']:,} tweets, sha256 {code(data['val']['sha256'][:16] + '…')}",
        ),
        ("test data", data["test"]),
        ("estimator", card["method"]["estimator"]),
        ("features", card["method"]["features"]),
        ("preprocessing", card["method"]["preprocessing"]),
        ("selection", card["method"]["selection"]),
        ("seed", code(card["seed"])),
        (
            "training time",
            f"{card['training_seconds']} s (load average {card['load_average_at_start']} at start)",
        ),
        *[
            (
                "speed",
                f"{row['posts_per_second']:,} posts/s on one core, clean + score (same run; "
                "[every model](sentiment-quality.md#every-model-one-run))",
            )
            for row in card.get("comparison", [])
            if row["model"] == card["name"]
        ],
        ("environment", ", ".join(f"{k} {v}" for k, v in card["environment"].items())),
    ]
    parts = [table(("", ""), facts), "\n**Hyper-parameters** (all of them):\n\n"]
    parts.append(
        table(("name", "value"), [(code(k), code(json.dumps(v, ensure_ascii=False))) for k, v in hp.items()])
    )
    parts.append("\n**Selection grid** (each point fitted on train, scored on val):\n\n")
    parts.append(
        table(
            ("min_df", "C", "features", "iterations", "accuracy", "macro recall", "macro F1"),
            [
                (str(g["min_df"]), str(g["C"]), f"{g['features']:,}", str(g["iterations"]), *_scores(g))
                for g in card["grid"]
            ],
        )
    )
    val = card["val"]
    parts.append(
        f"\n**On val** (the shipped artifact, scored by the job's own code): accuracy {val['accuracy']:.3f}, "
        f"macro recall {val['macro_recall']:.3f}, macro F1 {val['macro_f1']:.3f}.\n\n"
    )
    parts.append(_confusion(val["confusion"]))
    return "".join(parts)


def sentiment_comparison() -> str:
    card = _card()
    rows = [(code(r["model"]), *_scores(r), f"{r['posts_per_second']:,}") for r in card["comparison"]]
    parts = [
        table(("model", "accuracy", "macro recall", "macro F1", "posts/s, one core (clean + score)"), rows),
        f"\nMeasured in one `make train-model` run (load average {card['comparison_load_average']} when the speed "
        "part started); speed is the best of 5 rounds of CPU time over the 2,000 val posts, one process pinned "
        "to one core.\n\n**Other approaches tried** in the same run (same features unless named, the chosen C; "
        "the frontier behind the choice):\n\n",
        table(
            ("approach", "accuracy", "macro recall", "macro F1"),
            [(a["approach"], *_scores(a)) for a in card["alternatives"]],
        ),
    ]
    return "".join(parts)


def sentiment_summary() -> str:
    """The README's short version: quality and speed per model, the default first."""
    rows = [
        (
            code(r["model"]),
            f"{r['macro_recall']:.3f}",
            f"{r['macro_f1']:.3f}",
            f"~{r['posts_per_second'] / 1000:.1f}k posts/s",
        )
        for r in _card()["comparison"]
    ]
    return table(("model", "macro recall", "macro F1", "one core, clean + score"), rows)


# ---- multi-lr's card and the multilingual comparison -----------------------------------------

LANGUAGE_ORDER = ("ar", "de", "en", "es", "fr", "hi", "it", "pt")


def _multi_card() -> dict[str, Any]:
    from sentiment_job.linear_model import bundled_paths
    from sentiment_job.sentiment import MULTI_MODEL

    card: dict[str, Any] = json.loads(bundled_paths(MULTI_MODEL)[1].read_text(encoding="utf-8"))
    return card


def _pct(value: float) -> str:
    return f"{100 * value:.1f}"


def multi_model_card() -> str:
    card = _multi_card()
    hp, data, art = card["hyperparameters"], card["data"], card["artifact"]
    facts = [
        ("model", code(card["name"]) + " (`SENTIMENT_MODEL`, the default)"),
        ("languages", ", ".join(code(lang) for lang in card["languages"])),
        ("artifact", f"{code('sentiment_job/resources/model/' + art['file'])}, {art['bytes']:,} bytes"),
        ("artifact sha256", code(art["sha256"]) + " (checked at every load)"),
        ("benchmark", data["benchmark"]),
        (
            "English train data",
            f"{code(data['english_train']['file'])}: {data['english_train']['n']:,} tweets, "
            f"sha256 {code(data['english_train']['sha256'][:16] + '…')}",
        ),
        ("emoji lexicon", data["emoji_lexicon"]),
        ("test data", data["test"]),
        ("estimator", card["method"]["estimator"]),
        ("features", card["method"]["features"]),
        ("English", card["method"]["english"]),
        ("selection", card["method"]["selection"]),
        ("seed", code(str(card["seed"]))),
        (
            "training time",
            f"{card['training_seconds']} s (load average {card['load_average_at_start']} at start)",
        ),
        ("environment", ", ".join(f"{k} {v}" for k, v in card["environment"].items())),
    ]
    parts = [table(("", ""), facts)]
    parts.append("\n**Data per language** (UMSAB; the source dataset each language's posts come from):\n\n")
    parts.append(
        table(
            ("language", "source dataset (cite it)", "train", "val", "train sha256"),
            [
                (
                    code(lang),
                    data["umsab"][lang]["source"],
                    f"{data['umsab'][lang]['train']['n']:,}",
                    f"{data['umsab'][lang]['val']['n']:,}",
                    code(data["umsab"][lang]["train"]["sha256"][:16] + "…"),
                )
                for lang in card["languages"]
            ],
        )
    )
    parts.append("\n**Hyper-parameters** (all of them):\n\n")
    parts.append(
        table(("name", "value"), [(code(k), code(json.dumps(v, ensure_ascii=False))) for k, v in hp.items()])
    )
    parts.append(
        "\n**Selection grid** (the UMSAB-trained models; each point fitted on every language's train split, "
        "scored on its val split; val macro F1):\n\n"
    )
    parts.append(
        table(
            ("lexicon", "C", "average", *LANGUAGE_ORDER),
            [
                (
                    g["lexicon"],
                    str(g["C"]),
                    f"**{g['macro_f1']:.3f}**",
                    *(f"{g['macro_f1_per_language'][lang]:.3f}" for lang in LANGUAGE_ORDER),
                )
                for g in card["grid"]
            ],
        )
    )
    english = card["english_tweeteval_val"]
    parts.append(
        f"\n**English on TweetEval val** (the English model, 2,000 tweets): accuracy {english['accuracy']:.3f}, "
        f"macro recall {english['macro_recall']:.3f}, macro F1 {english['macro_f1']:.3f}.\n"
    )
    average = card["val_average"]
    parts.append(
        f"\n**On UMSAB val** (the shipped artifact, scored by the job's own code): average macro F1 "
        f"{average['macro_f1']:.3f}, macro recall {average['macro_recall']:.3f}.\n\n"
    )
    parts.append(
        table(
            ("language", "accuracy", "macro recall", "macro F1"),
            [(code(lang), *_scores(card["val"][lang])) for lang in card["languages"]],
        )
    )
    for lang in card["languages"]:
        parts.append(f"\n`{lang}` (gold rows, predicted columns):\n\n")
        parts.append(_confusion(card["val"][lang]["confusion"]))
    speed = card.get("speed")
    if speed:
        parts.append(
            f"\n**Speed**: {speed['posts_per_second'][next(iter(speed['posts_per_second']))]:,} posts/s on one "
            "core, clean + language identification + score of a mixed batch "
            "([the frontier](sentiment-quality.md#multilingual-models)).\n"
        )
    return "".join(parts)


def multilingual_comparison() -> str:
    card = _multi_card()
    speed = card["speed"]
    figures = speed["posts_per_second"]
    rows = []
    for name, design in card["designs"].items():
        posts = next((v for k, v in figures.items() if k == name), None)
        rows.append(
            (
                name,
                f"{design['macro_f1']:.3f}",
                f"{design['macro_recall']:.3f}",
                f"{posts:,}" if posts else "",
            )
        )
    tweet = next(v for k, v in figures.items() if k.startswith("tweet-lr"))
    baseline = card["baselines"]["tweet-lr"]
    rows.append(
        (
            "tweet-lr (every language scored as English)",
            f"{fmean([baseline[lang]['macro_f1'] for lang in LANGUAGE_ORDER]):.3f}",
            f"{fmean([baseline[lang]['macro_recall'] for lang in LANGUAGE_ORDER]):.3f}",
            f"{tweet:,} (English only)",
        )
    )
    batch = speed["batch"]
    shares = ", ".join(f"{lang} {share:.0%}" for lang, share in batch["shares"].items())
    parts = [
        "**The frontier** (UMSAB val, average over the 8 languages; posts/s on one core for clean + language "
        "identification + score of one mixed batch, every design and `tweet-lr` timed in the same run):\n\n",
        table(("design", "val macro F1", "val macro recall", "posts/s, one core"), rows),
        f"\nThe batch: {batch['posts']:,} raw UMSAB val posts ({shares}), {batch['untagged']} of them untagged "
        f"(left to the identifier). Load average {speed['load_average']} when the timing started (2 CPUs shared "
        "with other work: compare the rows, not the absolute figures); best of 5 rounds of CPU time each, the "
        "rounds interleaved.\n\n",
    ]
    models: list[tuple[str, dict[str, Any]]] = [
        (f"`{card['name']}` (shipped)", card["val"]),
        *((f"design: {name}", d["val"]) for name, d in card["designs"].items() if "shipped" not in name),
        *((f"`{name}` (as English)", per) for name, per in card["baselines"].items()),
    ]
    header = ("model", "split", *(f"{lang} R / F1" for lang in LANGUAGE_ORDER), "average R / F1")
    body = []
    for name, per in models:
        cells = [
            f"{_pct(per[lang]['macro_recall'])} / {_pct(per[lang]['macro_f1'])}" for lang in LANGUAGE_ORDER
        ]
        recall = fmean([per[lang]["macro_recall"] for lang in LANGUAGE_ORDER])
        f1 = fmean([per[lang]["macro_f1"] for lang in LANGUAGE_ORDER])
        body.append((name, "val", *cells, f"{_pct(float(recall))} / {_pct(float(f1))}"))
    for name, per in card["published_test_macro_f1"].items():
        cells = [f"– / {per[lang]:.1f}" for lang in LANGUAGE_ORDER]
        body.append((f"{name} (published)", "**test**", *cells, f"– / {fmean(list(per.values())):.1f}"))
    parts.append(
        "**Every model × every language** (macro recall / macro F1, ×100; our rows on UMSAB **val**, 324 posts "
        "per language, ±2.5 points by chance; the published rows on the held-out **test** split, which we "
        "never read: not the same posts, so compare with care):\n\n"
    )
    parts.append(table(header, body))
    return "".join(parts)


SAMPLES = REPO_ROOT / "images" / "producer" / "samples"


def sample_mix() -> str:
    """The sample posts by language, intent and kind, counted from the files themselves."""
    import csv

    rows = list(csv.DictReader((SAMPLES / "posts.intents.tsv").open(encoding="utf-8"), delimiter="\t"))
    total = len(rows)
    langs: dict[str, int] = {}
    for row in rows:
        langs[row["lang"]] = langs.get(row["lang"], 0) + 1
    by_lang = sorted(langs.items(), key=lambda item: (-item[1], item[0]))
    lang_rows = [(code(lang), str(n), f"{100 * n / total:.1f} %") for lang, n in by_lang]

    def counts(column: str) -> list[tuple[str, str]]:
        seen: dict[str, int] = {}
        for row in rows:
            seen[row[column]] = seen.get(row[column], 0) + 1
        return [(name, str(n)) for name, n in sorted(seen.items(), key=lambda item: (-item[1], item[0]))]

    return (
        table(("lang", "posts", "share"), lang_rows)
        + "\n"
        + table(("intent", "posts"), [*counts("intent"), ("total", str(total))])
        + "\n"
        + table(("kind", "posts"), counts("kind"))
    )


GENERATORS: dict[str, Callable[[], str]] = {
    "sample-mix": sample_mix,
    "config-kafka": config_kafka,
    "config-producer": config_producer,
    "config-job": config_job,
    "config-es": config_es,
    "metrics-producer": metrics_producer,
    "metrics-job": metrics_job,
    "chart-values": chart_values,
    "bench-summary": bench_summary,
    "contract-event": contract_event,
    "contract-deletion": contract_deletion,
    "contract-producer-deadletter": contract_producer_deadletter,
    "contract-reasons": contract_reasons,
    "contract-document": contract_document,
    "contract-job-deadletter": contract_job_deadletter,
    "model-card": model_card,
    "sentiment-comparison": sentiment_comparison,
    "sentiment-summary": sentiment_summary,
    "multi-model-card": multi_model_card,
    "multilingual-comparison": multilingual_comparison,
}


def render_all(root: Path = REPO_ROOT) -> dict[Path, tuple[str, str]]:
    """{document: (committed text, generated text)}. Every block appears in exactly one
    document (one place per fact) and every name is one of GENERATORS."""
    rendered = {name: generate() for name, generate in GENERATORS.items()}
    seen: dict[str, str] = {}
    out = {}
    for rel in DOCUMENTS:
        path = root / rel
        text = path.read_text(encoding="utf-8")

        def replace(match: re.Match[str], rel: str = rel) -> str:
            name = match.group(2)
            if name not in rendered:
                raise ValueError(f"{rel}: unknown generated block {name!r}")
            if name in seen:
                raise ValueError(f"{rel}: block {name!r} is already in {seen[name]}; one place per fact")
            seen[name] = rel
            return match.group(1) + rendered[name] + match.group(4)

        out[path] = (text, BLOCK.sub(replace, text))
    unused = sorted(set(GENERATORS) - set(seen))
    if unused:
        raise ValueError(f"generated blocks in no document: {unused}")
    return out


def stale(root: Path = REPO_ROOT) -> list[str]:
    """A unified diff per document whose committed blocks differ from what `make docs` writes."""
    diffs = []
    for path, (old, new) in render_all(root).items():
        if old != new:
            rel = str(path.relative_to(root))
            diff = difflib.unified_diff(old.splitlines(True), new.splitlines(True), rel, f"{rel} (make docs)")
            diffs.append("".join(diff))
    return diffs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.docs", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the committed docs are stale")
    args = parser.parse_args(argv)
    if args.check:
        diffs = stale()
        for diff in diffs:
            sys.stdout.write(diff)
        if diffs:
            print("\nthe generated docs are stale: run `make docs`", file=sys.stderr)
        return 1 if diffs else 0
    for path, (old, new) in render_all().items():
        if old != new:
            path.write_text(new, encoding="utf-8")
            print(f"wrote {path.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
