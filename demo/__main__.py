"""Entry point for ``python -m demo`` (what ``make demo`` runs from the repository root).

The default is the spec's story on a local cluster (``demo.cluster``); ``--local`` runs the
mover-only story (``demo.story``: backups and restores in a temporary directory, no cluster).
"""

import sys

if "--local" in sys.argv[1:]:
    sys.argv.remove("--local")
    from demo import story

    raise SystemExit(story.main())

from demo import cluster

raise SystemExit(cluster.main())
