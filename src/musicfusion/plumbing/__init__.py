"""Plumbing: files written atomically and checked, the jobs' environment, script logging, params.yaml and the path layout."""
