"""Checks of monitoring as code, pure functions that return a list of problems (empty means
fine): Prometheus rules and their promtool unit tests, Grafana dashboards, Kibana saved
objects, and which metrics a PromQL expression reads.

PromQL is parsed by promql-parser (a Python binding of the Rust promql-parser crate, pinned in
tests/requirements.txt): an expression that does not parse is a problem too.
tests/charts/test_monitoring.py runs these checks on our artefacts;
tests/charts/test_monitoring_checks.py shows each of them failing on broken input.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import promql_parser

REPO_ROOT = Path(__file__).resolve().parents[2]
PRODUCER_METRICS = REPO_ROOT / "images" / "producer" / "src" / "tweet_producer" / "metrics.py"
JOB_METRICS = REPO_ROOT / "images" / "spark-job" / "src" / "sentiment_job" / "metrics.py"
ES_INDEX = "tweets-sentiment"  # ES_INDEX's default
ES_DEADLETTER_INDEX = "tweets-sentiment-deadletter"
SEVERITIES = {"critical", "warning", "info"}
GRAFANA_COLUMNS = 24
KIBANA_COLUMNS = 48


# ---- PromQL: which metrics does an expression read? ---------------------------------------------

# Grafana's template variables: $x, ${x}, ${x:format}, [[x]].
_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]")


def concrete(expr: str) -> str:
    """`expr` with Grafana's interval variables as 5m and every other variable as `x`, so it
    is plain PromQL."""
    expr = re.sub(r"\$\{?__(rate_interval|interval|range)\}?", "5m", expr)
    return _VARIABLE.sub("x", expr)


def promql_metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression selects (`name{...}` and `{__name__="name"}`), Grafana
    variables allowed. Raises ValueError when it does not parse."""
    names: set[str] = set()

    def visit(node: promql_parser.Expr) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            if node.name:
                names.add(node.name)
            names.update(m.value for m in node.matchers.matchers if m.name == "__name__")

    promql_parser.walk(promql_parser.parse(concrete(expr)), visit)
    return names


def unknown_metrics(exprs: Iterable[tuple[str, str]], known: set[str]) -> list[str]:
    """`where: ...` problems for every expression that does not parse and every metric an
    expression reads that is not in `known`."""
    problems = []
    for where, expr in exprs:
        try:
            names = promql_metric_names(expr)
        except ValueError as exc:
            problems.append(f"{where}: does not parse: {exc}")
            continue
        problems += [f"{where}: unknown metric {name!r}" for name in sorted(names) if name not in known]
    return problems


# ---- metrics our code registers -------------------------------------------------------------


@dataclass(frozen=True)
class Metric:
    """One metric family as scraped: `name` is the exposed name (counters end in _total)."""

    name: str
    kind: str  # counter, gauge, histogram, summary, info, stateset, unknown
    labels: frozenset[str]
    buckets: tuple[float, ...] = ()  # histogram upper bounds, +Inf excluded


def series_names(metric: Metric) -> set[str]:
    """The sample names Prometheus stores for a family (prometheus_client's exposition)."""
    if metric.kind == "counter":
        base = metric.name.removesuffix("_total")
        return {f"{base}_total", f"{base}_created"}
    if metric.kind == "histogram":
        return {f"{metric.name}_{suffix}" for suffix in ("bucket", "sum", "count", "created")}
    if metric.kind == "summary":
        return {metric.name} | {f"{metric.name}_{suffix}" for suffix in ("sum", "count", "created")}
    if metric.kind == "info":
        return {f"{metric.name}_info"}
    return {metric.name}


def registry_metrics(registry: Any) -> dict[str, Metric]:
    """The families of a prometheus_client CollectorRegistry, by exposed name."""
    # Label names of metrics without children only live on the metric objects (private API;
    # prometheus_client is pinned in constraints.txt).
    labelnames = {
        getattr(c, "_name", None): tuple(getattr(c, "_labelnames", ()))
        for c in list(registry._collector_to_names)
    }
    out: dict[str, Metric] = {}
    for family in registry.collect():
        labels = set(labelnames.get(family.name) or ())
        buckets: list[float] = []
        for sample in family.samples:
            labels |= set(sample.labels) - {"le", "quantile"}
            if sample.name.endswith("_bucket") and sample.labels.get("le") not in (None, "+Inf"):
                buckets.append(float(sample.labels["le"]))
        name = f"{family.name}_total" if family.type == "counter" else family.name
        out[name] = Metric(name, family.type, frozenset(labels), tuple(sorted(set(buckets))))
    return out


