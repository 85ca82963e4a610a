"""The reference for exemplar's BM25: rank-bm25's BM25Okapi on tokens given.

Reads one JSON object on stdin:
  {"corpus": [[token, ...], ...], "queries": [[token, ...], ...], "k": 10,
   "k1": 1.2, "b": 0.75, "idf": "okapi" | "lucene"}
and prints one JSON object: {"top": [[row, ...], ...], "scores": [[score, ...], ...]},
the k best rows of the corpus for each query, best first (ties by lower row).

The tokens come from exemplar (`exemplar::lexical::tokenize`), so both sides
score the same terms. "idf": "okapi" is BM25Okapi as shipped (ln((N-n+.5)/(n+.5)),
negative values floored at 0.25 times the mean idf); "lucene" replaces only the idf
with Lucene's ln(1+(N-n+.5)/(n+.5)), the one tantivy uses, to tell apart the
difference of formula from any other.
Run by tests/lexical.rs (both idfs; the agreement required is with "lucene") with the
venv scripts/bm25_reference.sh sets up.
"""

import json
import math
import sys

import numpy as np
from rank_bm25 import BM25Okapi


class LuceneIdf(BM25Okapi):
    def _calc_idf(self, nd):
        for word, freq in nd.items():
            self.idf[word] = math.log(1.0 + (self.corpus_size - freq + 0.5) / (freq + 0.5))


def main():
    job = json.load(sys.stdin)
    kind = {"okapi": BM25Okapi, "lucene": LuceneIdf}[job.get("idf", "okapi")]
    bm25 = kind(job["corpus"], k1=job["k1"], b=job["b"])
    k = job["k"]
    top, scores = [], []
    for query in job["queries"]:
        s = bm25.get_scores(query)
        # Stable sort on the negated scores: equal scores keep row order.
        order = np.argsort(-s, kind="stable")[:k]
        top.append([int(i) for i in order])
        scores.append([float(s[i]) for i in order])
    json.dump({"top": top, "scores": scores}, sys.stdout)


if __name__ == "__main__":
    main()
