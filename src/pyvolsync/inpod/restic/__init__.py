"""The restic engine: upstream VolSync's restic mover, behind upstream's environment contract."""
