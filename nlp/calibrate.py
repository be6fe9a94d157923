"""`python -m nlp.calibrate`: fits the shipped calibration (`nlp/data/calibration.json`)
on by-voice held-out predictions of the shipped corpus. Run it after changing the corpus,
the rules or the model; the tests check that the calibration matches the corpus."""

from __future__ import annotations

import logging
import sys

from nlp.calibration import CALIBRATION_PATH
from nlp.corpus import corpus_files, load_corpus
from nlp.evaluation import by_voice_assessments, corpus_digest, fit_on
from nlp.segmenter import Segmenter


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("jieba").setLevel(logging.WARNING)
    segmenter = Segmenter()
    segmenter.initialize()
    held_out = by_voice_assessments(load_corpus(), segmenter)
    calibration = fit_on(held_out, corpus_digest(corpus_files()))
    CALIBRATION_PATH.write_text(calibration.to_json() + "\n", encoding="utf-8")
    sys.stdout.write(f"wrote {CALIBRATION_PATH} from {len(held_out)} held-out texts\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
