"""The VolSync-compatible API: typed models, defaults, validation and CRD generation.

`source` and `destination` hold the ReplicationSource / ReplicationDestination models,
`maintenance` the kopia fork's KopiaMaintenance, `common` what they share, `kopia` what the
kopia sections share, `othermovers` the sections of movers pyvolsync stores but does not run,
`defaults` the effective values of unset fields, `validation` the rules the schema cannot
express, `conditions` and `durations` the status vocabulary, and `crdgen` turns the models into
deploy/crds/ (see docs/api.md).
"""
