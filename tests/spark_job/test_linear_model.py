"""The tweet-trained model: its artifact, its features, scoring parity with scikit-learn,
reproducible training, and its quality on TweetEval's val split (when ../shared has it)."""

from __future__ import annotations

import json
import math
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devtools import train_model
from sentiment_job.evaluate import evaluate, read_examples
from sentiment_job.features import batch_features, lexicon_scores, tokens
from sentiment_job.linear_model import (
    CLASSES,
    LinearModel,
    ModelArtifactError,
    MultilingualModel,
    bundled_paths,
    sha256_of,
)
from sentiment_job.sentiment import (
    DEFAULT_MODEL,
    MULTI_LANGUAGES,
    MULTI_MODEL,
    TWEET_MODEL,
    get_analyzer,
    score_frame,
)

ARTIFACT, CARD = bundled_paths(TWEET_MODEL)
MAX_ARTIFACT_BYTES = 20 * 1024 * 1024

# Our own labelled posts for the small models trained here (not TweetEval).
OWN_LABELLED = [
    ("I love this, best day ever", "Positive"),
    ("what a wonderful surprise, thank you", "Positive"),
    ("so happy with the new phone 😀", "Positive"),
    ("great match, brilliant goal", "Positive"),
    ("amazing food and lovely people", "Positive"),
    ("this is terrible, I hate it", "Negative"),
    ("worst service ever, so angry", "Negative"),
    ("the train is late again, awful", "Negative"),
    ("I'm not happy at all 😭", "Negative"),
    ("sad news today, really bad", "Negative"),
    ("the meeting is at 5 pm", "Neutral"),
    ("new episode airs on thursday", "Neutral"),
    ("the bus goes to the station", "Neutral"),
    ("read the report on page 4", "Neutral"),
    ("weather update for monday morning", "Neutral"),
]


def test_default_model_is_the_multilingual_model() -> None:
    assert (DEFAULT_MODEL, TWEET_MODEL) == ("multi-lr", "tweet-lr")


def test_bundled_artifact_matches_its_card_and_is_data_only() -> None:
    card = json.loads(CARD.read_text(encoding="utf-8"))
    assert card["artifact"]["sha256"] == sha256_of(ARTIFACT)
    assert ARTIFACT.stat().st_size <= MAX_ARTIFACT_BYTES
    with zipfile.ZipFile(ARTIFACT) as archive:
        assert all(name.endswith(".npy") for name in archive.namelist())
    # allow_pickle=False refuses object arrays: every array must load as plain data.
    with np.load(ARTIFACT, allow_pickle=False) as data:
        for name in data.files:
            assert data[name].dtype != object, name


def test_a_tampered_artifact_is_refused(tmp_path: Path) -> None:
    artifact, card = tmp_path / "m.npz", tmp_path / "m.card.json"
    shutil.copy(CARD, card)
    raw = bytearray(ARTIFACT.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    artifact.write_bytes(bytes(raw))
    with pytest.raises(ModelArtifactError, match="sha256"):
        LinearModel.load(artifact, card)


def test_a_missing_card_or_artifact_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelArtifactError, match="model card"):
        LinearModel.load(ARTIFACT, tmp_path / "absent.card.json")
    card = tmp_path / "m.card.json"
    shutil.copy(CARD, card)
    with pytest.raises(ModelArtifactError, match="model artifact"):
        LinearModel.load(tmp_path / "absent.npz", card)


