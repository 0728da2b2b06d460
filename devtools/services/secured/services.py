"""Both secured backends together: key material first, then Kafka and Elasticsearch."""

from __future__ import annotations

import shutil
from dataclasses import dataclass

from devtools.services.common import ServiceError
from devtools.services.secured.elasticsearch import SecuredElasticsearch
from devtools.services.secured.kafka import SecuredKafka
from devtools.services.secured.material import Material, SecuredConfig


@dataclass
class Started:
    kafka: bool
    es: bool


class SecuredServices:
    def __init__(self, config: SecuredConfig | None = None) -> None:
        self.config = config or SecuredConfig()
        self.material = Material()
        self.kafka = SecuredKafka(self.config, self.material)
        self.es = SecuredElasticsearch(self.config, self.material)

    def running(self) -> bool:
        return self.kafka.pid() is not None or self.es.pid() is not None

    def up(self) -> Started:
        """Start whatever is not answering yet (idempotent). Refuses to re-issue certificates
        for another namespace or address while a service still runs with the old ones."""
        current = self.material.identity()
        if current is not None and current != self.config.identity and self.running():
            raise ServiceError(
                f"the secured services run with {current}, not {self.config.identity}; "
                "run `python3 -m devtools.services secured down` first"
            )
        self.material.ensure(self.config)
        kafka = self.kafka.up()
        try:
            es = self.es.up()
        except ServiceError:
            if kafka:
                self.kafka.down()
            raise
        return Started(kafka, es)

    def down(self, started: Started | None = None) -> Started:
        """Stop both (or, given what `up` returned, only what it started)."""
        stop = started or Started(True, True)
        return Started(stop.kafka and self.kafka.down(), stop.es and self.es.down())

    def reset(self) -> None:
        """Stop both and forget their data (topics, offsets, indices); keep the CAs and passwords.
        The next `up` formats a fresh broker and node: what a test that counts documents needs."""
        self.down()
        for data in (self.kafka.broker.data_dir, self.es.node.home / "data"):
            shutil.rmtree(data, ignore_errors=True)

    def status(self) -> Started:
        if self.material.identity() is None:
            return Started(False, False)
        return Started(self.kafka.is_up(), self.es.is_up())
