"""The language layer's reading of a customer turn: spans, their kinds and values, and answers."""

from __future__ import annotations

import pytest

from graph.language import Question, read_question, read_turn, shared_pipeline
from graph.language.normalize import amount
from graph.language.spans import TurnReading


def spans(reading: TurnReading) -> list[tuple[str, str]]:
    return [(s.kind, s.text) for s in reading.spans]


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("Set it for half past 3 in the afternoon.", "time", "half past 3 in the afternoon"),
        ("Name it Cleaning and set it at afternoon 3:30.", "time", "afternoon 3:30"),
        ("Leaving morning 11:30.", "time", "morning 11:30"),
        ("Make it 10 o'clock in the morning", "time", "10 o'clock in the morning"),
        ("I'm departing from Long Beach, CA to San Diego.", "place", "Long Beach, CA"),
        ("Please look for hotels in London, England.", "place", "London, England"),
        (
            "Take me to 1367 North McDowell Boulevard #110 please",
            "address",
            "1367 North McDowell Boulevard #110",
        ),
        ("We are pre-approved for 700k", "money", "700k"),
        ("I would like to transfer sixty dollars.", "money", "sixty dollars"),
        ("I'd go up to $1.8M if it has a pool", "money", "$1.8M"),
        ("I'd like to visit on the 5th of march.", "date", "5th of march"),
        ("I am departing Thursday next week.", "date", "Thursday next week"),
        ("Write to me at jane.doe@example.com", "email", "jane.doe@example.com"),
        ("My account is 88231", "id", "88231"),
    ],
)
def test_a_value_split_or_missed_by_the_model_is_one_span(text: str, kind: str, value: str) -> None:
    reading = read_turn(text)
    assert (kind, value) in spans(reading)
    for span in reading.spans:
        assert text[span.start : span.end] == span.text  # exact offsets into the turn


@pytest.mark.parametrize(
    ("kind", "text", "normalised"),
    [
        ("money", "We are pre-approved for 700k", "700000"),
        ("money", "I would like to transfer sixty dollars.", "60"),
        ("money", "I'd go up to $1.8M if it has a pool", "1800000"),
        ("time", "Set it for half past 3 in the afternoon.", None),
        ("time", "Name it Cleaning and set it at afternoon 3:30.", "15:30"),
    ],
)
def test_values_are_normalised(kind: str, text: str, normalised: str | None) -> None:
    (span,) = read_turn(text).of_kind(kind)  # type: ignore[arg-type]
    assert span.value == normalised


@pytest.mark.parametrize(
    "text",
    [
        "8449 Lexington Ave  Raleigh, TX 30212",
        "Sure.  My account ID is JG1WSZVJ2Z.  My Order ID is 2196576296.",
    ],
)
def test_every_span_holds_a_value(text: str) -> None:
    # Double spaces are tokens of their own: what is left of an entity around them is no value.
    assert all(any(c.isalnum() for c in s.text) for s in read_turn(text).spans)


@pytest.mark.parametrize(
    ("text", "dates"),
    [
        ("We are moving to Denver in May", ["May"]),  # "may" is a stop word, "May" a month
        ("In May we move", ["May"]),
        ("May I speak to a manager?", []),
        ("2973 Primrose Ave  San Mateo, CA 18236", []),  # "ca" is a stop word too, and no month
    ],
)
def test_a_month_is_a_date_though_its_word_is_a_stop_word(text: str, dates: list[str]) -> None:
    assert [s.text for s in read_turn(text).of_kind("date")] == dates


def test_a_number_word_answers_how_many() -> None:
    reading = read_turn("at least four, plus an office", "How many bedrooms do you need?")
    assert [(s.key, s.value) for s in reading.answers] == [("number_of_bedrooms", "4")]


