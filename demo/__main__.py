"""Entry point for ``python -m demo`` (what ``make demo`` runs from the repository root)."""

from demo import story

raise SystemExit(story.main())
