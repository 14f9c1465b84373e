"""Where the console's insights and unanswered questions come from: the tracker store, the ratings, the handled marks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.engine import Engine

from bot.analytics.conversations import TrackerReader, Turn
from bot.analytics.feedback import FeedbackStore, Rating
from bot.analytics.unanswered import HandledStore
from bot.config import Settings


def sentence_vectors(texts: list[str]) -> NDArray[np.float32]:
    from bot.nlu.encoder import get_encoder  # about 90 MB of weights: loaded on the first grouping

    return get_encoder().encode(texts)


@dataclass
class Analytics:
    tracker_url: Callable[[], str]  # resolved on use: a wrong setting shows on the page, not at start
    feedback: FeedbackStore
    handled: HandledStore
    schema: str | None = None
    encode: Callable[[list[str]], NDArray[np.float32]] = sentence_vectors
    _reader: TrackerReader | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings, engine: Engine) -> Analytics:
        return cls(settings.stores.tracker_database_url, FeedbackStore(engine), HandledStore(engine), settings.stores.postgres_schema)

    def reader(self) -> TrackerReader:
        if self._reader is None:
            self._reader = TrackerReader(self.tracker_url(), self.schema)
        return self._reader

    def period(self, since: datetime, until: datetime) -> tuple[list[Turn], list[Rating]]:
        """Visitor turns and ratings of answers given in [since, until)."""
        return self.reader().turns(since, until), self.feedback.since(since.timestamp(), until.timestamp())