def _producer_registry() -> Any:
    from prometheus_client import CollectorRegistry

    from tweet_producer.metrics import Metrics

    registry = CollectorRegistry()
    Metrics("synthetic", registry=registry)
    return registry


def _job_registry() -> Any:
    from prometheus_client import CollectorRegistry

    from sentiment_job.metrics import JobMetrics

    registry = CollectorRegistry()
    JobMetrics(registry=registry)
    return registry


COMPONENTS: dict[str, tuple[Path, Callable[[], Any]]] = {
    "producer": (PRODUCER_METRICS, _producer_registry),
    "job": (JOB_METRICS, _job_registry),
}


@cache
def component_metrics(component: str) -> tuple[dict[str, Metric], str]:
    """(metrics, where they came from): the code's registry."""
    path, build = COMPONENTS[component]
    try:
        registry = build()
    except Exception as exc:  # an import or constructor change must say which module broke
        raise RuntimeError(
            f"cannot build the {component} metrics from {path.relative_to(REPO_ROOT)}"
        ) from exc
    return registry_metrics(registry), str(path.relative_to(REPO_ROOT))


def emitted_series() -> set[str]:
    return {s for c in COMPONENTS for m in component_metrics(c)[0].values() for s in series_names(m)}


# ---- Prometheus rules ---------------------------------------------------------------------------


