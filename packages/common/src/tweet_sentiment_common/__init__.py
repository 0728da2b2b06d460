"""Shared by the producer and the Spark job: the data contract and the settings layer.

- `tweet_sentiment_common.contract`: event v1, the dead-letter records, the Elasticsearch
  document, the id rule, the dead-letter reasons and the skip/fallback rules. Everything
  else (JSON Schema files, the job's Spark schema and field lists, the index templates'
  field names) is generated from it or checked against it by a test.
- `tweet_sentiment_common.settings`: the pydantic-settings base, shared field types and
  validators, and the one `SettingsError`.
"""
