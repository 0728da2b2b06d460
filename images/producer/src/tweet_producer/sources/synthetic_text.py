"""Synthetic social posts in the X API v2 stream envelope, for demos and load tests.

Posts are assembled from small hand-written vocabularies (subjects, opinions, closers,
hashtags, mentions, emoji) across a dozen topics, with roughly equal positive, negative
and neutral intent, ~3% non-English, a few emoji/link-only posts (``lang`` ``und``),
retweets, shouting and occasional long posts. Text is HTML-escaped the way X sends it
(``&amp;``, ``&lt;``, ``&gt;``).

Deterministic: the same seed and the same clock give the same sequence. Everything
that can be is precomputed at import or in ``__init__`` so ``next_envelope`` is a handful
of ``random()`` calls and string joins (benchmarks need tens of thousands per second).
"""

from __future__ import annotations

import operator
import random
import string
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

__all__ = ["SyntheticTextGenerator", "iter_envelopes"]

# Same epoch as X's snowflake ids, so ids look like and sort like real post ids.
_SNOWFLAKE_EPOCH_MS = 1288834974657

POSITIVE, NEGATIVE, NEUTRAL = 0, 1, 2

# topic -> (subjects, positive predicates, negative predicates, neutral predicates, hashtags)
_TOPICS: dict[str, tuple[tuple[str, ...], ...]] = {
    "tech": (
        (
            "the new phone update",
            "my laptop",
            "this code editor",
            "the latest OS release",
            "our CI pipeline",
            "the new smartwatch",
            "this password manager",
            "my home wifi",
            "the beta build",
            "the new API",
        ),
        (
            "is honestly fantastic",
            "works perfectly",
            "is so much faster than before",
            "is a huge improvement",
            "just works, no fuss at all",
            "made setup a breeze",
        ),
        (
            "keeps crashing",
            "is painfully slow today",
            "drained my battery overnight",
            "broke everything again",
            "is a total mess",
            "lost all my settings",
        ),
        (
            "ships next Tuesday",
            "gets an update tomorrow",
            "is in beta until March",
            "moves to version 4.2 this week",
            "has a new settings page",
            "needs a restart after installing",
        ),
        ("#tech", "#devlife", "#gadgets", "#coding"),
    ),
    "sports": (
        (
            "the match tonight",
            "our keeper",
            "the new striker",
            "this season",
            "the second half",
            "the home crowd",
            "my morning run",
            "the derby",
            "the relay team",
        ),
        (
            "was absolutely brilliant",
            "gave me chills",
            "was the best I've seen in years",
            "was pure class",
            "made the whole city proud",
        ),
        (
            "was a complete disaster",
            "was painful to watch",
            "fell apart in ten minutes",
            "was robbed by a terrible call",
            "was boring from start to finish",
        ),
        (
            "kicks off at 19:45",
            "is on the radio at 3pm",
            "moves to Sunday because of the weather",
            "starts after the national anthem",
            "has tickets on sale from Monday",
        ),
        ("#matchday", "#football", "#running", "#sports"),
    ),
    "food": (
        (
            "the ramen place on 5th",
            "my first sourdough",
            "this taco truck",
            "grandma's lasagna",
            "the new bakery",
            "mac &amp; cheese night",
            "the lunch special",
            "this coffee",
        ),
        (
            "is delicious",
            "is the best thing I've eaten all year",
            "tastes amazing",
            "was worth every penny",
            "is pure comfort food",
        ),
        (
            "was cold and bland",
            "made me feel sick",
            "was overpriced and tiny",
            "tasted like cardboard",
            "took an hour and arrived wrong",
        ),
        (
            "opens at 11 on weekends",
            "is on the menu until Friday",
            "needs two cups of flour",
            "moves to the market hall next week",
            "takes about 40 minutes",
        ),
        ("#foodie", "#dinner", "#baking", "#lunch"),
    ),
    "travel": (
        (
            "the flight to Lisbon",
            "our hotel",
            "the night train",
            "this airport",
            "the coast trail",
            "the city tour",
            "my connecting flight",
        ),
        (
            "was wonderful",
            "exceeded every expectation",
            "was an amazing experience",
            "was so relaxing",
            "had the friendliest staff",
        ),
        (
            "was delayed five hours",
            "lost my luggage",
            "was dirty and noisy",
            "was a nightmare",
            "overbooked and bumped us",
        ),
        (
            "boards at gate B12",
            "leaves at 07:10",
            "needs a passport valid for six months",
            "takes about three hours",
            "has a new check-in desk",
        ),
        ("#travel", "#wanderlust", "#holiday", "#airport"),
    ),
    "weather": (
        (
            "the weather today",
            "this morning's fog",
            "the first snow",
            "the storm",
            "the forecast",
            "this heat",
            "the rain",
        ),
        (
            "is gorgeous",
            "looks magical",
            "is perfect for a long walk",
            "made the whole town look beautiful",
            "is exactly what we needed",
        ),
        (
            "is miserable",
            "ruined the weekend",
            "knocked out the power again",
            "is unbearable",
            "flooded the whole street",
        ),
        (
            "reaches the coast around 6pm",
            "should clear by Thursday",
            "brings 20 mm of rain overnight",
            "peaks at 14 degrees",
            "comes with a wind advisory until 9am",
        ),
        ("#weather", "#snowday", "#StormWatch", "#autumn"),
    ),
    "transit": (
        (
            "the 8:05 train",
            "the express bus",
            "the new tram line",
            "the night bus",
            "the metro",
            "the bike share",
            "the ferry",
        ),
        (
            "was right on time",
            "is a massive improvement",
            "made my commute so easy",
            "is clean, quick and cheap",
            "saved me twenty minutes",
        ),
        (
            "is delayed again",
            "never showed up",
            "was packed and freezing",
            "broke down between stations",
            "skipped my stop",
        ),
        (
            "runs every 10 minutes on weekends",
            "gets a new timetable on December 1",
            "is replaced by buses this Saturday",
            "stops at Harbour Park from next week",
            "starts at 5:30 on weekdays",
        ),
        ("#commute", "#transit", "#publictransport"),
    ),
    "music": (
        (
            "the new album",
            "last night's concert",
            "this playlist",
            "the opening act",
            "the remaster",
            "my piano lesson",
            "the festival lineup",
        ),
        (
            "is a masterpiece",
            "gave me goosebumps",
            "has been on repeat all day",
            "was unforgettable",
            "is full of bangers",
        ),
        (
            "was a huge letdown",
            "sounded terrible",
            "is so boring",
            "started two hours late",
            "was a waste of money",
        ),
        (
            "drops Friday at midnight",
            "is announced on Monday",
            "has doors at 19:00",
            "runs for 48 minutes",
            "comes out on vinyl in January",
        ),
        ("#music", "#nowplaying", "#livemusic", "#concert"),
    ),
    "work": (
        (
            "today's meeting",
            "my new team",
            "the quarterly review",
            "this project",
            "the office coffee machine",
            "the new manager",
            "the four-day week pilot",
        ),
        (
            "went really well",
            "is the best I've worked with",
            "made me feel appreciated",
            "was genuinely productive",
            "finally shipped",
        ),
        (
            "could have been an email",
            "is burning everyone out",
            "was a total waste of time",
            "is falling apart",
            "got cancelled at the last minute",
        ),
        (
            "is moved to Thursday at 10",
            "starts after lunch",
            "has a new agenda",
            "needs input by Monday",
            "runs until the end of March",
        ),
        ("#work", "#mondaymotivation", "#remotework", "#career"),
    ),
    "movies": (
        (
            "the new sci-fi film",
            "this documentary",
            "the sequel",
            "the director's cut",
            "the film festival",
            "tonight's movie",
        ),
        (
            "was stunning",
            "made me cry happy tears",
            "is the best film of the year",
            "was funny and beautifully made",
            "blew me away",
        ),
        (
            "was painfully slow",
            "ruined the book",
            "was two hours of nothing",
            "had awful dialogue",
            "was a boring mess",
        ),
        (
            "runs 2 hours 12 minutes",
            "opens in cinemas on Friday",
            "is streaming from next week",
            "has a new trailer out",
            "screens at 20:30",
        ),
        ("#movies", "#film", "#cinema", "#movienight"),
    ),
    "gaming": (
        (
            "the new patch",
            "this indie game",
            "ranked mode",
            "the final boss",
            "co-op night",
            "the new controller",
            "the launch",
        ),
        (
            "is so much fun",
            "is absolutely beautiful",
            "was worth every hour",
            "fixed everything I wanted",
            "is the best game this year",
        ),
        (
            "is completely broken",
            "keeps crashing on pc",
            "is full of cheaters",
            "is unplayable right now",
            "is a greedy cash grab",
        ),
        (
            "goes live at 14:00 CET",
            "is a 40 GB download",
            "adds a new map on Tuesday",
            "has servers down for maintenance until 10:00",
            "is on sale until Sunday",
        ),
        ("#gaming", "#indiegame", "#gamedev", "#esports"),
    ),
    "finance": (
        (
            "my savings plan",
            "the bank app",
            "this month's budget",
            "my portfolio",
            "the rent increase",
            "the new credit union",
            "our mortgage",
        ),
        (
            "is finally paying off",
            "made things so easy",
            "is looking great",
            "is a relief",
            "was approved today",
        ),
        (
            "is a disaster",
            "is down again and I can't pay my bills",
            "is full of hidden fees",
            "crashed 8% today",
            "is impossible to afford",
        ),
        (
            "is reviewed on the first of the month",
            "changes rate on Wednesday",
            "publishes results after market close",
            "has a new fee schedule from January",
            "closes for the holiday on Friday",
        ),
        ("#finance", "#money", "#budgeting", "#investing"),
    ),
    "health": (
        (
            "my knee",
            "yoga class",
            "the clinic",
            "my sleep",
            "my recovery",
            "the new gym",
            "physical therapy",
        ),
        (
            "is feeling much better",
            "was exactly what I needed",
            "is going really well",
            "has been wonderful",
            "made such a difference",
        ),
        (
            "is getting worse",
            "kept me up all night",
            "has a five week waiting list",
            "is awful",
            "just won't go away",
        ),
        (
            "opens at 8am on weekdays",
            "offers flu shots next week",
            "needs an appointment for Tuesday",
            "runs 45 minutes",
            "has moved to the town hall",
        ),
        ("#health", "#wellness", "#fitness", "#selfcare"),
    ),
    "pets": (
        (
            "my dog",
            "our new kitten",
            "the shelter puppy",
            "my cat",
            "the dog park",
            "our parrot",
            "the old greyhound",
        ),
        (
            "is the sweetest",
            "made my whole day",
            "is so adorable",
            "learned a new trick",
            "is pure joy",
        ),
        (
            "chewed through my charger",
            "threw up on the rug again",
            "has been sick all week",
            "ate my sandwich",
            "won't stop barking",
        ),
        (
            "has a vet appointment on Monday",
            "weighs 4.6 kg",
            "is open until 6pm",
            "needs a booster shot in March",
            "eats twice a day",
        ),
        ("#dogsoftwitter", "#catsoftwitter", "#pets", "#adoptdontshop"),
    ),
}

