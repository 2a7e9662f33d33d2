"""Word lists and regular expressions of the retail rules (graph/context/retail.py): brands, membership, tried.

Kept as readable data so a prompt engineer can see (and extend) why a value was or was not picked up.
Brands are a small gazetteer of common apparel and electronics brands, not values from any data set.
Formats with a fixed shape (e-mails, phones, ids, zip codes) are in :mod:`graph.language.patterns`.
"""

from __future__ import annotations

import re


def _wordset(text: str) -> frozenset[str]:
    """Whitespace-separated words as a set (keeps long word lists readable)."""
    return frozenset(text.split())


# Multi-word or unambiguous brands; "Guess" and "Gap" also read as ordinary words, so they only count
# when followed by an item noun (see PRODUCT_RE).
BRANDS = (
    "calvin klein|tommy hilfiger|michael kors|ralph lauren|polo ralph lauren|levi'?s|nike|adidas|puma|"
    "reebok|under armour|new balance|the north face|north face|patagonia|columbia|zara|h&m|uniqlo|"
    "gucci|prada|versace|armani|hugo boss|lacoste|burberry|coach|kate spade|vans|converse|timberland|"
    "dr\\.? martens|ugg|skechers|guess|gap|old navy|banana republic|j\\.? ?crew|apple|samsung|sony|dell|"
    "lenovo|hp|bose|canon|nikon|dyson|ikea"
)
AMBIGUOUS_BRANDS = frozenset({"guess", "gap", "coach", "apple", "columbia", "vans", "puma"})
ITEMS = (
    "jeans|shirts?|t-shirts?|tee|jackets?|coats?|boots|shoes|sneakers|trainers|sandals|heels|dress(?:es)?|"
    "skirts?|pants|trousers|shorts|sweaters?|hoodies?|hats?|caps?|socks|belts?|bags?|handbags?|purses?|"
    "wallets?|watch(?:es)?|sunglasses|glasses|scarf|scarves|gloves|suits?|blazers?|vests?|leggings|"
    "laptop|phone|tablet|headphones|earbuds|camera|tv|monitor|printer|speaker|charger|vacuum"
)
PRODUCT_RE = re.compile(
    rf"\b(?P<brand>{BRANDS})(?:[\s_]+(?:[A-Za-z]+\s+)?(?P<item>{ITEMS})\b)?", re.IGNORECASE
)
PLAN_RE = re.compile(
    r"\b(?P<plan>(?:standard|pro|premium|basic|plus|starter|business|enterprise|family|free|"
    r"unlimited)(?:\s+(?:annual|monthly|yearly))?)\s+(?:plan|tier|subscription|package)\b",
    re.IGNORECASE,
)
# Noun phrase after a purchase verb that ends in a known item noun: "I ordered a blue wool coat".
BOUGHT_RE = re.compile(
    rf"\b(?:bought|ordered|purchased|buying|ordering|purchasing|got)\s+(?:a\s+pair\s+of\s+|a\s+|an\s+|"
    rf"the\s+|some\s+|these\s+|those\s+|two\s+|2\s+)?(?P<np>(?:[A-Za-z-]+\s+){{0,2}}?(?:{ITEMS}))\b",
    re.IGNORECASE,
)

