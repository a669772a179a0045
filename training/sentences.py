"""The sentences the project synthesises for training: a small grammar plus dictionary word runs.

Half the lines come from templates over word lists written here (so they read like speech, with
questions, numbers and names); half are runs of words drawn from the pocketsphinx dictionary, for
phone coverage well beyond the word lists. Everything is seeded: the same seed, the same lines.
"""

from __future__ import annotations

import random
import re
from functools import lru_cache
from pathlib import Path

NAMES = ("Maria", "Peter", "Bob", "Emma", "Mike", "Paula", "Ben", "Molly", "James", "Sophie", "Tom",
         "Olivia", "Liam", "Noah", "Ava", "Mia", "Lucas", "Zoe", "Oscar", "Ruth", "Victor", "Fiona")
NOUNS = ("apple", "boat", "map", "book", "pump", "mouth", "moon", "problem", "window", "bubble", "camera",
         "paper", "mirror", "bottle", "fire", "voice", "photo", "piano", "mountain", "bridge", "coffee",
         "market", "room", "museum", "puppy", "baby", "umbrella", "film", "summer", "morning", "ship",
         "garden", "table", "pillow", "basket", "computer", "letter", "whisper", "thunder", "plan",
         "rope", "wolf", "forest", "feather", "jumper", "shoe", "zebra", "vase", "engine", "thumb",
         "money", "memory", "number", "moment", "beach", "boy", "girl", "machine", "lamp", "sheep")
ADJECTIVES = ("big", "small", "blue", "purple", "warm", "bumpy", "empty", "brave", "pale", "smooth",
              "broken", "famous", "happy", "moody", "polite", "soft", "sharp", "thick", "ugly", "vivid",
              "shiny", "plump", "mellow", "huge", "yellow", "odd", "quiet", "rough", "lovely", "fresh")
VERBS = ("moved", "bought", "opened", "pushed", "made", "played", "brought", "painted", "filmed", "picked",
         "dropped", "kept", "watched", "found", "fixed", "carried", "shaped", "mapped", "bumped", "measured",
         "remembered", "borrowed", "wrapped", "shipped", "polished", "jumped over", "looked at", "thought of")
ADVERBS = ("quickly", "maybe", "probably", "very slowly", "by mistake", "on purpose", "every morning",
           "before breakfast", "in the evening", "at home", "from the top", "without a word")
PLACES = ("the museum", "the beach", "my room", "the market", "Boston", "the moon", "a small boat",
          "the bump in the road", "the top floor", "the park", "the shop", "the old mill")
NUMBERS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twelve",
           "fifteen", "twenty", "thirty", "fifty", "a hundred", "a thousand")

TEMPLATES = (
    "{name} {verb} the {adj} {noun}.",
    "Did {name} really {verb_base} the {noun} {adverb}?",
    "The {adj} {noun} was {verb} {adverb}.",
    "{name} and {name2} {verb} {number} {noun}s at {place}.",
    "Why would anybody buy a {adj} {noun} for {number} pounds?",
    "Please put the {noun} beside the {adj} {noun2}.",
    "I think the {noun} is {adj}, but {name} says it is {adj2}.",
    "We met {name} at {place} {adverb}.",
    "My {noun} has been {adj} since {month}.",
    "Maybe the {adj} {noun} will help, maybe it won't.",
    "How many {noun}s did {name} bring from {place}?",
    "Oh no, the {noun} is {adj} again!",
    "{number}, {number2}, {number3}.",
    "Mmm, perhaps {name} {verb} the {noun} {adverb}.",
    "Bob bought a big bumpy map and a purple pump.",
    "Peter Piper picked a peck of pickled peppers.",
    "She sells sea shells by the sea shore.",
    "Many mumbling mice are making merry music in the moonlight.",
)
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")
_BASE = {"moved": "move", "bought": "buy", "opened": "open", "pushed": "push", "made": "make", "played": "play",
         "brought": "bring", "painted": "paint", "filmed": "film", "picked": "pick", "dropped": "drop",
         "kept": "keep", "watched": "watch", "found": "find", "fixed": "fix", "carried": "carry",
         "shaped": "shape", "mapped": "map", "bumped": "bump", "measured": "measure",
         "remembered": "remember", "borrowed": "borrow", "wrapped": "wrap", "shipped": "ship",
         "polished": "polish", "jumped over": "jump over", "looked at": "look at", "thought of": "think of"}


@lru_cache(maxsize=1)
def dictionary_words() -> tuple[str, ...]:
    """Plain alphabetic words of pocketsphinx's bundled CMU dictionary (3-10 letters)."""
    from pocketsphinx import get_model_path

    path = Path(get_model_path()) / "en-us" / "cmudict-en-us.dict"
    words = set()
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            word = line.split(" ", 1)[0]
            if re.fullmatch(r"[a-z]{3,10}", word):
                words.add(word)
    return tuple(sorted(words))


def template_sentence(rng: random.Random) -> str:
    pick = rng.choice
    return pick(TEMPLATES).format(
        name=pick(NAMES), name2=pick(NAMES), noun=pick(NOUNS), noun2=pick(NOUNS), adj=pick(ADJECTIVES),
        adj2=pick(ADJECTIVES), verb=pick(VERBS), verb_base=_BASE[pick(VERBS)], adverb=pick(ADVERBS),
        place=pick(PLACES), number=pick(NUMBERS), number2=pick(NUMBERS), number3=pick(NUMBERS),
        month=pick(MONTHS))


def word_run(rng: random.Random) -> str:
    words = dictionary_words()
    count = rng.randint(4, 11)
    run = [rng.choice(words) for _ in range(count)]
    if count > 6 and rng.random() < 0.6:
        run.insert(rng.randint(2, count - 2), ",")
    return " ".join(run).replace(" ,", ",").capitalize() + rng.choice((".", ".", "?", "!"))


def sentences(count: int, seed: int) -> list[str]:
    """`count` lines, alternately from the grammar and from dictionary word runs, seeded."""
    rng = random.Random(seed)
    return [template_sentence(rng) if i % 2 == 0 else word_run(rng) for i in range(count)]
