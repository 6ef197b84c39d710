"""The VolSync-compatible API: typed models, defaults, validation and CRD generation.

`source` and `destination` hold the ReplicationSource / ReplicationDestination models, `common`
what they share, `defaults` the effective values of unset fields, `validation` the rules the
schema cannot express, `conditions` and `durations` the status vocabulary, and `crdgen` turns
the models into deploy/crds/ (see docs/api.md).
"""