# (?<!,\d{3},): a digit group right after a complete ",ddd," group is never where a match starts (the
# group before it starts the same match first); without it each group of "1,000,000,..." rescanned
# the rest of the number (quadratic).
_GROUP_START = r"(?<!,\d{3},)"
AMOUNT_RE = re.compile(
    r"(?P<v>\$\s?\d{1,3}(?:,\d{3})*(?:\.\d{1,2})?(?:\s?(?:k|m|million|thousand)\b)?|"
    rf"\b{_GROUP_START}\d{{1,3}}(?:,\d{{3}})*(?:\.\d{{1,2}})?\s?(?:dollars?|bucks|usd)\b)",
    re.IGNORECASE,
)
BARE_NUMBER_RE = re.compile(r"^\D{0,12}?(?P<v>\d{1,6}(?:\.\d{1,2})?)\D{0,12}$")
MONTHS = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
WEEKDAYS = r"monday|tuesday|wednesday|thursday|friday|saturday|sunday"
DATE_RE = re.compile(
    rf"\b(?:\d{{4}}-\d{{1,2}}-\d{{1,2}}|\d{{1,2}}/\d{{1,2}}/\d{{2,4}}|"
    rf"(?:{MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?(?!\d)|"
    rf"\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{MONTHS})\b(?:,?\s+\d{{4}})?|"
    rf"(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|a few|a couple of)\s+"
    rf"(?:days?|weeks?|months?)\s+ago|yesterday|the day before yesterday|"
    rf"(?:last|this|next|on)\s+(?:{WEEKDAYS}|week|month)|(?:{WEEKDAYS}))\b",
    re.IGNORECASE,
)
STREET_SUFFIX = (
    r"st|street|ave|avenue|dr|drive|rd|road|blvd|boulevard|ln|lane|way|ct|court|pl|place|ter|terrace|"
    r"pkwy|parkway|hwy|highway|cir|circle|sq|square|trl|trail"
)
ADDRESS_RE = re.compile(
    rf"\b\d{{1,6}}(?:[ \t]+[A-Za-z0-9'.]+){{0,3}}?[ \t]+(?:{STREET_SUFFIX})\b"
    rf"(?:[ \t]+(?:{STREET_SUFFIX})\b)?\.?(?:[ \t]+(?:apt|unit|suite|#)\.?[ \t]*\w+)?",
    re.IGNORECASE,
)
SIZE_RE = re.compile(
    r"\bsize\s+(?:\d{1,2}(?:\.5)?|xx?s|xx?l|xxxl|s|m|l|small|medium|large|extra[ -]large)\b", re.IGNORECASE
)
MEMBERSHIP_RE = re.compile(r"\b(?P<v>guest|bronze|silver|gold|platinum|diamond|vip)\b", re.IGNORECASE)
MEMBERSHIP_CUE_RE = re.compile(
    r"\b(?:member|membership|level|status|tier|vip|subscription|account|i am a|i'm a|im a)\b", re.I
)
PAYMENT_RE = re.compile(
    r"\b(?P<v>credit card|debit card|gift card|store credit|paypal|apple pay|google pay|venmo|"
    r"bank transfer|wire transfer|amex|american express|visa|mastercard|discover card)\b",
    re.IGNORECASE,
)
# Troubleshooting the customer reports having done (past tense, or a gerund with a cue like "tried").
TRIED_ACTION = (
    r"log(?:ged|ging)\s+(?:out|off)(?:\s+and\s+(?:(?:log(?:ged|ging)\s+)?back\s+in|log(?:ged|ging)\s+in))?|"
    r"log(?:ged|ging)\s+back\s+in|sign(?:ed|ing)\s+out(?:\s+and\s+(?:back\s+)?in)?|"
    r"refresh(?:ed|ing)(?:\s+(?:the|my)\s+(?:page|browser|app))?|reload(?:ed|ing)(?:\s+the\s+page)?|"
    r"clear(?:ed|ing)\s+(?:the\s+|my\s+)?(?:browser\s+)?(?:cookies|cache|history)(?:\s+and\s+(?:cookies|cache))?|"
    r"restart(?:ed|ing)(?:\s+(?:the|my)\s+(?:computer|browser|phone|app|router|laptop|device|modem))?|"
    r"reboot(?:ed|ing)(?:\s+(?:the|my)\s+\w+)?|reinstall(?:ed|ing)(?:\s+the\s+app)?|"
    r"updat(?:ed|ing)\s+(?:the|my)\s+(?:app|browser)|reset(?:ting)?\s+my\s+password|"
    r"clos(?:ed|ing)\s+(?:all\s+)?(?:the\s+|other\s+)?(?:tabs|programs|apps|windows)|"
    r"(?:tried|used|switch(?:ed|ing)\s+to)\s+(?:a\s+)?(?:different|another)\s+(?:browser|device|card)"
)
TRIED_RE = re.compile(rf"\b(?P<v>{TRIED_ACTION})\b", re.IGNORECASE)
TRIED_CUE_RE = re.compile(
    r"\b(?:tried|already|have|i've|ive|did|done|worked|work|works|help|helped|still|same|nothing|"
    r"no luck|didn't|doesn't|not)\b",
    re.IGNORECASE,
)
TIMELINE_RE = re.compile(
    rf"\b(?:asap|as soon as possible|right away|immediately|urgently|"
    rf"(?:in|within)\s+(?:the\s+next\s+)?(?:\d+|a|one|two|three|four|five|six|a few|a couple of)\s+"
    rf"(?:days?|weeks?|months?|years?)|"
    rf"by\s+(?:the\s+end\s+of\s+)?(?:{MONTHS}|next\s+\w+|this\s+\w+|the\s+end\s+of\s+\w+)|"
    rf"(?:this|next)\s+(?:spring|summer|fall|autumn|winter|year|month))\b",
    re.IGNORECASE,
)
FINANCING_RE = re.compile(
    r"\b(?:pre-?approved|pre-?qualified|cash buyer|paying (?:in|with) cash|all cash|"
    r"need (?:a )?mortgage|need financing|(?:fha|va|conventional) loan|mortgage approval)\b",
    re.IGNORECASE,
)
BEDROOMS_RE = re.compile(
    r"\b(?:\d+|one|two|three|four|five|six)[ -]?(?:bed(?:room)?s?|br|bath(?:room)?s?|ba)\b", re.I
)
SQFT_RE = re.compile(rf"\b{_GROUP_START}\d{{1,3}}(?:,\d{{3}})*\s?(?:sq\.?\s?ft|square feet|sqft)\b", re.I)
PROPERTY_TYPE_RE = re.compile(
    r"\b(?:condo|townhouse|townhome|single[- ]family(?: home)?|duplex|apartment|bungalow|ranch|"
    r"colonial|cottage|loft|villa|house)\b",
    re.IGNORECASE,
)
BUDGET_CUE_RE = re.compile(r"\b(?:budget|afford|up to|max(?:imum)?|spend|under|no more than)\b", re.I)
PRICE_CUE_RE = re.compile(r"\b(?:asking|list(?:ing)?|sell (?:it )?for|worth|get|valued?|apprais)\w*", re.I)