# Shared by every topic, so the per-topic lists stay short.
_GENERIC_PREDICATES = (
    ("is the best thing that happened today", "is definately worth it", "is amazing &amp; I love it"),
    ("is absolutely awful", "is the worst, honestly", "is a joke &amp; everyone knows it"),
    ("is scheduled for later today", "was mentioned in the newsletter", "is listed on the website"),
)

_OPENERS = (
    ("", "", "", "Honestly, ", "Not gonna lie, ", "Okay ", "Wow, ", "Update: "),
    ("", "", "", "Ugh, ", "Seriously, ", "Honestly, ", "So ", "Well, "),
    ("", "", "", "FYI ", "Heads up: ", "Reminder: ", "Update: ", "PSA: "),
)
_CLOSERS = (
    ("", "Love it.", "10/10 would recommend.", "So happy right now.", "Best day.", "Highly recommend!"),
    ("", "Not impressed.", "Never again.", "So frustrating.", "Unacceptable.", "What a joke."),
    ("", "", "More details soon.", "Will update later.", "Thoughts?", "Details in the link."),
)
_EMOJI = (
    ("😍", "🙌", "🎉", "😊", "🔥", "❤️", "👏", "✨", "😁", "💯", "&lt;3"),
    ("😡", "😤", "🙄", "😩", "😒", "👎", "💔", "🤦", "😭", "😑"),
    ("📌", "👀", "🗓️", "🤔", "📍", "ℹ️"),
)
# Templates use str.format_map slots: OS opener + subject (capitalised when there is no
# opener), S subject capitalised, s subject, P predicate, C closer, E emoji, M mention.
_TEMPLATES = (
    (
        "{OS} {P}. {C}",
        "{S} {P} {E}",
        "{OS} {P}!! {C}",
        "Shoutout to {M}, {s} {P}. {C}",
        "Can confirm: {s} {P} {E}",
    ),
    (
        "{OS} {P}. {C}",
        "{S} {P}. Again. {E}",
        "Why is it that {s} {P}? {C}",
        "{M} {s} {P}. {C}",
        "Great, {s} {P}. Just great {E}",
    ),
    (
        "{OS} {P}.",
        "Does anyone know if {s} {P}?",
        "{OS} {P}. {C}",
        "{S} {P}, according to {M}.",
        "Looks like {s} {P}.",
    ),
)
_MENTION_ACCOUNTS = (
    "@MetroLineAlerts",
    "@NimbusPhones",
    "@ByteForgeDev",
    "@RiverCityFC",
    "@PixelHarborGames",
    "@SkyhopAir",
    "@TrackFMRadio",
    "@CityWeatherDesk",
    "@PawsAndClaws",
    "@TheHungryLedger",
    "@MoneyMattersDaily",
    "@ReelTalkWeekly",
)
_HANDLE_STEMS = (
    "sam",
    "jess",
    "alex",
    "priya",
    "tomas",
    "mia",
    "kenji",
    "lea",
    "omar",
    "zoe",
    "ravi",
    "nina",
)
_HANDLE_SUFFIXES = ("_codes", "runs", "_eats", "travels", "99", "_m", "writes", "_dev", "lovescats", "_fc")
_URL_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