def test_an_artifact_for_other_features_is_refused() -> None:
    with np.load(ARTIFACT, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    arrays["feature_version"] = np.array(999)
    with pytest.raises(ModelArtifactError, match="retrain"):
        LinearModel.from_arrays(arrays)


def test_tokens() -> None:
    assert tokens("I LOOOOVE it!! 😀😀 don't") == ["i", "loove", "it", "!", "!", "😀", "😀", "don", "'", "t"]
    assert tokens("") == []


def test_lexicon_scores_flip_after_a_negation() -> None:
    valence, negations = {"good": 2.0}, frozenset({"not"})
    plain, negated, apostrophe = lexicon_scores(
        [["good"], ["not", "good"], ["isn", "'", "t", "good"]], valence, negations
    )
    # (positive, negative, hits) per token, and compound.
    assert plain.tolist()[:3] == [2.0, 0.0, 1.0]
    assert plain[3] > 0
    assert negated.tolist()[:3] == [0.0, pytest.approx(2.0 * 0.74 / 2), 0.5]
    assert negated[3] < 0
    assert apostrophe.tolist()[:3] == [0.0, pytest.approx(2.0 * 0.74 / 4), 0.25]
    assert apostrophe[3] < 0


texts_strategy = st.lists(st.text(max_size=80), min_size=1, max_size=6)


@settings(max_examples=60, deadline=None)
@given(texts_strategy)
def test_features_of_a_text_do_not_depend_on_its_batch(texts: list[str]) -> None:
    together = batch_features([tokens(t) for t in texts])
    for index, text in enumerate(texts):
        alone = batch_features([tokens(text)])
        assert sorted(together.keys[together.docs == index].tolist()) == sorted(alone.keys.tolist())


@settings(max_examples=40, deadline=None)
@given(texts_strategy)
def test_probabilities_are_per_text_and_sum_to_one(texts: list[str]) -> None:
    model = get_analyzer(TWEET_MODEL)
    assert hasattr(model, "model")
    together = model.model.probabilities(texts)
    assert together.shape == (len(texts), 3)
    assert np.allclose(together.sum(axis=1), 1.0)
    for index, text in enumerate(texts):
        assert np.allclose(model.model.probabilities([text])[0], together[index], atol=1e-9)


def test_lone_surrogates_and_control_characters_score() -> None:
    scores = get_analyzer(TWEET_MODEL).score_many(["bad \ud800 day", "a\x00b\nc\td", "   ", ""])
    assert all(s.label in CLASSES for s in scores)


def test_scoring_equals_scikit_learn_on_a_model_trained_here() -> None:
    texts = [t for t, _ in OWN_LABELLED] * 2
    split = train_model.Split(
        texts, [tokens(t) for t in texts], np.array([label for _, label in OWN_LABELLED] * 2)
    )
    lexicon = train_model.vader_lexicon()
    keys = train_model.vocabulary(split.tokens, min_df=1)
    fitted = train_model.fit(split, keys, c=1.0, lexicon=lexicon)
    ours = LinearModel.from_arrays(train_model.artifact_arrays(fitted, keys, lexicon))
    probe = [*texts[:15], "an unseen text, great or awful?", ""]
    expected = fitted.estimator.predict_proba(fitted.design([tokens(t) for t in probe], keys, lexicon))
    # float32 weights in the artifact: equal to about 1e-6.
    assert np.allclose(ours.probabilities(probe), expected, atol=1e-5)


def test_training_is_byte_for_byte_reproducible(tmp_path: Path) -> None:
    texts = [t for t, _ in OWN_LABELLED] * 3
    labels = np.array([label for _, label in OWN_LABELLED] * 3)
    split = train_model.Split(texts, [tokens(t) for t in texts], labels)
    lexicon = train_model.vader_lexicon()
    digests = []
    for run in range(2):
        keys = train_model.vocabulary(split.tokens, min_df=1)
        arrays = train_model.artifact_arrays(train_model.fit(split, keys, 0.5, lexicon), keys, lexicon)
        path = tmp_path / f"run{run}.npz"
        train_model.write_npz(path, arrays)
        digests.append(sha256_of(path))
    assert digests[0] == digests[1]


def test_score_frame_with_the_tweet_model() -> None:
    texts = pd.Series(["I love this, best day ever", "this is terrible, I hate it", "bonjour", None])
    langs = pd.Series(["en", "en-GB", "fr", "en"])
    out = score_frame(texts, langs, TWEET_MODEL, frozenset({"en", "und"}))
    assert list(out.columns) == ["polarity", "subjectivity", "confidence", "sentiment", "sentiment_lang"]
    assert list(out["sentiment"][:3]) == ["Positive", "Negative", "Unsupported"]
    assert out["subjectivity"].isna().all()
    assert math.isnan(out["polarity"][2])
    assert math.isnan(out["confidence"][2])
    scored = out.drop(index=2)
    assert scored["polarity"].between(-1, 1).all()
    assert scored["confidence"].between(1 / 3, 1).all()
    assert out["polarity"][0] > 0.3 > -0.3 > out["polarity"][1]


def test_val_quality_meets_the_targets_and_matches_the_card(val_jsonl: Path) -> None:
    result = evaluate(read_examples(val_jsonl), TWEET_MODEL)
    assert result["macro_recall"] >= 0.70, result
    assert result["macro_f1"] >= 0.68, result
    card = json.loads(CARD.read_text(encoding="utf-8"))
    for key in ("accuracy", "macro_recall", "macro_f1"):
        assert round(float(result[key]), 4) == card["val"][key]  # type: ignore[arg-type]
    assert result["confusion"] == card["val"]["confusion"]


# ---- multi-lr: one artifact, one model per language -------------------------------------------

MULTI_ARTIFACT, MULTI_CARD = bundled_paths(MULTI_MODEL)


def test_multi_lr_artifact_matches_its_card_and_is_data_only() -> None:
    card = json.loads(MULTI_CARD.read_text(encoding="utf-8"))
    assert card["artifact"]["sha256"] == sha256_of(MULTI_ARTIFACT)
    assert MULTI_ARTIFACT.stat().st_size <= MAX_ARTIFACT_BYTES
    assert sorted(card["languages"]) == sorted(MULTI_LANGUAGES)
    with np.load(MULTI_ARTIFACT, allow_pickle=False) as data:
        for name in data.files:
            assert data[name].dtype != object, name
    assert MultilingualModel.load(MULTI_ARTIFACT, MULTI_CARD).languages == MULTI_LANGUAGES


def test_a_tampered_multi_lr_artifact_is_refused(tmp_path: Path) -> None:
    artifact, card = tmp_path / "m.npz", tmp_path / "m.card.json"
    shutil.copy(MULTI_CARD, card)
    raw = bytearray(MULTI_ARTIFACT.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    artifact.write_bytes(bytes(raw))
    with pytest.raises(ModelArtifactError, match="sha256"):
        MultilingualModel.load(artifact, card)


def test_multi_lr_val_quality_matches_its_card(shared_dir: Path) -> None:
    """Every language's val figures, scored through the job's path (score_frame by `lang`),
    equal the card's: the card describes the shipped artifact."""
    card = json.loads(MULTI_CARD.read_text(encoding="utf-8"))
    folder = shared_dir / "data" / "umsab-sentiment"
    if not folder.is_dir():
        pytest.skip(f"no UMSAB data in {folder}")
    for language in sorted(MULTI_LANGUAGES):
        result = evaluate(read_examples(folder / language / "val.jsonl"), MULTI_MODEL)
        figures = result["languages"][language]  # type: ignore[index]
        assert figures["unsupported"] == 0
        for key in ("accuracy", "macro_recall", "macro_f1"):
            assert round(float(figures[key]), 4) == card["val"][language][key], (language, key)
    assert card["val_average"]["macro_f1"] >= 0.58
