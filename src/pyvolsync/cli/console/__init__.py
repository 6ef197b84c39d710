"""The web console (``pyvolsync ui``): the fleet at a glance and its actions, in a browser.

A front end beside the CLI, on the same layer and sharing its views and actions; see
docs/console.md.
"""