def iter_rules(rules_doc: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for group in rules_doc.get("groups") or []:
        for rule in group.get("rules") or []:
            yield str(group.get("name")), rule


def rule_exprs(rules_doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [
        (f"rule {rule.get('alert') or rule.get('record')}", str(rule.get("expr", "")))
        for _, rule in iter_rules(rules_doc)
    ]


def recording_names(rules_doc: Mapping[str, Any]) -> set[str]:
    return {rule["record"] for _, rule in iter_rules(rules_doc) if "record" in rule}


def alert_names(rules_doc: Mapping[str, Any]) -> list[str]:
    return [rule["alert"] for _, rule in iter_rules(rules_doc) if "alert" in rule]


def markdown_anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    anchors = set()
    for line in markdown.splitlines():
        if match := re.match(r"#{1,6}\s+(.*)", line):
            text = re.sub(r"[^\w\- ]", "", match.group(1).strip().lower())
            anchors.add(text.replace(" ", "-"))
    return anchors


def check_rules(rules_doc: Mapping[str, Any], runbook_anchors: set[str]) -> list[str]:
    """Conventions promtool does not check: severities, annotations, runbook links, names."""
    problems: list[str] = []
    groups = [g.get("name") for g in rules_doc.get("groups") or []]
    if not groups:
        problems.append("no rule groups")
    problems += [f"group {g!r} is defined twice" for g in set(groups) if groups.count(g) > 1]
    seen: set[str] = set()
    for group, rule in iter_rules(rules_doc):
        name = rule.get("alert") or rule.get("record")
        where = f"{group}/{name}"
        if name in seen:
            problems.append(f"{where}: defined twice")
        seen.add(name)
        if "record" in rule:
            if not re.fullmatch(r"[a-zA-Z_]\w*:[\w:]+", rule["record"]):
                problems.append(f"{where}: recording rule names follow level:metric:operations")
            continue
        if not str(name).startswith("TweetSentiment"):
            problems.append(f"{where}: alert names start with TweetSentiment")
        severity = (rule.get("labels") or {}).get("severity")
        if severity not in SEVERITIES:
            problems.append(f"{where}: severity label {severity!r} is not one of {sorted(SEVERITIES)}")
        annotations = rule.get("annotations") or {}
        for key in ("summary", "description", "runbook_url"):
            if not str(annotations.get(key, "")).strip():
                problems.append(f"{where}: missing annotation {key}")
        runbook = str(annotations.get("runbook_url", ""))
        path, _, anchor = runbook.partition("#")
        if runbook and (
            not path.endswith("charts/tweet-sentiment/files/RUNBOOK.md") or anchor not in runbook_anchors
        ):
            problems.append(f"{where}: runbook_url {runbook!r} is not a section of files/RUNBOOK.md")
    return problems


def check_rule_test_coverage(rules_doc: Mapping[str, Any], tests_doc: Mapping[str, Any]) -> list[str]:
    """Every alert has a promtool case where it fires and one where it stays quiet."""
    fires: set[str] = set()
    quiet: set[str] = set()
    for test in tests_doc.get("tests") or []:
        for case in test.get("alert_rule_test") or []:
            (fires if case.get("exp_alerts") else quiet).add(case.get("alertname"))
    alerts = alert_names(rules_doc)
    problems = [f"{a}: no unit test where it fires" for a in alerts if a not in fires]
    problems += [f"{a}: no unit test where it stays quiet" for a in alerts if a not in quiet]
    problems += [f"unit tests name unknown alert {a!r}" for a in sorted((fires | quiet) - set(alerts))]
    return problems


# ---- Grafana ------------------------------------------------------------------------------------

DS_UID = "${DS_PROMETHEUS}"


def grafana_panels(dashboard: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every panel, including those inside collapsed rows."""
    out = []
    for panel in dashboard.get("panels") or []:
        out.append(panel)
        out.extend(panel.get("panels") or [])
    return out


def _variable_query(variable: Mapping[str, Any]) -> str:
    query = variable.get("query", "")
    return str(query.get("query", "") if isinstance(query, Mapping) else query)


def grafana_exprs(dashboard: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(where, PromQL) of every panel target and every query variable."""
    out = [
        (f"panel {panel.get('id')} {panel.get('title')!r} target {target.get('refId')}", target["expr"])
        for panel in grafana_panels(dashboard)
        for target in panel.get("targets") or []
        if target.get("expr")
    ]
    for variable in (dashboard.get("templating") or {}).get("list") or []:
        if variable.get("type") != "query":
            continue
        query = _variable_query(variable)
        if match := re.fullmatch(r"\s*(?:label_values|query_result)\((.*)\)\s*", query, re.DOTALL):
            selector = match.group(1)
            if query.lstrip().startswith("label_values"):
                selector = selector.rsplit(",", 1)[0] if "," in selector else ""
            if selector.strip():
                out.append((f"variable {variable.get('name')}", selector))
    return out


def _overlaps(boxes: list[tuple[str, int, int, int, int]]) -> list[str]:
    problems = []
    for i, (a, ax, ay, aw, ah) in enumerate(boxes):
        for b, bx, by, bw, bh in boxes[i + 1 :]:
            if ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah:
                problems.append(f"{a} overlaps {b}")
    return problems


def datasource_uid(datasource: Any) -> Any:
    return datasource.get("uid") if isinstance(datasource, Mapping) else datasource


def check_dashboard(dashboard: Mapping[str, Any]) -> list[str]:
    """Structure Grafana needs for an importable, sidecar-provisioned dashboard."""
    problems: list[str] = []
    for key in ("uid", "title", "schemaVersion", "panels", "templating"):
        if key not in dashboard:
            problems.append(f"dashboard has no {key!r}")
    variables = {v.get("name"): v for v in (dashboard.get("templating") or {}).get("list") or []}
    ds = variables.get("DS_PROMETHEUS")
    if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        problems.append("templating needs a DS_PROMETHEUS variable of type datasource (query: prometheus)")
    if not any(i.get("name") == "DS_PROMETHEUS" for i in dashboard.get("__inputs") or []):
        problems.append("__inputs has no DS_PROMETHEUS datasource input")
    ids: dict[Any, int] = {}
    boxes = []
    for panel in grafana_panels(dashboard):
        where = f"panel {panel.get('id')} {panel.get('title')!r}"
        if not isinstance(panel.get("id"), int):
            problems.append(f"{where}: id must be an integer")
        ids[panel.get("id")] = ids.get(panel.get("id"), 0) + 1
        if not panel.get("type"):
            problems.append(f"{where}: no type")
        pos = panel.get("gridPos") or {}
        if not all(isinstance(pos.get(k), int) for k in ("h", "w", "x", "y")):
            problems.append(f"{where}: gridPos needs integer h, w, x, y")
        else:
            if pos["x"] + pos["w"] > GRAFANA_COLUMNS:
                problems.append(f"{where}: wider than the {GRAFANA_COLUMNS}-column grid")
            boxes.append((where, pos["x"], pos["y"], pos["w"], pos["h"]))
        if panel.get("type") == "row":
            continue
        if datasource_uid(panel.get("datasource")) != DS_UID:
            problems.append(f"{where}: datasource must be {DS_UID}, not {panel.get('datasource')!r}")
        targets = panel.get("targets") or []
        if not targets:
            problems.append(f"{where}: no targets")
        ref_ids = [t.get("refId") for t in targets]
        if len(set(ref_ids)) != len(ref_ids):
            problems.append(f"{where}: duplicate refId")
        for target in targets:
            if "datasource" in target and datasource_uid(target["datasource"]) != DS_UID:
                problems.append(f"{where}: target {target.get('refId')} datasource is not {DS_UID}")
            if not str(target.get("expr", "")).strip():
                problems.append(f"{where}: target {target.get('refId')} has no expr")
    problems += [f"panel id {i} is used {n} times" for i, n in ids.items() if n > 1]
    problems += _overlaps(boxes)
    for where, expr in grafana_exprs(dashboard):
        for match in _VARIABLE.finditer(expr):
            name = next(g for g in match.groups() if g)
            if not name.startswith("__") and name not in variables:
                problems.append(f"{where}: undefined variable ${name}")
    return problems


def promtool_rule_file(exprs: list[tuple[str, str]]) -> dict[str, Any]:
    """Dashboard queries as recording rules, Grafana variables replaced by plain values, so
    `promtool check rules` parses every one of them."""
    rules = [{"record": f"dashboard:query:{n}", "expr": concrete(e)} for n, (_, e) in enumerate(exprs)]
    return {"groups": [{"name": "grafana-dashboard-queries", "rules": rules}]}


# ---- Kibana -------------------------------------------------------------------------------------

NUMERIC = {
    "long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float", "unsigned_long",
}  # fmt: skip
DATES = {"date", "date_nanos"}
AGGREGATABLE = NUMERIC | DATES | {"keyword", "constant_keyword", "boolean", "ip", "version", "wildcard"}
# Which field types a Lens operation can run on.
LENS_OPERATIONS = {
    "date_histogram": DATES,
    "range": NUMERIC,
    **dict.fromkeys(
        ("average", "sum", "min", "max", "median", "percentile", "percentile_rank", "standard_deviation"),
        NUMERIC,
    ),
    **dict.fromkeys(("terms", "unique_count", "last_value", "count"), AGGREGATABLE),
}
# Lens visualization keys whose values name columns of the layer.
LENS_ACCESSORS = {
    "xAccessor", "splitAccessor", "accessors", "accessor", "primaryGroups", "secondaryGroups",
    "metrics", "metricAccessor", "secondaryMetricAccessor", "maxAccessor", "breakdownByAccessor",
    "columnId",
}  # fmt: skip
RECORDS = "___records___"
Fields = Mapping[str, "str | None"]  # field -> Elasticsearch type (None: type unknown)


def parse_ndjson(text: str) -> tuple[list[dict[str, Any]], list[str]]:
    objects, problems = [], []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"line {number}: not JSON ({exc.msg})")
            continue
        missing = [k for k in ("type", "id", "attributes") if not isinstance(obj, dict) or k not in obj]
        if missing:
            problems.append(f"line {number}: no {', '.join(missing)}")
            continue
        objects.append(obj)
    return objects, problems


def _flatten_properties(properties: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for name, spec in properties.items():
        path = f"{prefix}{name}"
        if "properties" in spec:
            out[path] = spec.get("type", "object")
            out.update(_flatten_properties(spec["properties"], f"{path}."))
        else:
            out[path] = spec.get("type", "object")
        for sub, sub_spec in (spec.get("fields") or {}).items():
            out[f"{path}.{sub}"] = sub_spec.get("type", "object")
    return out


def template_fields(templates: Iterable[Mapping[str, Any]], index: str) -> dict[str, str] | None:
    """Fields of the composable (or legacy) index template Elasticsearch would apply to
    `index`: the matching template with the highest priority. None if none matches."""
    matching = [
        t for t in templates if any(fnmatch.fnmatchcase(index, p) for p in t.get("index_patterns") or [])
    ]
    if not matching:
        return None
    chosen = max(matching, key=lambda t: t.get("priority", 0))
    mappings = (chosen.get("template") or {}).get("mappings") or chosen.get("mappings") or {}
    fields = _flatten_properties(mappings.get("properties") or {})
    fields.update(
        {name: spec.get("type", "keyword") for name, spec in (mappings.get("runtime") or {}).items()}
    )
    return fields


def kql_fields(query: str) -> set[str]:
    """Field names a KQL (or simple Lucene) query filters on: `field : value`."""
    unquoted = re.sub(r'"(?:[^"\\]|\\.)*"', '""', query)
    return set(re.findall(r"(?<![\w.@])([A-Za-z_@][\w.@]*)\s*:", unquoted))


def dataview_covers(title: str, index: str) -> bool:
    """Whether a data view title (comma-separated patterns, `-pattern` excludes) covers an index."""
    patterns = [p.strip() for p in title.split(",") if p.strip()]
    included = any(fnmatch.fnmatchcase(index, p) for p in patterns if not p.startswith("-"))
    excluded = any(fnmatch.fnmatchcase(index, p[1:]) for p in patterns if p.startswith("-"))
    return included and not excluded


def _field_problems(where: str, field: str, fields: Fields, allowed: set[str] | None = None) -> list[str]:
    if field not in fields:
        return [f"{where}: field {field!r} is not in the index template"]
    kind = fields[field]
    if allowed is not None and kind is not None and kind not in allowed:
        return [f"{where}: field {field!r} is {kind}, the operation needs one of {sorted(allowed)}"]
    return []


def _query_problems(where: str, query: Any, filters: Any, fields: Fields) -> list[str]:
    problems = []
    if isinstance(query, Mapping) and isinstance(query.get("query"), str):
        for field in sorted(kql_fields(query["query"])):
            problems += _field_problems(f"{where} query", field, fields)
    for flt in filters or []:
        key = (flt.get("meta") or {}).get("key")
        if key:
            problems += _field_problems(f"{where} filter", key, fields)
    return problems


def _accessor_values(node: Any) -> Iterator[str]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key in LENS_ACCESSORS:
                yield from (
                    [value] if isinstance(value, str) else [v for v in value or [] if isinstance(v, str)]
                )
            else:
                yield from _accessor_values(value)
    elif isinstance(node, list):
        for item in node:
            yield from _accessor_values(item)


def _check_lens(
    where: str, obj: Mapping[str, Any], refs: Mapping[str, Mapping[str, Any]], fields: Fields
) -> list[str]:
    problems = []
    state = obj["attributes"].get("state") or {}
    layers = ((state.get("datasourceStates") or {}).get("formBased") or {}).get("layers") or {}
    if not layers:
        problems.append(f"{where}: no formBased layers")
    column_ids: set[str] = set()
    for layer_id, layer in layers.items():
        ref = refs.get(f"indexpattern-datasource-layer-{layer_id}")
        if not ref or ref.get("type") != "index-pattern":
            problems.append(f"{where}: layer {layer_id} has no index-pattern reference")
        columns = layer.get("columns") or {}
        column_ids |= set(columns)
        if set(layer.get("columnOrder") or []) != set(columns):
            problems.append(f"{where}: layer {layer_id} columnOrder does not list its columns")
        for column_id, column in columns.items():
            at = f"{where} column {column_id}"
            field = column.get("sourceField")
            operation = column.get("operationType")
            if field and field != RECORDS:
                problems += _field_problems(at, field, fields, LENS_OPERATIONS.get(operation))
            filt = column.get("filter")
            if isinstance(filt, Mapping):
                problems += _query_problems(at, filt, [], fields)
    for accessor in _accessor_values(state.get("visualization") or {}):
        if accessor not in column_ids:
            problems.append(f"{where}: visualization uses column {accessor!r} that no layer defines")
    problems += _query_problems(where, state.get("query"), state.get("filters"), fields)
    return problems


def _check_search(
    where: str, obj: Mapping[str, Any], refs: Mapping[str, Mapping[str, Any]], fields: Fields
) -> list[str]:
    attributes = obj["attributes"]
    problems = []
    for column in attributes.get("columns") or []:
        problems += _field_problems(f"{where} column", column, fields)
    for sort in attributes.get("sort") or []:
        field = sort[0] if isinstance(sort, list) else sort
        problems += _field_problems(f"{where} sort", field, fields)
    try:
        source = json.loads((attributes.get("kibanaSavedObjectMeta") or {}).get("searchSourceJSON") or "{}")
    except json.JSONDecodeError:
        return [*problems, f"{where}: searchSourceJSON is not JSON"]
    index_ref = source.get("indexRefName")
    if not index_ref or index_ref not in refs:
        problems.append(f"{where}: searchSourceJSON indexRefName {index_ref!r} is not a reference")
    return problems + _query_problems(where, source.get("query"), source.get("filter"), fields)


def _check_dashboard_panels(
    where: str, obj: Mapping[str, Any], refs: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    try:
        panels = json.loads(obj["attributes"].get("panelsJSON") or "[]")
    except json.JSONDecodeError:
        return [f"{where}: panelsJSON is not JSON"]
    problems: list[str] = []
    boxes = []
    indexes = [p.get("panelIndex") for p in panels]
    problems += [f"{where}: panelIndex {i!r} used twice" for i in set(indexes) if indexes.count(i) > 1]
    for panel in panels:
        at = f"{where} panel {panel.get('panelIndex')}"
        grid = panel.get("gridData") or {}
        integers = all(isinstance(grid.get(k), int) for k in ("x", "y", "w", "h"))
        if not integers or grid.get("i") != panel.get("panelIndex"):
            problems.append(f"{at}: gridData needs integer x, y, w, h and i = panelIndex")
        else:
            if grid["x"] + grid["w"] > KIBANA_COLUMNS:
                problems.append(f"{at}: wider than the {KIBANA_COLUMNS}-column grid")
            boxes.append((at, grid["x"], grid["y"], grid["w"], grid["h"]))
        ref_name = panel.get("panelRefName")
        if ref_name is None:
            if "embeddableConfig" not in panel or not (panel["embeddableConfig"] or {}).get("attributes"):
                problems.append(f"{at}: neither a panelRefName nor by-value attributes")
            continue
        ref = refs.get(f"{panel.get('panelIndex')}:{ref_name}") or refs.get(ref_name)
        if ref is None:
            problems.append(f"{at}: panelRefName {ref_name!r} has no reference")
        elif ref.get("type") != panel.get("type"):
            problems.append(
                f"{at}: panel type {panel.get('type')!r} but the reference is a {ref.get('type')!r}"
            )
    return problems + _overlaps(boxes)


def check_saved_objects(
    objects: list[dict[str, Any]],
    fields: Fields,
    index: str = ES_INDEX,
    excluded_index: str = ES_DEADLETTER_INDEX,
) -> list[str]:
    """References resolve within the file, every field exists (with a usable type), the data
    view covers the posts index and not the dead-letter index, dashboards place their panels."""
    problems: list[str] = []
    keys = [(o["type"], o["id"]) for o in objects]
    problems += [f"{t} {i}: defined twice" for t, i in set(keys) if keys.count((t, i)) > 1]
    present = set(keys)
    for obj in objects:
        where = f"{obj['type']} {obj['id']}"
        for key in ("coreMigrationVersion", "typeMigrationVersion"):
            if not obj.get(key):
                problems.append(f"{where}: no {key} (Kibana would migrate it from the oldest version)")
        refs: dict[str, Mapping[str, Any]] = {}
        for ref in obj.get("references") or []:
            refs[ref.get("name")] = ref
            if (ref.get("type"), ref.get("id")) not in present:
                problems.append(
                    f"{where}: reference {ref.get('name')!r} to missing {ref.get('type')} {ref.get('id')!r}"
                )
        attributes = obj["attributes"]
        if obj["type"] == "index-pattern":
            title = str(attributes.get("title", ""))
            if not dataview_covers(title, index):
                problems.append(f"{where}: title {title!r} does not cover index {index!r}")
            if excluded_index and dataview_covers(title, excluded_index):
                problems.append(f"{where}: title {title!r} also covers {excluded_index!r}")
            if time_field := attributes.get("timeFieldName"):
                problems += _field_problems(f"{where} timeFieldName", time_field, fields, DATES)
        elif obj["type"] == "lens":
            problems += _check_lens(where, obj, refs, fields)
        elif obj["type"] == "search":
            problems += _check_search(where, obj, refs, fields)
        elif obj["type"] == "dashboard":
            problems += _check_dashboard_panels(where, obj, refs)
    return problems