# lang -> (positive, negative, neutral) posts
_FOREIGN: dict[str, tuple[tuple[str, ...], ...]] = {
    "es": (
        (
            "¡Qué partido tan increíble! 🎉",
            "Me encanta este café, es perfecto",
            "Un día precioso en la playa ☀️",
        ),
        (
            "Otra vez el tren con retraso. Estoy harta",
            "Qué servicio tan malo, nunca más",
            "Llueve sin parar 😒",
        ),
        (
            "El concierto empieza a las 21:00",
            "Mañana cierran la estación por obras",
            "Nuevo horario desde el lunes",
        ),
    ),
    "fr": (
        (
            "Soirée magique, merci à tous ! 🎶",
            "Ce restaurant est vraiment excellent",
            "Quelle belle journée 😊",
        ),
        ("Encore une grève, c'est insupportable", "Vol annulé sans explication 😡", "Service client nul"),
        ("Réunion déplacée à jeudi 10h", "Le musée ferme à 18h ce soir", "Nouvelle mise à jour disponible"),
    ),
    "de": (
        ("Was für ein tolles Spiel! ⚽", "Das Essen war wunderbar", "Endlich Wochenende, herrlich 😊"),
        (
            "Der Zug ist schon wieder verspätet 😤",
            "Seit Tagen nur Regen, furchtbar",
            "Schlechter Service, nie wieder",
        ),
        (
            "Die S-Bahn fährt am Wochenende alle 20 Minuten",
            "Das Konzert beginnt um 20 Uhr",
            "Neue Version ab Montag",
        ),
    ),
    "pt": (
        ("Que dia maravilhoso! ☀️", "Meu cachorro é o melhor do mundo 🐶", "Adorei o show de ontem"),
        ("O ônibus atrasou de novo, que raiva", "Atendimento péssimo 😡", "Chuva o dia todo, que tristeza"),
        ("A loja abre às 9h amanhã", "O jogo começa às 16h", "Atualização disponível na próxima semana"),
    ),
    "ja": (
        ("今日のラーメン最高だった🍜", "天気が良くて気持ちいい☀️", "新しいゲーム、めちゃくちゃ楽しい！"),
        ("電車がまた遅れてる…😢", "雨ばかりで最悪", "サーバーが落ちて全然遊べない"),
        ("明日は曇りのち雨の予報です", "会議は10時からです", "新しいアップデートは来週配信予定"),
    ),
    "it": (
        (
            "Che serata meravigliosa! 🎉",
            "Questa pizza è fantastica 🍕",
            "Firenze al tramonto è uno spettacolo",
        ),
        ("Film noiosissimo, che delusione", "Treno in ritardo di un'ora, vergogna", "Servizio pessimo 😡"),
        ("Il negozio apre alle 10", "La partita inizia alle 20:45", "Nuovo orario dal primo dicembre"),
    ),
}
_UND_EMOJI = ("🔥🔥🔥", "😂😂😂", "❤️❤️", "👀", "🙌🙌", "😭😭😭", "🎉✨")

