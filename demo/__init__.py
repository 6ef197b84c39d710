"""The demo behind ``make demo``: back up generated app data with the real mover, restore, verify.

It lives outside the product package on purpose: it is a user of pyvolsync (it runs the
``pyvolsync-mover`` program as a pod would), and it will grow to drive the local cluster from
``localcluster/``, which the product must never import. The benchmarks in ``bench/`` reuse its
sample-data, manifest and volume helpers.
"""