def test_dates_normalise_to_iso() -> None:
    (span,) = read_turn("I'd like to visit on March 5th.").of_kind("date")
    assert span.value is not None
    assert span.value.endswith("-03-05")


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Which city should I look in?", Question("place", "city")),
        ("What type of car would you like?", Question("category", "car_type")),
        ("What time would you like to leave?", Question("time", "time")),
        ("How many people will be there?", Question("number", "number_of_people")),
        ("What is the name of the alarm?", Question("name", "alarm_name")),
        ("Who are you sending it to?", Question("person", "person")),
        ("What is your budget?", Question("money", "budget")),
        ("Departure date?", Question("date", "departure_date")),
        ("What is your price range?", Question("money", "price_range")),
        ("What timeline are you working with?", Question("when", "timeline")),
        ("Do you want checking or savings?", Question("choice", "", ("checking", "savings"))),
        ("Would you like me to book it?", Question("yes_no")),
        ("Tell me the type of movie you want to see, please.", Question("category", "movie_type")),
        ("Thanks, your ride is booked.", None),
        ("I found 10 hotels. There is a lovely 1 star hotel called Bahia Resort Hotel.", None),
        ("checking or savings", Question("choice", "", ("checking", "savings"))),
        # an offer of named things, each whole with a capitalised article
        (
            "How about A Madea Family Funeral, Auntie Mame, and Dr. Strangelove?",
            Question("offer", "", ("A Madea Family Funeral", "Auntie Mame", "Dr. Strangelove")),
        ),
        ("How does Green Book sound?", Question("offer", "", ("Green Book",))),
        ("How about the Kitchen speaker?", Question("offer", "", ("Kitchen speaker",))),
        ("Are you interested in watching Green Book?", Question("offer", "", ("Green Book",))),
        ("Do you want me to play it now?", Question("yes_no")),  # nothing named: a plain yes/no
        ("Could you provide your order ID?", Question("yes_no")),  # a value asked for, not an offer
        (
            "Maybe a Family Counselor or a Psychologist?",
            Question("choice", "", ("Family Counselor", "Psychologist")),
        ),
    ],
)
def test_questions_are_read_from_their_parse(message: str, expected: Question | None) -> None:
    assert read_question(message) == ((expected,) if expected else ())


def test_a_message_can_ask_several_things() -> None:
    kinds = [q.kind for q in read_question("Departing from? Destination? And how many tickets?")]
    assert kinds == ["place", "place", "number"]


def test_a_template_question_is_parsed_once_whatever_surrounds_it(monkeypatch: pytest.MonkeyPatch) -> None:
    pipeline = shared_pipeline()
    parsed: list[str] = []
    parse = pipeline.parse

    def counting(text: str, *, entities: bool = True) -> object:
        parsed.append(text)
        return parse(text, entities=entities)

    monkeypatch.setattr(pipeline, "parse", counting)
    template = "In the meantime, which charge or invoice is this about?"
    first = read_question(f"Thanks, noted (request: a refund for order 8812). {template}")
    second = read_question(f"Good point, I'll make sure our agent covers the late fee. {template}")
    assert [q.key for q in first] == [q.key for q in second] == ["charge"]
    # the sentences that ask nothing are not parsed; the question is parsed for the first message only
    assert parsed.count(template) <= 1
    assert not [text for text in parsed if "refund" in text or "late fee" in text]


def test_the_question_in_a_longer_message_reads_as_on_its_own() -> None:
    question = "Which city are you departing from?"
    alone = read_question(question)
    assert [q.kind for q in alone] == ["place"]
    assert read_question(f"I found 10 flights for you. {question} I can also book hotels.") == alone


@pytest.mark.parametrize(
    ("asked", "text", "key", "value"),
    [
        ("Which city should I look in?", "Search for the weather in San Lorenzo.", "city", "San Lorenzo"),
        ("What is the name of the alarm?", "Make it Leave for home", "alarm_name", "Leave for home"),
        ("Who are you sending it to?", "send to dad please", "person", "dad"),
        ("Checking or savings?", "go to savings", "choice", "savings"),
        ("What type of car would you like?", "A compact car please", "car_type", "compact car"),
        ("What is your budget?", "We are pre-approved for 700k", "budget", "700k"),
        ("What kind of movie?", "Something funny", "movie_kind", "funny"),
        ("When do you want the alarm?", "at evening 4:15", "date", "evening 4:15"),
        ("How many tickets?", "4 of us", "number_of_tickets", "4"),
        ("What is your timeline?", "hoping to move by spring", "timeline", "by spring"),
    ],
)
def test_answers_are_read_against_the_question(asked: str, text: str, key: str, value: str) -> None:
    reading = read_turn(text, asked)
    assert [(s.key, s.text) for s in reading.answers] == [(key, value)]