_EXTRA_SENTENCES = (
    "I'll post more about it later.",
    "Curious what everyone else thinks.",
    "It's been like this for a while now.",
    "Writing this down so I remember it next time.",
    "My friends all told me the same thing.",
    "This is the third time this month.",
    "Not sure what to make of it yet.",
)


def _build_topic_slots() -> tuple[tuple[tuple[str, ...], ...], ...]:
    """Per topic: (subjects, Subjects, pos, neg, neu predicates, hashtags), generic ones merged in."""
    built = []
    for subjects, pos, neg, neu, tags in _TOPICS.values():
        capitalised = tuple(s[:1].upper() + s[1:] for s in subjects)
        preds = tuple(p + g for p, g in zip((pos, neg, neu), _GENERIC_PREDICATES, strict=True))
        built.append((subjects, capitalised, *preds, tags))
    return tuple(built)


_SLOT_NAMES = ("OS", "S", "s", "P", "C", "E", "M")


def _compile_template(template: str) -> tuple[str, Callable[[tuple[str, ...]], tuple[str, ...]]]:
    """``"{S} {P}"`` -> (``"%s %s"``, getter picking those slots from the values tuple).

    ``%`` formatting with an itemgetter is several times faster than ``str.format_map``.
    """
    fmt, indexes = [], []
    for literal, field, _spec, _conv in string.Formatter().parse(template):
        fmt.append(literal.replace("%", "%%"))
        if field is not None:
            fmt.append("%s")
            indexes.append(_SLOT_NAMES.index(field))
    if len(indexes) == 1:  # itemgetter of one index returns a bare value, % wants a tuple
        only = indexes[0]
        return "".join(fmt), lambda values: (values[only],)
    return "".join(fmt), operator.itemgetter(*indexes)


