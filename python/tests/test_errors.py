"""Errors arrive as exemplar.Error subclasses with the command line's message
(and file and line where there are some); a panic as InternalError."""

import shutil

import pytest

import exemplar


def test_a_missing_model_is_a_model_error(tmp_path):
    with pytest.raises(exemplar.ModelError) as caught:
        exemplar.Encoder(tmp_path / "no-model")
    assert isinstance(caught.value, exemplar.Error)
    assert "no-model" in str(caught.value) and caught.value.path.endswith("model.onnx")


def test_a_corrupted_index_is_corrupt_index(tmp_path, ncbi_index):
    copy = tmp_path / "copy"
    shutil.copytree(ncbi_index.path, copy)
    vectors = copy / "vectors.f32"
    data = bytearray(vectors.read_bytes())
    data[100] ^= 0xFF
    vectors.write_bytes(bytes(data))
    with pytest.raises(exemplar.CorruptIndex, match="is damaged") as caught:
        exemplar.Index.open(copy)
    assert caught.value.path == str(copy)
    with pytest.raises(exemplar.FileError, match="no index here"):
        exemplar.Index.open(tmp_path / "none")


def test_a_malformed_corpus_names_file_and_line(tmp_path):
    corpus = tmp_path / "bad.tsv"
    corpus.write_text("BRCA1\tB-Gene\ncauses\tO\ncancer\tX-Disease\n")
    with pytest.raises(exemplar.CorpusError) as caught:
        exemplar.read_corpus(corpus)
    assert caught.value.path == str(corpus) and caught.value.line == 3
    assert str(caught.value).startswith(f"{corpus}:3: ")
    assert isinstance(caught.value, exemplar.InvalidInput)
    with pytest.raises(exemplar.CorpusError) as built:
        exemplar.Index.build(corpus, out=tmp_path / "index")
    assert built.value.line == 3


def test_another_model_is_a_model_mismatch(tmp_path, ncbi_index):
    other = exemplar.Encoder(max_length=64)
    with pytest.raises(exemplar.ModelMismatch, match="built with model") as caught:
        exemplar.Index.open(ncbi_index.path, encoder=other)
    assert isinstance(caught.value, exemplar.IncompatibleIndex)


def test_bad_arguments_are_invalid_input(ncbi_index):
    with pytest.raises(exemplar.InvalidInput, match="strategy"):
        ncbi_index.select("a sentence", strategy="nearest")
    with pytest.raises(exemplar.InvalidInput, match="lambda"):
        ncbi_index.select("a sentence", strategy="mmr", **{"lambda": 2.0})
    with pytest.raises(exemplar.InvalidInput, match="takes the parameter"):
        ncbi_index.select("a sentence", candidates=64)
    with pytest.raises(exemplar.InvalidInput, match="empty"):
        ncbi_index.select(["a sentence", " "])
    with pytest.raises(exemplar.InvalidInput, match="entries"):
        ncbi_index.search([0.0, 1.0])
    with pytest.raises(TypeError):
        ncbi_index.select(42)


def test_a_panic_is_an_internal_error_not_an_abort():
    with pytest.raises(exemplar.InternalError, match="panicked: on purpose"):
        exemplar._exemplar._panic("on purpose")


def test_reader_warnings_are_python_warnings(tmp_path):
    (tmp_path / "a.txt").write_text("BRCA1 causes cancer.\n")
    (tmp_path / "a.ann").write_text("T1\tDisease 13 19\tcancer\n")
    (tmp_path / "b.txt").write_text("Nothing annotated here.\n")
    with pytest.warns(UserWarning, match="b.txt: no .ann file beside it; skipped"):
        [sentence] = exemplar.read_corpus(tmp_path, "brat")
    assert sentence["entities"] == [{"start": 13, "end": 19, "type": "Disease", "text": "cancer"}]
