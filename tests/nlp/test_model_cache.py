"""The model cache: a start-up loads exactly the model training would give, and never a
model trained on anything else (other examples, names, code or a damaged file)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest

from nlp.categories import Category
from nlp.classifier import ComplaintClassifier
from nlp.corpus import LabelledExample, load_corpus
from nlp.entities import OrgNames, Place
from nlp.model_cache import KEEP, PREFIX, cache_path, load_model, save_model, training_key
from nlp.reader import ComplaintReader

ORG = OrgNames(sites=(Place(1, "城关投递部"),), segments=(Place(11, "东2段", 1),))
TEXTS = [
    "东2段信件报刊积压三天了，用户多次打电话投诉",
    "营业员态度恶劣，还骂人",
    "网上显示我的包裹已经妥投，可我根本没见到投递员",
    "城关投递部的快递员让我自己去驿站取件",
    "今天天气不错",
    "送锦旗表扬投递员",
]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(scope="module")
def trained(cache_dir: Path) -> ComplaintReader:
    """Trained (the cache is empty) and written to the cache."""
    return ComplaintReader.create(ORG, cache_dir=cache_dir)


def test_a_cached_model_reads_exactly_as_the_trained_one(
    trained: ComplaintReader, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert list(cache_dir.glob(f"{PREFIX}*.npz"))

    def no_training(*args: object, **kwargs: object) -> ComplaintClassifier:
        raise AssertionError("trained although the cache holds the model")

    monkeypatch.setattr(ComplaintClassifier, "train", no_training)
    cached = ComplaintReader.create(ORG, cache_dir=cache_dir)
    assert [cached.read(t) for t in TEXTS] == [trained.read(t) for t in TEXTS]
    original, loaded = trained.classifier.model, cached.classifier.model
    assert loaded.features == original.features and loaded.classes == original.classes
    for name in ("idf", "coef", "intercept"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(original, name))


def test_the_key_covers_examples_and_names(trained: ComplaintReader) -> None:
    corpus = load_corpus()
    names = trained.segmenter.names
    key = training_key(corpus, names)
    assert training_key(corpus, set(names)) == key  # order does not matter
    extra = LabelledExample("快件被塞进奶箱里了", (Category.FALSE_DELIVERY,))
    assert training_key([*corpus, extra], names) != key
    relabelled = LabelledExample(corpus[0].text, (Category.OTHER,))
    assert training_key([relabelled, *corpus[1:]], names) != key
    assert training_key(corpus, names | {"西3段"}) != key


def test_a_stale_or_damaged_file_is_not_used(
    trained: ComplaintReader, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = training_key(load_corpus(), trained.segmenter.names)
    assert load_model(tmp_path, key) is None  # nothing there
    save_model(tmp_path, "another key", trained.classifier.model)
    cache_path(tmp_path, "another key").rename(cache_path(tmp_path, key))
    assert load_model(tmp_path, key) is None  # a file under this name, of another key
    cache_path(tmp_path, key).write_bytes(b"not a numpy file")
    with caplog.at_level(logging.WARNING, logger="nlp.cache_files"):
        assert load_model(tmp_path, key) is None
    assert "unreadable" in caplog.text
    save_model(tmp_path, key, trained.classifier.model)
    model = load_model(tmp_path, key)
    assert model is not None and model.features == trained.classifier.model.features
    cache_path(tmp_path, key).chmod(0o666)  # anyone could have replaced it
    assert load_model(tmp_path, key) is None


def test_old_files_are_pruned(trained: ComplaintReader, tmp_path: Path) -> None:
    for n in range(KEEP + 2):
        save_model(tmp_path, f"key {n}", trained.classifier.model)
    kept = sorted(p.name for p in tmp_path.glob(f"{PREFIX}*.npz"))
    assert len(kept) == KEEP
    assert cache_path(tmp_path, f"key {KEEP + 1}").name in kept  # the newest stays
    assert not list(tmp_path.glob(".tmp-*"))


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0, reason="only root gives away")
def test_a_file_of_another_user_is_not_used(trained: ComplaintReader, tmp_path: Path) -> None:
    key = training_key(load_corpus(), trained.segmenter.names)
    save_model(tmp_path, key, trained.classifier.model)
    assert load_model(tmp_path, key) is not None
    os.chown(cache_path(tmp_path, key), 4242, -1)
    assert load_model(tmp_path, key) is None
