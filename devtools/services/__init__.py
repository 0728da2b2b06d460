"""Local single-node Kafka and Elasticsearch for tests, the demo and `make kafka-up`.

Standard library only, so `make kafka-up` works before any virtualenv exists.
"""
