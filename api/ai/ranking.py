"""How much each signal counts in a passage's rank and in the confidence rule
(`api/ai/retrieval.py`). Chosen on the tuning set only (`bench/eval_passages.py --sets
tuning`); the held-out sets are measured after, never tuned on."""

TITLE_WEIGHT = 3.0
TAGS_WEIGHT = 2.0
BODY_WEIGHT = 1.0
"""A title or tag word says what an article is *about*; a body word may be a passing mention."""
PASSAGE_WEIGHT = 0.6
"""The passage's own BM25 score, relative to its article's, in a passage's rank."""
LEAD_BONUS = 0.15
"""An article's first paragraph usually states the main answer: it wins near-ties."""
PASSAGE_TITLE_WEIGHT = 0.5
"""The article's title in each of its passages: context, so a passage is never ranked as if
it stood alone."""
ASKS_WEIGHT = 0.5
"""The questions a paragraph answers (its `asks` line), relative to its own words."""
ARTICLE_ASKS_WEIGHT = 1.0
"""The same questions as part of the article they belong to."""
ASK_MATCH_WEIGHT = 1.0
"""How much the closest known question of a passage counts (its IDF-weighted Dice overlap with
the query, times the query's IDF weight): a near-paraphrase of "my code doesn't work" picks
the paragraph written for it, not the one that merely says "code" most often."""
SYNONYM_WEIGHT = 0.6
"""An expanded word counts less than one the user typed."""
ANSWER_TYPE_WEIGHT = 1.5
"""The weight of "this passage states a duration / a price" for a "how long" / "how much"."""
LOCAL_WEIGHT = 0.5
"""The words that set a passage apart from its article's other ones (`LocalIdf`)."""

INTENT_WEIGHT = 1.3
"""A word saying what the user wants done ("return", "cancel"), relative to any other word."""
OBJECT_WEIGHT = 0.5
"""A word for the thing bought ("sweater", "mug"): the question is rarely about it."""
PHRASE_WORD_WEIGHT = 0.5
"""A word inside a known phrase, whose meaning is searched at full weight instead."""

UNKNOWN_WEIGHT = 1.0
"""A word no article has, relative to the rarest word they have, in the confidence rule."""
UNKNOWN_NUMBER_WEIGHT = 1.0
"""A short number the articles lack ("size 42"): it lowers confidence a little, not as much
as an unknown word."""
NAME_COVERAGE = 0.75
"""A name the articles mention ("Amsterdam", "Australia") says little about what is asked."""
SEMANTIC_ARTICLE_WEIGHT = 2.0
"""An article's closeness in meaning (cosine to its nearest passage, in units of the query's
IDF weight like `ASK_MATCH_WEIGHT`): the model is good at the topic ..."""
SEMANTIC_PASSAGE_WEIGHT = 0.5
"""... less at which paragraph answers ("has my order shipped" ≈ "what does shipped mean"), so
within an article it only tips near-ties. A coarse sweep on the tuning set (article 1-3,
passage 0.5-2, or one weight for both) moved top-1 by ±2 of 418 around these."""
