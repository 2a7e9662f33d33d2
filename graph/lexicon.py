"""Contact patterns still imported from here; they move to :mod:`graph.language.patterns`.

The cue word lists that lived here (sentiment, distress, legal, requests for a person) are replaced by
the language layer's cues (:mod:`graph.language.cues`): read from the parse and sentence embeddings,
with negation and place names, not matched as words.
"""

from __future__ import annotations

import re

# Contact details (an email address or a phone number) as the concierge reads them.
# The lookbehind lets an address start only where a run of address characters starts: without it
# every letter of a long word restarted a scan to the end of the word (quadratic: a 40,000-character
# message took 14 s). A match can never start mid-run anyway, so what is found does not change.
LOOSE_EMAIL_RE = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+\.[\w.]+")
CONTACT_RE = re.compile(rf"{LOOSE_EMAIL_RE.pattern}|\+?\d[\d\s().-]{{8,}}\d")