# Capitalised words that start sentences or name things but are not person names.
NOT_NAME_WORDS = _wordset(
    """
    i im i'm my me we our you your it its it's the a an and or but so if then this that these those
    hi hey hello thanks thank yes yeah yep no nope ok okay sure please sorry well oh great good fine
    account order id email address phone number username user name zip code pin password member
    membership level gold silver bronze guest platinum status shipping delivery refund return item
    product brand amount total price credit debit card paypal can could would will should may might
    do does did is are was were have has had be been just also still not very really what when where
    why how who which there here is acme acmecorp acmebrands customer service support agent street
    ave drive st dr rd avenue road lane way court circle blvd apt unit suite san los las new la el
    north south east west monday tuesday wednesday thursday friday saturday sunday january february
    march april june july august september october november december today yesterday tomorrow jeans
    shirt jacket boots shoes sure hopefully unfortunately actually also one two three makes sense
    sounds cool alright awesome perfect excellent wonderful right exactly correct nothing done never
    mind hold wait moment second got let lets let's sounds thats that's true nope none both all any
    much more less got need want like love hate help appreciate bye goodbye later in on at to for of
    with by from about as lol transit okie dokie
    """
)
# A capitalised word with at least one lower-case letter ("ALessandro" is a typo'd name, "ID" is not),
# starting where a word starts. Capitals, the first lower-case letter, then any letters: one way to
# read each word ("[A-Z][A-Za-z]*[a-z][A-Za-z]*" had n ways and was quadratic on one long word).
NAME_WORD = r"(?<![A-Za-z])[A-Z]+[a-z][A-Za-z]*(?:[-'][A-Z]?[a-z]+)?"
_NAME_CUE = (
    r"(?i:my name is|my name's|name is|name:|this is|i am|i'm|im|it's|it is|call me|"
    r"supposed to be|should be|correct name is)"
)
NAME_CUE_RE = re.compile(rf"\b{_NAME_CUE}\s+(?P<v>{NAME_WORD}(?:\s+{NAME_WORD}){{1,2}})")
# Only used when the previous question asked for a name: "I'm joseph banter".
LOWER_NAME_CUE_RE = re.compile(rf"\b{_NAME_CUE}\s+(?P<v>[a-z][a-z'-]+\s+[a-z][a-z'-]+)\W*$")
NAME_SUFFIX_RE = re.compile(
    rf"(?P<v>{NAME_WORD}(?:\s+{NAME_WORD}){{1,2}})\s+(?i:is my name|is the name|is my full name|here)\b"
)
NAME_PAIR_RE = re.compile(rf"\b(?P<v>{NAME_WORD}(?:\s+{NAME_WORD}){{1,2}})\b")