_TOPIC_SLOTS = _build_topic_slots()
_COMPILED_TEMPLATES = tuple(tuple(_compile_template(t) for t in group) for group in _TEMPLATES)
_MILLIS = tuple(f".{ms:03d}Z" for ms in range(1000))
_UTC = timezone.utc  # not datetime.UTC: the code must run on Python 3.10
_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=_UTC)


def _utc_now() -> datetime:
    return datetime.now(_UTC)


class SyntheticTextGenerator:
    """Generates X-v2-shaped envelopes: ``{"data": {id, text, lang, created_at, author_id, ...}}``.

    ``clock`` returns the post time (aware, or naive meaning UTC); it drives ``created_at``
    and the snowflake ``id``. Ids are unique and strictly increasing per generator.
    """

    def __init__(self, seed: int = 42, clock: Callable[[], datetime] | None = None) -> None:
        self._rng = random.Random(seed)
        self._clock = clock or _utc_now
        # Low bits of the snowflake: distinct per seed so two generators rarely collide.
        self._worker_bits = (seed % 1024) << 12
        self._last_id = 0
        self._second = -1
        self._second_text = ""
        rng = self._rng
        self._authors = tuple(str(rng.randrange(10**17, 2 * 10**18)) for _ in range(2000))
        self._urls = tuple(
            "https://t.co/" + "".join(rng.choice(_URL_CHARS) for _ in range(10)) for _ in range(500)
        )
        users = tuple("@" + stem + suffix for stem in _HANDLE_STEMS for suffix in _HANDLE_SUFFIXES)
        self._mentions = _MENTION_ACCOUNTS + users
        self._langs = tuple(_FOREIGN)

    def next_envelope(self) -> dict[str, Any]:
        now = self._clock()
        if now.tzinfo is None:
            now = now.replace(tzinfo=_UTC)
        delta = now - _UNIX_EPOCH
        ms = delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000
        second = ms // 1000
        if second != self._second:  # strftime once per second, not once per post
            self._second = second
            self._second_text = now.astimezone(_UTC).strftime("%Y-%m-%dT%H:%M:%S")
        # X-style snowflake (ms since the X epoch << 22), bumped to stay strictly increasing
        # when many posts share a millisecond or the clock steps back.
        candidate = max(ms - _SNOWFLAKE_EPOCH_MS, 0) << 22 | self._worker_bits
        last = self._last_id + 1
        self._last_id = candidate if candidate > last else last
        post_id = str(self._last_id)
        text, lang = self._text()
        authors = self._authors
        return {
            "data": {
                "id": post_id,
                "text": text,
                "lang": lang,
                "created_at": self._second_text + _MILLIS[ms % 1000],
                "author_id": authors[int(self._rng.random() * len(authors))],
                "edit_history_tweet_ids": [post_id],
            }
        }

    def __iter__(self) -> Iterator[dict[str, Any]]:
        while True:
            yield self.next_envelope()

    def _text(self) -> tuple[str, str]:
        rnd = self._rng.random
        kind = rnd()
        if kind < 0.03:
            lang = self._langs[int(rnd() * len(self._langs))]
            pool = _FOREIGN[lang][int(rnd() * 3)]
            text = pool[int(rnd() * len(pool))]
            if rnd() < 0.3:
                text += " " + self._urls[int(rnd() * len(self._urls))]
            return text, lang
        if kind < 0.035:  # X labels emoji-only and link-only posts "und"
            if rnd() < 0.5:
                return _UND_EMOJI[int(rnd() * len(_UND_EMOJI))], "und"
            return self._urls[int(rnd() * len(self._urls))], "und"
        intent = int(rnd() * 3)
        topic = _TOPIC_SLOTS[int(rnd() * len(_TOPIC_SLOTS))]
        subject = int(rnd() * len(topic[0]))
        text = self._sentence(intent, topic, subject)
        if kind > 0.99:  # long post: more sentences on the same subject, past 280 chars
            parts = [text]
            while len(text) < 320:
                parts.append(_EXTRA_SENTENCES[int(rnd() * len(_EXTRA_SENTENCES))])
                parts.append(self._sentence(intent, topic, subject))
                text = " ".join(parts)
        style = rnd()
        if style < 0.02:
            # Shouting; entities must stay lower case to remain valid.
            text = text.upper().replace("&AMP;", "&amp;").replace("&LT;", "&lt;").replace("&GT;", "&gt;")
        elif style < 0.08:
            text = text.lower()
        if rnd() < 0.35:
            tags = topic[5]
            text += " " + tags[int(rnd() * len(tags))]
        if rnd() < 0.2:
            text += " " + self._urls[int(rnd() * len(self._urls))]
        if rnd() < 0.05:
            mentions = self._mentions
            text = "RT " + mentions[int(rnd() * len(mentions))] + ": " + text
        return text, "en"

    def _sentence(self, intent: int, topic: tuple[tuple[str, ...], ...], subject: int) -> str:
        rnd = self._rng.random
        preds = topic[2 + intent]
        templates = _COMPILED_TEMPLATES[intent]
        openers = _OPENERS[intent]
        closers = _CLOSERS[intent]
        emoji = _EMOJI[intent]
        mentions = self._mentions
        opener = openers[int(rnd() * len(openers))]
        fmt, pick = templates[int(rnd() * len(templates))]
        values = (
            opener + topic[0][subject] if opener else topic[1][subject],
            topic[1][subject],
            topic[0][subject],
            preds[int(rnd() * len(preds))],
            closers[int(rnd() * len(closers))],
            emoji[int(rnd() * len(emoji))],
            mentions[int(rnd() * len(mentions))],
        )
        return (fmt % pick(values)).rstrip()


def iter_envelopes(seed: int = 42, clock: Callable[[], datetime] | None = None) -> Iterator[dict[str, Any]]:
    """Endless stream of synthetic envelopes (see ``SyntheticTextGenerator``)."""
    return iter(SyntheticTextGenerator(seed, clock))