def test_an_offered_name_the_customer_picks_is_the_answer_and_nothing_else_answers_an_offer() -> None:
    offer = "There's 1 available you might like. How does Green Book sound?"
    (answer,) = read_turn("Green Book sounds all right. Let's rent it with English subtitles.", offer).answers
    assert (answer.text, answer.key) == ("Green Book", "choice")
    asked = "I found 1 that fits. Are you interested in watching Green Book?"
    (answer,) = read_turn("Yeah, Green Book sounds good.", asked).answers
    assert (answer.text, answer.key) == ("Green Book", "choice")
    # not picked: no answer, where an open question would have taken the turn's phrase
    assert read_turn("What else is there with good music?", offer).answers == []
    assert read_turn("Something with good music", offer).answers == []


@pytest.mark.parametrize(
    ("asked", "text"),
    [
        ("How does Green Book sound?", "No, I do not want Green Book."),
        ("How does Green Book sound?", "I don't like Green Book, anything else?"),
        ("Paris or London?", "I do not want Paris"),
    ],
)
def test_an_option_turned_down_is_no_choice(asked: str, text: str) -> None:
    assert read_turn(text, asked).answers == []


def test_a_chosen_option_keeps_its_kind() -> None:
    (answer,) = read_turn("Let us go with Paris please", "Paris or London?").answers
    assert (answer.kind, answer.text, answer.key) == ("place", "Paris", "choice")


def test_the_same_turn_reads_differently_after_another_question() -> None:
    assert read_turn("4 of us").answers == []
    assert read_turn("4 of us", "How many tickets?").answers[0].key == "number_of_tickets"


def test_a_question_the_customer_asks_back_is_not_an_answer() -> None:
    assert read_turn("What is its price per night?", "What kind of hotel?").answers == []


@pytest.mark.parametrize(
    "text",
    [
        "We're selling the condo on Courtland Court",
        "I'll pick it up at SFO International Airport tomorrow",
    ],
)
def test_places_are_not_people(text: str) -> None:
    assert read_turn(text).of_kind("person") == []


@pytest.mark.parametrize(
    ("text", "place"),
    [
        ("I am departing from Anaheim and going to SD.", "SD"),
        ("No, I'd like to go to the Clover Theater.", "the Clover Theater"),  # the article is the name's
    ],
)
def test_places_after_a_preposition_of_place(text: str, place: str) -> None:
    assert place in [s.text for s in read_turn(text).spans if s.kind in ("place", "organisation")]


def test_a_three_bedroom_colonial_in_newton_states_the_city() -> None:
    assert ("place", "Newton") in spans(read_turn("Looking for a 3-bedroom colonial in Newton"))


def test_names_given_with_a_naming_word() -> None:
    reading = read_turn("Yes, make an alarm called music practice.")
    assert [(s.key, s.text) for s in reading.spans if s.key] == [("alarm_name", "music practice")]


@pytest.mark.parametrize(
    "text",
    ["Title company released the lien after probate paperwork", "Ask the title company about the lien"],
)
def test_a_naming_word_that_names_nothing(text: str) -> None:
    assert [s for s in read_turn(text).spans if s.key.endswith("name")] == []


def test_a_turn_is_parsed_once_for_all_its_readers() -> None:
    text = "I need a cab to the Cartoon Museum for two people."
    assert shared_pipeline().parse(text) is shared_pipeline().parse(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("half a million", 500_000),
        ("a quarter of a million", 250_000),
        ("two and a half million", 2_500_000),
        ("about half a million dollars", 500_000),
        ("700k", 700_000),
        ("sixty dollars", 60),
    ],
)
def test_amounts_with_fractions(text: str, value: int) -> None:
    assert amount(text) == value


@pytest.mark.parametrize(
    ("question", "key"),
    [
        ("May I have your name?", "customer_name"),
        ("Could we get your phone number?", "phone"),
        ("Can I take your email address?", "email"),
    ],
)
def test_a_polite_question_asks_for_the_value_it_names(question: str, key: str) -> None:
    (asked,) = read_question(question)
    assert asked.key == key
